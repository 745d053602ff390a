// Who the container process runs as: the CRI security context first (run_as_username,
// run_as_user, run_as_group), else the image's User, resolved against the image's own
// /etc/passwd and /etc/group (never the host's).
import { FailedPreconditionError, InvalidArgumentError } from "../../errors.js";
import type { LinuxContainerSecurityContext__Output } from "../../gen/runtime/v1/LinuxContainerSecurityContext.js";
import type { OciUser } from "./oci-types.js";

const SC = "config.linux.security_context";
/** Largest valid id: (uid_t)-1 is the kernel's "no id". */
const MAX_ID = 0xfffffffe;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** Parses /etc/passwd; malformed lines are skipped as libc does. */
export function parsePasswd(content: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of content.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    const uid = parseId(f[2] ?? "");
    const gid = parseId(f[3] ?? "");
    if (f[0] === undefined || f[0] === "" || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid });
  }
  return out;
}

/** Parses /etc/group; malformed lines are skipped. */
export function parseGroup(content: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of content.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    const gid = parseId(f[2] ?? "");
    if (f[0] === undefined || f[0] === "" || gid === undefined) continue;
    const members = (f[3] ?? "")
      .split(",")
      .map((m) => m.trim())
      .filter((m) => m !== "");
    out.push({ name: f[0], gid, members });
  }
  return out;
}

export interface UserInputs {
  securityContext: LinuxContainerSecurityContext__Output | null;
  /** The image config's User ("", "uid", "uid:gid", "name", "name:group"). */
  imageUser: string;
  passwd?: string;
  group?: string;
}

function int64Id(value: string, field: string): number {
  const id = parseId(value);
  if (id === undefined) throw new InvalidArgumentError(field, `"${value}" is not a valid id`);
  return id;
}

/** Resolves the image's User string. Names the image cannot resolve are its fault. */
function resolveImageUser(
  spec: string,
  users: PasswdEntry[],
  groups: GroupEntry[],
): { uid: number; gid: number; name?: string } {
  const colon = spec.indexOf(":");
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  let uid = 0;
  let gid = 0;
  let name: string | undefined;
  if (userPart !== "") {
    const numeric = parseId(userPart);
    const entry =
      numeric !== undefined
        ? users.find((u) => u.uid === numeric)
        : users.find((u) => u.name === userPart);
    if (numeric === undefined && entry === undefined) {
      throw new FailedPreconditionError(
        `image user "${spec}": no user "${userPart}" in the image's /etc/passwd`,
      );
    }
    uid = numeric ?? (entry as PasswdEntry).uid;
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else {
    name = users.find((u) => u.uid === 0)?.name;
  }
  if (groupPart !== undefined && groupPart !== "") {
    const numeric = parseId(groupPart);
    if (numeric !== undefined) gid = numeric;
    else {
      const g = groups.find((e) => e.name === groupPart);
      if (g === undefined) {
        throw new FailedPreconditionError(
          `image user "${spec}": no group "${groupPart}" in the image's /etc/group`,
        );
      }
      gid = g.gid;
    }
  }
  return name === undefined ? { uid, gid } : { uid, gid, name };
}

/**
 * run_as_group names the primary group of the user the request names: without run_as_user (or
 * a container's run_as_username) there is no such user, and the image's user is not it. kubelet
 * never sends it alone; containerd and critest reject it. `field` is the security context's path.
 */
export function checkRunAsGroup(
  sc: {
    run_as_group: { value: string } | null;
    run_as_user: { value: string } | null;
    run_as_username?: string;
  } | null,
  field: string,
): void {
  if (sc?.run_as_group && !sc.run_as_user && (sc.run_as_username ?? "") === "") {
    throw new InvalidArgumentError(
      `${field}.run_as_group`,
      "set without run_as_user or run_as_username",
    );
  }
}

/**
 * The OCI process user. Like containerd, the primary gid leads additionalGids; under the
 * Merge policy (the default) the groups that list the user in the image's /etc/group follow,
 * then the request's supplemental_groups. Strict keeps only the primary gid and those.
 * run_as_group needs run_as_user or run_as_username (checkRunAsGroup).
 */
export function resolveUser(inputs: UserInputs): OciUser {
  const sc = inputs.securityContext;
  checkRunAsGroup(sc, SC);
  const users = parsePasswd(inputs.passwd ?? "");
  const groups = parseGroup(inputs.group ?? "");
  let uid: number;
  let gid: number;
  let name: string | undefined;

  if (sc !== null && sc.run_as_username !== "") {
    const entry = users.find((u) => u.name === sc.run_as_username);
    if (entry === undefined) {
      throw new InvalidArgumentError(
        `${SC}.run_as_username`,
        `user "${sc.run_as_username}" not found in the image's /etc/passwd`,
      );
    }
    ({ uid, gid, name } = entry);
  } else if (sc?.run_as_user) {
    uid = int64Id(sc.run_as_user.value, `${SC}.run_as_user`);
    const entry = users.find((u) => u.uid === uid);
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else {
    ({ uid, gid, name } = resolveImageUser(inputs.imageUser, users, groups));
  }
  if (sc?.run_as_group) gid = int64Id(sc.run_as_group.value, `${SC}.run_as_group`);

  const extra = (sc?.supplemental_groups ?? []).map((g, i) =>
    int64Id(g, `${SC}.supplemental_groups[${i}]`),
  );
  const gids: number[] = [gid];
  if (sc?.supplemental_groups_policy !== "Strict" && name !== undefined) {
    const member = name;
    for (const g of groups) if (g.members.includes(member)) gids.push(g.gid);
  }
  gids.push(...extra);
  return { uid, gid, additionalGids: [...new Set(gids)] };
}
