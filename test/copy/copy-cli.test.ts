/**
 * The built CLI's `copy`, as a child process: a copy with --verify into the EventStoreDB emulator (a child reaches
 * it by its TCP URL), usage errors, a verify that fails, and a copy killed halfway and run again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStore, type EventStore } from '../../src/index.js';
import { serverUrl, uniqueSchema } from '../adapters/postgres/support.js';
import { assertBuilt, BUILT_CLI, ROOT } from '../support/built.js';
import { type EsdbEmulator, startEsdbEmulator } from '../support/esdb-emulator/index.js';
import { readAll, untilReadAllHas, writeSample } from './support.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.EVENT_STORE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [BUILT_CLI, ...args], { env, cwd: ROOT }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

let emulator: EsdbEmulator;
beforeAll(async () => {
  assertBuilt();
  emulator = await startEsdbEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

/**
 * A fresh schema on the rig's PostgreSQL server with `write` done in it; returns its URL once readAll sees all of
 * it. (A server rather than a PGlite directory: a child process opens it in well under a second, PGlite in many.)
 */
async function postgresSource(write: (store: EventStore) => Promise<number>): Promise<string> {
  const url = serverUrl(uniqueSchema('copysrc'), 'postgresConformanceUrl');
  const store = await createEventStore(url);
  try {
    await untilReadAllHas(store, await write(store));
  } finally {
    await store.close();
  }
  return url;
}

describe('cli: copy', () => {
  it('answers usage errors with exit code 2 before opening anything', async () => {
    for (const args of [
      ['copy'],
      ['copy', '--from', 'memory:'],
      ['copy', '--from', 'nope://x', '--to', 'memory:'],
      ['copy', '--from', 'memory:', '--to', 'memory:'],
      ['copy', '--from', 'pglite:a', '--to', 'pglite:b', '--batch', '0'],
      ['copy', '--from', 'pglite:a', '--to', 'pglite:b', '--bogus'],
    ]) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/^error: /);
    }
  });

  it('copies PostgreSQL into EventStoreDB with --verify, then finds nothing left to copy', async () => {
    const from = await postgresSource((s) => writeSample(s));
    const first = await cli(['copy', '--from', from, '--to', emulator.url, '--verify']);
    expect(first.stderr).toMatch(/^copy: 9\/9 events \(100%\), \d+ events\/s, ETA 0 s$/m);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/^copied 9 events \(0 already in the target\) of 3 streams in /m);
    expect(first.stdout).toMatch(
      /^verify: source 9 events in 3 streams, target 9 events in 3 streams: identical$/m,
    );
    const again = await cli(['copy', '--from', from, '--to', emulator.url, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ copied: 0, alreadyPresent: 9, events: 9, streams: 3 });
  });

  it('--verify exits 1 and names the stream when the target differs', async () => {
    const from = await postgresSource(async (s) => {
      await s.append('s-1', [{ type: 'A', data: 1 }]);
      return 1;
    });
    const to = serverUrl(uniqueSchema('copydiff'), 'postgresConformanceUrl');
    const target = await createEventStore(to);
    try {
      await target.append('s-2', [{ type: 'B', data: 2 }]);
      await untilReadAllHas(target, 1);
    } finally {
      await target.close();
    }
    const r = await cli(['copy', '--from', from, '--to', to, '--verify']);
    expect(r.stdout).toMatch(/1 stream\(s\) differ/);
    expect(r.stdout).toMatch(/^ {2}s-2: source absent, target 1 events /m);
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).not.toContain(to);
  });

  it('resumes after the copy is killed halfway: nothing duplicated, nothing missing', async () => {
    const streams = 60;
    const perStream = 25;
    const total = streams * perStream;
    // Single-event appends, interleaved across streams: every event of the copy is an append of its own.
    const from = await postgresSource(async (s) => {
      for (let v = 1; v <= perStream; v++) {
        await Promise.all(
          Array.from({ length: streams }, (_, k) => s.append(`s-${k}`, [{ type: 'E', data: { k, v } }])),
        );
      }
      return total;
    });
    const to = serverUrl(uniqueSchema('copyresume'), 'postgresConformanceUrl');
    const target = await createEventStore(to);
    let child: ChildProcess | undefined;
    try {
      const env: Record<string, string | undefined> = { ...process.env };
      delete env.EVENT_STORE_URL;
      child = spawn(process.execPath, [BUILT_CLI, 'copy', '--from', from, '--to', to], {
        env,
        cwd: ROOT,
        stdio: 'ignore',
      });
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      // Kill it once a tenth of the events are in the target (the condition, not a time).
      for (;;) {
        const n = (await readAll(target)).length;
        if (n >= total / 10) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGKILL');
      await exited;
      const before = (await readAll(target)).length;
      expect(before).toBeLessThan(total);

      const r = await cli(['copy', '--from', from, '--to', to, '--verify', '--json']);
      expect(r.code).toBe(0);
      const [summary, verify] = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(summary).toMatchObject({ events: total });
      expect(summary.alreadyPresent).toBeGreaterThanOrEqual(before);
      expect(summary.copied + summary.alreadyPresent).toBe(total);
      expect(verify).toMatchObject({
        verify: 'ok',
        sourceEvents: total,
        targetEvents: total,
        mismatches: [],
      });
      const copied = await readAll(target);
      expect(new Set(copied.map((e) => e.id)).size).toBe(total);
    } finally {
      child?.kill('SIGKILL');
      await target.close();
    }
  }, 240_000);
});
