export { type CommitDecision, checkCommit, type ExpectedRevision } from './commit-check.js';
export { type LogEvent, type PositionLayout, TOMBSTONE_REVISION, TransactionLog } from './log.js';
export {
  DEFAULT_MAX_APPEND_SIZE,
  type EmulatedMethod,
  type EsdbEmulator,
  type EsdbEmulatorOptions,
  type Fault,
  startEsdbEmulator,
} from './server.js';
