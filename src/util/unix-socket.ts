// Preparing the CRI socket path: a socket left by a crashed berthd is replaced, but one that a
// live process still answers on is not stolen.
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { FailedPreconditionError, isErrno } from "../errors.js";

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(socketPath);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

export async function prepareSocketPath(socketPath: string): Promise<void> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await fs.lstat(socketPath);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new FailedPreconditionError(`${socketPath} exists and is not a socket`);
  }
  if (await answers(socketPath)) {
    throw new FailedPreconditionError(`another process is already serving on ${socketPath}`);
  }
  await fs.rm(socketPath, { force: true });
}
