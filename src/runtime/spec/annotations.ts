// The annotations containerd puts on its OCI specs, so tools that read them (NRI plugins,
// runtime wrappers, debugging scripts) find the same keys on berth's.
export const ANNOTATION = {
  containerType: "io.kubernetes.cri.container-type",
  sandboxId: "io.kubernetes.cri.sandbox-id",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  sandboxUid: "io.kubernetes.cri.sandbox-uid",
  sandboxLogDirectory: "io.kubernetes.cri.sandbox-log-directory",
  containerName: "io.kubernetes.cri.container-name",
  imageName: "io.kubernetes.cri.image-name",
} as const;

export const CONTAINER_TYPE_SANDBOX = "sandbox";
export const CONTAINER_TYPE_CONTAINER = "container";

/** The request's annotations, then berth's own keys, which a request cannot override. */
export function withCriAnnotations(
  requested: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  return { ...requested, ...own };
}
