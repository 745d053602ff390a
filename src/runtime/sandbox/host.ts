// Host facts the sandbox needs (kept apart so tests can see what is read from the host).
export * as os from "node:os";
