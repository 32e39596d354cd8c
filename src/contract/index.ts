export * from './errors.js';
export * from './idempotency.js';
export * from './subscriptions.js';
export type * from './types.js';
export * from './validate.js';
export * from './validate-snapshot.js';
export * from './validate-subscribe.js';
