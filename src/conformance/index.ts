import { describe } from 'vitest';
import { appendTests } from './append.js';
import { badInputTests } from './bad-input.js';
import { closeTests } from './close.js';
import { commandHandlingTests } from './command-handling.js';
import { commandSnapshotTests } from './command-snapshots.js';
import { concurrencyTests } from './concurrency.js';
import { idempotencyTests } from './idempotency.js';
import { importTests } from './import.js';
import { lifecycleDeleteTests } from './lifecycle-delete.js';
import { lifecycleMetadataTests } from './lifecycle-metadata.js';
import { modelTests } from './model.js';
import { projectionTests } from './projections.js';
import { readAllTests } from './read-all.js';
import { readStreamTests } from './read-stream.js';
import { snapshotTests } from './snapshots.js';
import { subscriptionTests } from './subscriptions.js';
import type { ConformanceTarget } from './support.js';
import { upcastingTests } from './upcasting.js';

export { closeTests } from './close.js';
export type { ConformanceTarget } from './support.js';

/**
 * The conformance suite: every guarantee of the `EventStore` contract, as vitest tests. An adapter that passes it
 * is swappable with every other. Call it from a test file:
 *
 * @example
 * describeEventStoreConformance({ name: 'my-adapter', create: () => openMyStore() });
 *
 * Tests use random stream ids and stream prefixes, so `create` may return stores over one shared backend. What an
 * adapter cannot do is read from its `capabilities`, and the tests that need it are skipped visibly.
 */
export function describeEventStoreConformance(target: ConformanceTarget): void {
  describe(`EventStore conformance: ${target.name}`, () => {
    appendTests(target);
    readStreamTests(target);
    readAllTests(target);
    concurrencyTests(target);
    idempotencyTests(target);
    importTests(target);
    badInputTests(target);
    modelTests(target);
    closeTests(target);
    commandHandlingTests(target);
    snapshotTests(target);
    commandSnapshotTests(target);
    upcastingTests(target);
    lifecycleDeleteTests(target);
    lifecycleMetadataTests(target);
    subscriptionTests(target);
    projectionTests(target);
  });
}
