import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeUrl } from '../../config.js';
import type { StandaloneCommand } from '../command.js';
import { describeFailure } from '../errors.js';
import { checkUrl, expectArgs, UsageError } from '../usage.js';
import { scratchFor } from './conformance-scratch.js';

/** The suite's concerns, as `--only` names them, with the title of their `describe` block. */
export const CONCERNS: Readonly<Record<string, string>> = {
  append: 'append',
  'read-stream': 'readStream',
  'read-all': 'readAll',
  concurrency: 'concurrency',
  idempotency: 'idempotency',
  import: 'import (preserveCreatedAt)',
  'bad-input': 'bad input',
  model: 'agreement with the reference implementation',
  close: 'close',
  'command-handling': 'command handling',
  snapshots: 'snapshots',
  'command-snapshots': 'command handling with snapshots',
  upcasting: 'upcasting',
  'lifecycle-delete': 'lifecycle: delete and truncate',
  'lifecycle-metadata': 'lifecycle: stream metadata and retention',
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The test file the run executes: the shipped suite, on stores of the scratch namespace. */
function testFile(url: string, label: string): string {
  const here = import.meta.url;
  const suite = new URL('../../conformance/index.js', here).href;
  const root = new URL('../../index.js', here).href;
  const name = JSON.stringify(label);
  if (describeUrl(url) === 'pglite') {
    // One PGlite per data directory: every store of the run shares it, on a scratch schema dropped afterwards.
    const where = decodeURIComponent(new URL(url).pathname);
    const scratch = new URL('../../adapters/postgres/scratch.js', here).href;
    return `import { afterAll, beforeAll } from 'vitest';
import { describeEventStoreConformance } from ${JSON.stringify(suite)};
import { openPgliteScratch } from ${JSON.stringify(scratch)};
const schema = 'eskit_conformance_' + Math.random().toString(16).slice(2, 12);
const pglite = openPgliteScratch(${JSON.stringify(where === 'memory' ? 'memory' : resolve(where))}, schema);
beforeAll(async () => {
  await pglite;
});
afterAll(async () => {
  await (await pglite).dispose();
});
describeEventStoreConformance({ name: ${name}, create: async () => (await pglite).create(), sharedBackend: true });
`;
  }
  return `import { describeEventStoreConformance } from ${JSON.stringify(suite)};
import { createEventStore } from ${JSON.stringify(root)};
const url = process.env.EVENTSTORE_KIT_CONFORMANCE_URL;
describeEventStoreConformance({ name: ${name}, create: () => createEventStore(url), sharedBackend: ${describeUrl(url) !== 'memory'} });
`;
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export const conformanceCommand: StandaloneCommand = {
  kind: 'standalone',
  name: 'conformance',
  summary: 'run the conformance suite against a live store, in a scratch namespace',
  usage: `eventstore-kit conformance --url URL [--only CONCERN,...]

Runs the kit's conformance suite (the tests every adapter passes) against the store URL names, so a team can
certify its own deployment. It writes in a scratch namespace and removes it afterwards: a fresh schema on
PostgreSQL and PGlite (dropped), a fresh table on DynamoDB (deleted; the URL's table is not touched). EventStoreDB
has no namespace: the suite's streams, with random ids, stay. Needs vitest (npm install -D vitest).

--only runs some concerns: ${Object.keys(CONCERNS).join(', ')}.
Exit code 0 when every test passed (tests the adapter declares it cannot run are skipped, and counted), 1 otherwise.`,
  options: { only: { type: 'string' } },
  parse({ values, positionals }) {
    expectArgs('conformance', positionals, []);
    const url = values.url;
    if (typeof url !== 'string' || url === '') {
      throw new UsageError('conformance needs --url URL (the store to certify)', 'conformance');
    }
    checkUrl(url, '--url', 'conformance');
    let only: string[] | undefined;
    if (values.only !== undefined) {
      only = String(values.only)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const unknown = only.filter((c) => !(c in CONCERNS));
      if (only.length === 0 || unknown.length > 0) {
        throw new UsageError(
          `--only takes concerns among ${Object.keys(CONCERNS).join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`,
          'conformance',
        );
      }
    }
    return async (out) => {
      const scheme = describeUrl(url);
      const scratch = scratchFor(url);
      const label = `${scheme} (${scratch.describe})`;
      let vitest: typeof import('vitest/node');
      try {
        vitest = await import('vitest/node');
      } catch {
        out.note('error: conformance needs vitest, an optional peer dependency: npm install -D vitest');
        return 1;
      }
      const dir = mkdtempSync(join(tmpdir(), 'eventstore-kit-conformance-'));
      const file = join(dir, 'conformance.test.mjs');
      writeFileSync(file, testFile(url, label));
      process.env.EVENTSTORE_KIT_CONFORMANCE_URL = scratch.url;
      const pattern =
        only === undefined
          ? undefined
          : new RegExp(
              `^EventStore conformance: ${escapeRegExp(label)} (${only.map((c) => escapeRegExp(CONCERNS[c]!)).join('|')}) `,
            );
      const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
      let failure: unknown;
      try {
        const ctx = await vitest.startVitest(
          'test',
          [file],
          {
            root: dir,
            config: false,
            watch: false,
            include: ['conformance.test.mjs'],
            testTimeout: 60_000,
            hookTimeout: 180_000,
            reporters: ['default'],
            ...(pattern === undefined ? {} : { testNamePattern: pattern }),
          },
          {},
          // The suite's report goes to stderr, so that stdout holds only the verdict (one JSON line with --json).
          { stdout: process.stderr },
        );
        for (const m of ctx?.state.getFiles() ?? []) {
          const walk = (
            tasks: ReadonlyArray<{
              type: string;
              mode: string;
              result?: { state?: string };
              tasks?: unknown[];
            }>,
          ) => {
            for (const t of tasks) {
              if (t.type === 'suite') walk((t.tasks ?? []) as typeof tasks);
              else if (t.result?.state === 'pass') counts.passed++;
              else if (t.result?.state === 'fail') counts.failed++;
              else if (t.mode === 'skip' && pattern === undefined) counts.skipped++;
              else if (t.mode === 'skip' && t.result !== undefined) counts.skipped++;
            }
          };
          walk(m.tasks as never);
          if (m.result?.state === 'fail' && counts.failed === 0) counts.failed++;
        }
        await ctx?.close();
      } catch (err) {
        failure = err;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      let removed: string;
      let cleaned = true;
      try {
        removed = await scratch.remove();
      } catch (err) {
        cleaned = false;
        removed = `could not remove it: ${describeFailure(err, scheme, false)}`;
      }
      const ok = failure === undefined && counts.failed === 0 && counts.passed > 0;
      const summary = {
        store: scheme,
        namespace: scratch.describe,
        passed: counts.passed,
        failed: counts.failed,
        skipped: counts.skipped,
        cleanup: removed,
        result: ok ? 'conformant' : 'not conformant',
      };
      if (out.json) out.jsonLine(summary);
      else {
        out.line(
          `conformance of ${scheme}: ${ok ? 'CONFORMANT' : 'NOT CONFORMANT'}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (declared capabilities)`,
        );
        out.line(`scratch namespace: ${scratch.describe}; ${removed}`);
        if (failure !== undefined) out.line(describeFailure(failure, scheme, false));
      }
      return ok && cleaned ? 0 : 1;
    };
  },
};
