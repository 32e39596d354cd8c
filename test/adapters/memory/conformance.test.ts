import { createMemoryEventStore } from '../../../src/adapters/memory/index.js';
import { describeEventStoreConformance } from '../../../src/conformance/index.js';

describeEventStoreConformance({ name: 'memory', create: async () => createMemoryEventStore() });

describeEventStoreConformance({
  name: 'memory with declared limits',
  create: async () =>
    createMemoryEventStore({
      limits: { maxEventsPerAppend: 50, maxEventBytes: 64 * 1024, maxAppendBytes: 256 * 1024 },
    }),
});
