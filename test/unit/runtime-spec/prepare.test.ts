import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  createImageVolumeDirs,
  devMajorMinor,
  listHostDevices,
  loadLocalhostSeccompProfiles,
  localhostSeccompPath,
  readImageUserFiles,
  resolveDevices,
  resolveMountDestinations,
} from "../../../src/runtime/spec/prepare.js";
import { securityContext } from "./fixtures.js";

describe("runtime/spec prepare (file system pre-step)", () => {
  let tmp: string;
  let rootfs: string;
  let outside: string;

  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-spec-"));
    rootfs = path.join(tmp, "rootfs");
    outside = path.join(tmp, "outside");
    await fs.mkdir(path.join(rootfs, "real/etc"), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, "passwd"), "evil:x:0:0::/:/bin/sh\n");
  });

  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it("resolves destinations through image symlinks without leaving the rootfs", async () => {
    await fs.symlink("/real", path.join(rootfs, "abs"));
    await fs.symlink("../../../../../../..", path.join(rootfs, "up"));
    await fs.symlink(outside, path.join(rootfs, "host"));
    const map = await resolveMountDestinations(rootfs, [
      "/abs/x",
      "/up/etc/shadow",
      "/host/passwd",
      "/plain/y",
      "/../../z",
    ]);
    expect(Object.fromEntries(map)).to.deep.equal({
      "/abs/x": "/real/x",
      "/up/etc/shadow": "/etc/shadow",
      // An absolute symlink to a host path means that path inside the rootfs.
      [`/host/passwd`]: path.posix.join(outside, "passwd"),
      "/plain/y": "/plain/y",
      "/../../z": "/z",
    });
  });

  it("reads the image's passwd and group inside the rootfs, never the host's", async () => {
    await fs.symlink("/real/etc", path.join(rootfs, "etc"));
    await fs.writeFile(path.join(rootfs, "real/etc/group"), "root:x:0:\n");
    // An absolute link to the host's file resolves to a path inside the rootfs, which is absent.
    await fs.symlink(path.join(outside, "passwd"), path.join(rootfs, "real/etc/passwd"));
    expect(await readImageUserFiles(rootfs)).to.deep.equal({ group: "root:x:0:\n" });
    await fs.rm(path.join(rootfs, "real/etc/passwd"));
    await fs.writeFile(path.join(rootfs, "real/etc/passwd"), "root:x:0:0::/:/bin/sh\n");
    expect(await readImageUserFiles(rootfs)).to.deep.equal({
      passwd: "root:x:0:0::/:/bin/sh\n",
      group: "root:x:0:\n",
    });
  });

  it("decodes dev_t like glibc", () => {
    const encode = (major: bigint, minor: bigint) =>
      (minor & 0xffn) |
      ((major & 0xfffn) << 8n) |
      ((minor & ~0xffn) << 12n) |
      ((major & ~0xfffn) << 32n);
    for (const [major, minor] of [
      [1, 3],
      [259, 1048575],
      [4095, 255],
      [70000, 300],
    ] as const) {
      expect(devMajorMinor(encode(BigInt(major), BigInt(minor)))).to.deep.equal({ major, minor });
    }
  });

  it("stats host devices and refuses what is not a device", async () => {
    const [dev] = await resolveDevices([
      { host_path: "/dev/null", container_path: "/dev/mynull", permissions: "rw" },
    ]);
    expect(dev).to.deep.include({
      index: 0,
      containerPath: "/dev/mynull",
      hostPath: "/dev/null",
      type: "c",
      major: 1,
      minor: 3,
      permissions: "rw",
    });
    const [same] = await resolveDevices([
      { host_path: "/dev/zero", container_path: "", permissions: "" },
    ]);
    expect(same?.containerPath).to.equal("/dev/zero");
    await fs.writeFile(path.join(tmp, "file"), "");
    for (const host_path of [path.join(tmp, "file"), path.join(tmp, "missing"), "dev/null"]) {
      try {
        await resolveDevices([{ host_path, container_path: "/dev/x", permissions: "rwm" }]);
        expect.fail(`accepted ${host_path}`);
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).field).to.equal("config.devices[0].host_path");
      }
    }
  });

  it("lists the host's devices for privileged containers", async () => {
    const devices = await listHostDevices();
    expect(devices.find((d) => d.containerPath === "/dev/null")).to.deep.include({
      major: 1,
      minor: 3,
      type: "c",
    });
    expect(devices.some((d) => d.containerPath.startsWith("/dev/pts/"))).to.equal(false);
  });

  it("creates image volume directories inside the rootfs, skipping mounted ones", async () => {
    await fs.symlink(outside, path.join(rootfs, "vol"));
    const created = await createImageVolumeDirs(
      rootfs,
      { Volumes: { "/vol/data": {}, "/var/cache": {}, "/mounted": {} } },
      ["/mounted/"],
    );
    expect(created).to.deep.equal(["/vol/data", "/var/cache"]);
    expect((await fs.stat(path.join(rootfs, outside, "data"))).isDirectory()).to.equal(true);
    expect((await fs.stat(path.join(rootfs, "var/cache"))).isDirectory()).to.equal(true);
    await fs.access(path.join(outside, "data")).then(
      () => expect.fail("created a directory outside the rootfs"),
      () => undefined,
    );
    await fs.access(path.join(rootfs, "mounted")).then(
      () => expect.fail("created a mounted volume"),
      () => undefined,
    );
  });

  it("finds and loads Localhost seccomp profiles", async () => {
    const file = path.join(tmp, "profile.json");
    await fs.writeFile(file, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    const sc = securityContext({ seccomp: { profile_type: "Localhost", localhost_ref: file } });
    expect(localhostSeccompPath(sc, "f")).to.equal(file);
    expect(
      localhostSeccompPath(securityContext({ seccomp_profile_path: `localhost/${file}` }), "f"),
    ).to.equal(file);
    expect(localhostSeccompPath(securityContext(), "f")).to.equal(undefined);
    expect(localhostSeccompPath(null, "f")).to.equal(undefined);
    expect(await loadLocalhostSeccompProfiles([file], "f")).to.deep.equal({
      [file]: '{"defaultAction":"SCMP_ACT_ALLOW"}',
    });
    try {
      await loadLocalhostSeccompProfiles(
        [path.join(tmp, "nope.json")],
        "config.linux.security_context",
      );
      expect.fail("loaded a missing profile");
    } catch (err) {
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).to.equal("config.linux.security_context.seccomp");
    }
  });
});
