import { startDynamoDBLocal } from './dynamodb-local.js';

/**
 * The real backends the rig starts. Each adapter issue adds one entry: a key that test files `inject()`, and a
 * `start` that returns the URL (from the environment, or from a server it started) and how to stop it.
 */
export interface StartedBackend {
  url: string;
  stop: () => Promise<void>;
}

export interface Backend {
  key: keyof import('vitest').ProvidedContext;
  start: () => Promise<StartedBackend>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Present so the interface is never empty; each backend adds its own key. */
    rigStarted: string;
    /** The DynamoDB endpoint (DynamoDB Local), or `unavailable:<why>`. */
    dynamodbEndpoint: string;
  }
}

export const backends: Backend[] = [
  { key: 'rigStarted', start: async () => ({ url: new Date().toISOString(), stop: async () => {} }) },
  { key: 'dynamodbEndpoint', start: startDynamoDBLocal },
];
