export * from './event-ids.js';
export * from './handle-command.js';
