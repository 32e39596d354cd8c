import { afterAll, inject } from 'vitest';
import { describeEventStoreConformance } from '../../../src/conformance/index.js';
import { createEventStore } from '../../../src/index.js';
import { type EsdbEmulator, startEsdbEmulator } from '../../support/esdb-emulator/index.js';

// The rig's emulator: the server's own layout, where each event's commit position is its prepare position.
describeEventStoreConformance({
  name: 'eventstoredb (emulator)',
  create: () => createEventStore(inject('esdbUrl')),
  sharedBackend: true,
});

// The legacy layout of explicit transactions (the events of one append share a commit record after their
// prepares), so the {commit, prepare} position encoding is exercised with commit ≠ prepare as well.
let explicit: Promise<EsdbEmulator> | undefined;
afterAll(async () => {
  await (await explicit)?.stop();
});
describeEventStoreConformance({
  name: 'eventstoredb (emulator, explicit-commit layout)',
  create: async () => {
    explicit ??= startEsdbEmulator({ layout: 'explicit-commit' });
    return createEventStore((await explicit).url);
  },
  sharedBackend: true,
});

// A real server, when EVENTSTORE_TEST_ESDB_URL names one (see docs/eventstoredb.md).
const real = inject('esdbRealUrl');
if (real) {
  describeEventStoreConformance({
    name: 'eventstoredb (EVENTSTORE_TEST_ESDB_URL)',
    create: () => createEventStore(real),
    sharedBackend: true,
  });
}
