// The `config` section of an OCI image configuration: what the image says about how to run it.
// Field names follow the image spec's JSON (capitalised), so a parsed image config fits as is.

export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  /** Keys are container paths; the values are always empty objects in the image spec. */
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
}
