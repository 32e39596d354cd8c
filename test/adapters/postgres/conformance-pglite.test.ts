import { createEventStore } from '../../../src/index.js';
import { describeEventStoreConformance } from '../../conformance/index.js';

describeEventStoreConformance({
  name: 'postgres (PGlite in memory)',
  create: () => createEventStore('pglite:memory'),
});
