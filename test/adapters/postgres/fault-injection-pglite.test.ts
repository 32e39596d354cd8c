import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventStore } from '../../../src/index.js';
import { type Attempt, checkAgainstAttempts } from '../../support/fault-workload.js';
import { jsonLines, spawnScript, stopChild } from '../../support/processes/spawn.js';

/**
 * A process holding a PGlite directory is killed with SIGKILL in the middle of concurrent appends, three times, and
 * the directory is reopened each time. Checked against the appends the killed processes acknowledged: none lost,
 * none duplicated, versions contiguous, readAll positions strictly increasing; unacknowledged appends whole or absent.
 */
const ROUNDS = 2;
/** Acknowledged appends a round waits for before the kill (or until ROUND_MS passed). */
const ACKS_PER_ROUND = 40;
const ROUND_MS = 4_000;

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eventstore-pglite-faults-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('loses and duplicates nothing when the process holding a PGlite directory is killed mid-writes', async () => {
  const attempts = new Map<string, Attempt>();
  const phases: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = Date.now();
    const child = spawnScript('pglite-writer.ts', [dir]);
    try {
      const lines = jsonLines(child);
      expect((await lines.next()).value).toEqual({ ready: true });
      const ready = Date.now();
      // The kill comes after enough acknowledgements or after ROUND_MS, whichever is first, even if the child stalls.
      const timer = setTimeout(() => child.kill('SIGKILL'), ROUND_MS);
      let acks = 0;
      try {
        // Every line the child wrote before it died counts; the lines end when it does.
        for (;;) {
          const next = await lines.next().catch(() => undefined);
          if (!next) break;
          if (next.value.unexpected)
            throw new Error(`The writer failed: ${JSON.stringify(next.value.unexpected)}`);
          const a = (next.value.attempt ?? next.value.ack) as Attempt;
          attempts.set(a.ids[0]!, { ...attempts.get(a.ids[0]!), ...a });
          if (next.value.ack && ++acks >= ACKS_PER_ROUND) child.kill('SIGKILL');
        }
      } finally {
        clearTimeout(timer);
      }
      phases.push(`open ${ready - started} ms, ${acks} acks`);
    } finally {
      await stopChild(child, 'SIGKILL');
    }
  }
  const store = await createEventStore(`pglite:${dir}`);
  try {
    const all = [...attempts.values()];
    const counts = await checkAgainstAttempts(store, all);
    console.info(
      `PGlite faults: ${ROUNDS} SIGKILLs, ${counts.acknowledged} acknowledged appends (${counts.events} events), ` +
        `${counts.unacknowledged} unacknowledged (${counts.unacknowledgedPresent} present whole); 0 lost, 0 duplicated ` +
        `(rounds: ${phases.join('; ')})`,
    );
    expect(counts.acknowledged).toBeGreaterThan(0);
    expect(counts.unacknowledged).toBeGreaterThan(0);
  } finally {
    await store.close();
  }
  // A child's start (tsx, PGlite's WebAssembly, recovery) takes a few seconds on a quiet machine, 30 s on a loaded one.
}, 180_000);
