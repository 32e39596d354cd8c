import { startDynamoDBLocal } from './dynamodb-local.js';
import { realEsdbBackend, startEsdbEmulatorBackend } from './esdb-server.js';
import { startPostgres } from './postgres-server.js';

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
    /** The EventStoreDB emulator's URL (always started). */
    esdbUrl: string;
    /** EVENTSTORE_TEST_ESDB_URL, a real EventStoreDB/KurrentDB server; '' when not set. */
    esdbRealUrl: string;
    /** A PostgreSQL server URL (no schema): EVENTSTORE_TEST_POSTGRES_URL, or an embedded server the rig started. */
    postgresUrl: string;
    /**
     * A second embedded server for the conformance suite alone. readAll's no-skip horizon is the oldest transaction
     * on the whole server, so the adapter tests that hold transactions open on purpose would otherwise hold back
     * the suite's readAll tests running beside them. The same as postgresUrl when EVENTSTORE_TEST_POSTGRES_URL is set.
     */
    postgresConformanceUrl: string;
    /** The DynamoDB endpoint (DynamoDB Local), or `unavailable:<why>`. */
    dynamodbEndpoint: string;
  }
}

export const backends: Backend[] = [
  { key: 'esdbUrl', start: startEsdbEmulatorBackend },
  { key: 'esdbRealUrl', start: realEsdbBackend },
  // Durability is off for speed: the tests check behaviour, not crash safety.
  { key: 'postgresUrl', start: () => startPostgres({ settings: { fsync: 'off', max_connections: '300' } }) },
  {
    key: 'postgresConformanceUrl',
    start: () => startPostgres({ settings: { fsync: 'off', max_connections: '100' } }),
  },
  { key: 'dynamodbEndpoint', start: startDynamoDBLocal },
];
