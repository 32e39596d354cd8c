export { type CopyOptions, type CopyProgress, type CopyResult, copyStore } from './copy-store.js';
export {
  compareDigests,
  digestStore,
  type StoreDigest,
  type StreamDigest,
  type StreamMismatch,
  type VerifyResult,
  verifyCopy,
} from './verify.js';
