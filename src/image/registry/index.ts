// The registry client's public surface, for the image service.
export { RegistryClient, type RegistryClientOptions, type FetchedManifest } from "./client.js";
export {
  fetchImage,
  fetchBlob,
  streamBlob,
  type FetchedImage,
  type FetchedDocument,
  type FetchImageOptions,
  type FetchBlobOptions,
} from "./fetch-image.js";
export { type RegistryCredentials } from "./credentials.js";
export {
  MediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from "./manifest.js";
export { hostPlatform, normalizePlatform, selectPlatform, formatPlatform } from "./platform.js";
export { DigestMismatchError, parseDigest, sha256Digest } from "./digest.js";
export { type RegistryEndpoint } from "./endpoints.js";
