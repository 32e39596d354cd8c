import { inject } from 'vitest';
import { createEventStore } from '../../../src/index.js';
import { describeEventStoreConformance } from '../../conformance/index.js';

describeEventStoreConformance({
  name: 'eventstoredb (emulator)',
  create: () => createEventStore(inject('esdbUrl')),
});

const real = inject('esdbRealUrl');
if (real) {
  describeEventStoreConformance({
    name: 'eventstoredb (EVENTSTORE_TEST_ESDB_URL)',
    create: () => createEventStore(real),
  });
}
