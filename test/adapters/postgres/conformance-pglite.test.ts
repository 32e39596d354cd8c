import { describeEventStoreConformance } from '../../../src/conformance/index.js';
import { createEventStore } from '../../../src/index.js';

describeEventStoreConformance({
  name: 'postgres (PGlite in memory)',
  create: () => createEventStore('pglite:memory'),
});
