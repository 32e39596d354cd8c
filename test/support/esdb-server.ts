import type { StartedBackend } from './backends.js';
import { startEsdbEmulator } from './esdb-emulator/index.js';

/**
 * The EventStoreDB emulator, started for every run: an in-process gRPC server (test/support/esdb-emulator) that the
 * adapter reaches through the real `@eventstore/db-client`. No EventStoreDB server can run where CI runs (no
 * container engine; the server is a .NET program outside the npm and Debian registries).
 */
export async function startEsdbEmulatorBackend(): Promise<StartedBackend> {
  const emulator = await startEsdbEmulator();
  return { url: emulator.url, stop: () => emulator.stop() };
}

/**
 * A real EventStoreDB/KurrentDB server, when EVENTSTORE_TEST_ESDB_URL names one (e.g. the docker-compose service:
 * `esdb://localhost:2113?tls=false`); the empty string otherwise, and the real-server suite is then not declared.
 */
export async function realEsdbBackend(): Promise<StartedBackend> {
  const url = process.env.EVENTSTORE_TEST_ESDB_URL ?? '';
  // Said once per run, so nobody mistakes an emulator run for a server run.
  console.log(
    url
      ? 'EventStoreDB: the suite also runs against the real server in EVENTSTORE_TEST_ESDB_URL.'
      : 'EventStoreDB: EVENTSTORE_TEST_ESDB_URL is not set; the adapter is verified against the in-process emulator only, not a real server.',
  );
  return { url, stop: async () => {} };
}
