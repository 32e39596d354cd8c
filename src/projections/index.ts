export * from './memory-read-model.js';
export * from './projection.js';
export * from './run-projection.js';
export * from './sql-read-model.js';
export type { ProjectionStatus } from './status.js';
