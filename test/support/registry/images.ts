// Ready-made test images: a runnable busybox image, a layered image exercising whiteouts,
// opaque directories and links, a multi-platform index, Docker schema2, zstd layers, a very
// deep image, and hostile raw layers.
import { readFileSync } from "node:fs";
import type { CommandRunner } from "../../../src/util/command.js";
import {
  buildImage,
  buildIndex,
  type BuiltImage,
  type BuiltIndex,
  type ImageFormat,
  type LayerSpec,
} from "./image-builder.js";
import { dir, file, hardlink, opaque, symlink, whiteout, type TarEntry } from "./tar.js";

export const BUSYBOX_PATH = "/bin/busybox";

/** Applets linked next to /bin/busybox in the busybox image. */
export const BUSYBOX_APPLETS = [
  "sh",
  "ls",
  "cat",
  "sleep",
  "echo",
  "id",
  "true",
  "false",
  "env",
  "pwd",
  "mkdir",
  "touch",
  "rm",
  "ps",
  "wc",
  "head",
  "tail",
  "grep",
  "hostname",
  "whoami",
  "test",
  "printf",
  "kill",
  "stat",
  "readlink",
  "ln",
  "cp",
  "mv",
  "chmod",
  "date",
  "uname",
  "nc",
  "wget",
  "mount",
  "df",
  "du",
  "top",
  "seq",
  "yes",
  "dd",
  "tee",
  "sed",
  "awk",
  "find",
  "xargs",
  "sync",
  "nslookup",
  "ip",
  "ping",
];

export const APP_UID = 1000;
export const APP_GID = 1000;

/** Files of a minimal root with root and `app` (1000:1000) users, plus busybox. */
export function busyboxEntries(): TarEntry[] {
  const entries: TarEntry[] = [
    dir("bin"),
    dir("etc"),
    dir("tmp", 0o1777),
    dir("root", 0o700),
    dir("home"),
    dir("home/app", 0o755, { uid: APP_UID, gid: APP_GID }),
    dir("proc"),
    dir("sys"),
    dir("dev"),
    dir("var"),
    dir("var/log"),
    file("bin/busybox", readFileSync(BUSYBOX_PATH), 0o755),
    ...BUSYBOX_APPLETS.map((a) => symlink(`bin/${a}`, "busybox")),
    file(
      "etc/passwd",
      `root:x:0:0:root:/root:/bin/sh\napp:x:${APP_UID}:${APP_GID}:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`,
    ),
    file("etc/group", `root:x:0:\napp:x:${APP_GID}:\nnogroup:x:65534:\n`),
    file("etc/hostname", "berth-test\n"),
  ];
  return entries;
}

export async function busyboxImage(format: ImageFormat = "oci"): Promise<BuiltImage> {
  return buildImage({
    format,
    layers: [{ entries: busyboxEntries() }],
    config: { Cmd: ["/bin/sh"], WorkingDir: "/", Labels: { "org.berth.test": "busybox" } },
  });
}

/**
 * Three layers over busybox. The expected merged tree:
 * - /data/keep.txt "keep" (from layer 1), /data/hard.txt hard link to it
 * - /data/link -> keep.txt (symlink)
 * - /data/removed.txt gone (whiteout in layer 2)
 * - /opaque/ holds only new.txt "new" (old.txt hidden by an opaque marker in layer 2)
 * - /data/changed.txt "v2" (rewritten in layer 3)
 * - /app/run.sh executable, owned 1000:1000
 */
export function multiLayerSpecs(): LayerSpec[] {
  return [
    { entries: busyboxEntries() },
    {
      entries: [
        dir("data"),
        file("data/keep.txt", "keep"),
        hardlink("data/hard.txt", "data/keep.txt"),
        symlink("data/link", "keep.txt"),
        file("data/removed.txt", "to be removed"),
        file("data/changed.txt", "v1"),
        dir("opaque"),
        file("opaque/old.txt", "old"),
        dir("opaque/sub"),
        file("opaque/sub/deep.txt", "deep"),
      ],
    },
    {
      entries: [
        whiteout("data/removed.txt"),
        dir("opaque"),
        opaque("opaque"),
        file("opaque/new.txt", "new"),
      ],
    },
    {
      entries: [
        file("data/changed.txt", "v2"),
        dir("app"),
        file("app/run.sh", "#!/bin/sh\necho hello from app\n", 0o755, {
          uid: APP_UID,
          gid: APP_GID,
        }),
      ],
    },
  ];
}

export async function multiLayerImage(format: ImageFormat = "oci"): Promise<BuiltImage> {
  return buildImage({ format, layers: multiLayerSpecs(), config: { Cmd: ["/app/run.sh"] } });
}

/** An index over linux/amd64 and linux/arm64/v8 images; each has /platform.txt naming its platform. */
export async function multiPlatformIndex(format: ImageFormat = "oci"): Promise<BuiltIndex> {
  const platforms = [
    { os: "linux", architecture: "arm64", variant: "v8" },
    { os: "linux", architecture: "amd64" },
  ];
  const images = [];
  for (const p of platforms) {
    const name = [p.os, p.architecture, p.variant].filter(Boolean).join("/");
    images.push(
      await buildImage({
        format,
        platform: p,
        layers: [{ entries: [file("platform.txt", `${name}\n`)] }],
        config: { Cmd: ["/bin/true"] },
      }),
    );
  }
  return buildIndex(images, format);
}

export async function dockerSchema2Image(): Promise<BuiltImage> {
  return multiLayerImage("docker");
}

export async function zstdImage(runner: CommandRunner): Promise<BuiltImage> {
  return buildImage({
    runner,
    layers: [
      { entries: busyboxEntries(), compression: "gzip" },
      {
        entries: [dir("zstd"), file("zstd/hello.txt", "compressed with zstd\n")],
        compression: "zstd",
      },
      { entries: [file("zstd/plain.txt", "uncompressed layer\n")], compression: "none" },
    ],
    config: { Cmd: ["cat", "/zstd/hello.txt"] },
  });
}

/** `count` layers, layer i adding /layers/<i>.txt. */
export async function manyLayersImage(count = 120): Promise<BuiltImage> {
  const layers: LayerSpec[] = [];
  for (let i = 0; i < count; i++) {
    layers.push({
      entries:
        i === 0 ? [dir("layers"), file("layers/0.txt", "0")] : [file(`layers/${i}.txt`, String(i))],
    });
  }
  return buildImage({ layers });
}

/** An image whose layers are the given uncompressed tars, as is (for hostile-layer tests). */
export async function rawLayerImage(
  tars: readonly Buffer[],
  compression: "gzip" | "none" = "gzip",
): Promise<BuiltImage> {
  return buildImage({ layers: tars.map((tar) => ({ tar, compression })) });
}
