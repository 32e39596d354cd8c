import { describeEventStoreConformance } from '../../../src/conformance/index.js';
import { createEventStore } from '../../../src/index.js';
import { serverUrl, uniqueSchema } from './support.js';

// One schema for this file, on the rig's server reserved for the suite; every store the suite opens shares it
// (tests use random stream ids).
const url = serverUrl(uniqueSchema('conformance'), 'postgresConformanceUrl');

describeEventStoreConformance({
  name: 'postgres (real server)',
  create: () => createEventStore(url),
  sharedBackend: true,
});
