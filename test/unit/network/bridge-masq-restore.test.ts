import { expect } from "chai";
import {
  masqChainName,
  masqCleanupCommands,
  masqRestoreInput,
  removeBridgeMasq,
} from "../../../src/network/bridge-masq.js";
import type { CommandRunner } from "../../../src/util/command.js";

/** Answers each call with the next code of `codes` (0 once they run out); records the calls. */
function scripted(codes: number[], stderr = ""): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: (file, args, opts) => {
      const input = typeof opts?.input === "string" ? ` <<${opts.input.split("\n").length}` : "";
      calls.push(`${file} ${args.join(" ")}${input}`);
      const code = codes.shift() ?? 0;
      return Promise.resolve({
        code,
        signal: null,
        stdout: Buffer.alloc(0),
        stderr: Buffer.from(code === 0 ? "" : stderr),
        timedOut: false,
        truncated: false,
      });
    },
  };
}

describe("network/bridge-masq: removal in one iptables-restore", () => {
  const chain = masqChainName("net", "c1");

  it("writes the removal as one nat transaction, the comment quoted as iptables-save does", () => {
    const v4 = masqCleanupCommands("net", "c1", ["10.1.0.5/24"]);
    expect(masqRestoreInput(v4).split("\n")).to.deep.equal([
      "*nat",
      `-D POSTROUTING -s 10.1.0.5/32 -m comment --comment "name: \\"net\\" id: \\"c1\\"" -j ${chain}`,
      `-F ${chain}`,
      `-X ${chain}`,
      "COMMIT",
      "",
    ]);
  });

  it("runs one restore per family; when one fails (a part already gone), the commands one by one", async () => {
    const ok = scripted([]);
    expect(await removeBridgeMasq(ok, "net", "c1", ["10.1.0.5/24", "fd00::5/64"])).to.deep.equal(
      [],
    );
    expect(ok.calls).to.deep.equal([
      "iptables-restore -w --noflush <<6",
      "ip6tables-restore -w --noflush <<6",
    ]);

    const gone = "iptables: No chain/target/match by that name.";
    const repeat = scripted([2, 1, 1, 1], gone);
    expect(await removeBridgeMasq(repeat, "net", "c1", ["10.1.0.5/24"])).to.deep.equal([]);
    expect(repeat.calls.map((c) => c.split(" ").slice(0, 5).join(" "))).to.deep.equal([
      "iptables-restore -w --noflush <<6",
      "iptables -w -t nat -D",
      "iptables -w -t nat -F",
      "iptables -w -t nat -X",
    ]);

    const broken = scripted([2, 0, 4, 0], "iptables: Permission denied");
    const failures = await removeBridgeMasq(broken, "net", "c1", ["10.1.0.5/24"]);
    expect(failures).to.deep.equal([`iptables -w -t nat -F ${chain}: iptables: Permission denied`]);
  });
});
