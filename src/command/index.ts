export * from './event-ids.js';
export * from './handle-command.js';
export type { SnapshotOptions } from './snapshots.js';
