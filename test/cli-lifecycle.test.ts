/**
 * The lifecycle commands (delete, truncate, metadata, retention) of the built CLI, run as a child process on an
 * embedded PGlite in a temporary directory and on memory:, and in process for an adapter without the lifecycle.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryEventStore } from '../src/adapters/memory/index.js';
import { main } from '../src/cli/main.js';
import { registerScheme } from '../src/index.js';
import { assertBuilt, BUILT_CLI, ROOT } from './support/built.js';
import { freePort } from './support/free-port.js';

const FORBID_DRIVERS = join(ROOT, 'test/support/forbid-drivers/register.mjs');
const LIFECYCLE_COMMANDS = ['delete', 'truncate', 'metadata', 'retention'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { cwd?: string; forbidDrivers?: boolean } = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.EVENT_STORE_URL;
  const node = options.forbidDrivers ? ['--import', FORBID_DRIVERS] : [];
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...node, BUILT_CLI, ...args],
      { env, cwd: options.cwd ?? ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
    child.stdin?.end('');
  });
}

const json = (r: Run) => JSON.parse(r.stdout) as Record<string, unknown>;
const lines = (r: Run) =>
  r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let scratch: string;
beforeAll(() => {
  assertBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'eventstore-kit-cli-lifecycle-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('cli lifecycle: help and usage errors, before any store is opened', () => {
  it('--help lists the lifecycle commands', async () => {
    const r = await cli(['--help'], { forbidDrivers: true });
    for (const c of LIFECYCLE_COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it.each(LIFECYCLE_COMMANDS)('%s --help prints its usage, without loading a driver', async (command) => {
    const r = await cli([command, '--help', '--url', 'pglite:memory'], { forbidDrivers: true });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`usage: eventstore-kit ${command}`);
  });

  // An unreachable server with a password in its URL: had a store been opened, the command would fail with
  // UNAVAILABLE (exit 1), and the driver guard would fail the driver load first.
  let url: string;
  beforeAll(async () => {
    url = `postgres://kit:s3cr3t-pw@127.0.0.1:${await freePort()}/db`;
  });

  it.each<[string, string[], RegExp]>([
    ['delete without a stream', ['delete'], /delete takes <stream>, got 0 argument/],
    ['delete with two streams', ['delete', 'a', 'b'], /delete takes <stream>, got 2 argument/],
    [
      'delete at a bad expected version',
      ['delete', 's', '--expected-version', 'maybe'],
      /--expected-version must be any, no_stream, stream_exists or a version/,
    ],
    ['delete with an unknown flag', ['delete', 's', '--force'], /unknown option '--force' for delete/],
    ['delete of an empty stream id', ['delete', ''], /streamId must not be empty/],
    ['truncate without --before', ['truncate', 's'], /truncate needs --before VERSION/],
    ['truncate before 0 (the contract, checked early)', ['truncate', 's', '--before', '0'], /before/],
    ['truncate before a non-number', ['truncate', 's', '--before', 'x'], /--before must be/],
    [
      'metadata --max-count 0',
      ['metadata', 's', '--max-count', '0'],
      /--max-count must be an integer of at least 1 or none/,
    ],
    ['metadata --max-age 5y', ['metadata', 's', '--max-age', '5y'], /--max-age must be seconds/],
    [
      'metadata --custom that is not JSON',
      ['metadata', 's', '--custom', '{bad'],
      /--custom is not valid JSON/,
    ],
    [
      'metadata --custom that is not an object',
      ['metadata', 's', '--custom', '[1]'],
      /metadata.custom must be a plain object/,
    ],
    [
      'metadata --expected-metadata-version without a change',
      ['metadata', 's', '--expected-metadata-version', '1'],
      /--expected-metadata-version goes with a change/,
    ],
    [
      'metadata --expected-metadata-version that is not a version',
      ['metadata', 's', '--max-count', '1', '--expected-metadata-version', 'x'],
      /--expected-metadata-version must be any or a metadata version/,
    ],
    ['retention with an argument', ['retention', 's'], /retention takes no arguments, got 1 argument/],
  ])('%s', async (_what, args, message) => {
    const r = await cli(['--url', url, ...args], { forbidDrivers: true });
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/UNAVAILABLE|unreachable|FORBIDDEN/);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
    expect(r.code).toBe(2);
  });
});

describe('cli lifecycle: commands', () => {
  it('on PGlite: retention by count, truncate, metadata (merged, at an expected version), soft and hard delete', async () => {
    const dir = mkdtempSync(join(scratch, 'pglite-'));
    const run = (...args: string[]) => cli(['--url', `pglite:${join(dir, 'store')}`, ...args], { cwd: dir });
    const stdin = Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({ type: 'Step', data: { i: i + 1 } }),
    ).join('\n');
    const appended = await new Promise<Run>((resolve) => {
      const child = execFile(
        process.execPath,
        [BUILT_CLI, '--url', `pglite:${join(dir, 'store')}`, 'append', 'order-1', '--json'],
        { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
      child.stdin?.end(stdin);
    });
    expect(json(appended)).toMatchObject({ nextExpectedVersion: 5 });

    const empty = await run('metadata', 'order-1', '--json');
    expect(json(empty)).toEqual({ streamId: 'order-1', metadataVersion: 0, metadata: {} });

    const set = await run('metadata', 'order-1', '--max-count', '2', '--custom', '{"owner":"ada"}');
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toMatch(/^metadata version {2}1\nmax count {9}2\nmax age {11}none\n/);
    expect(lines(await run('read', 'order-1', '--json')).map((e) => e.version)).toEqual([4, 5]);

    // A change keeps the keys it does not name; a stale expected metadata version changes nothing.
    const stale = await run('metadata', 'order-1', '--max-age', '1d', '--expected-metadata-version', '0');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^error WRONG_EXPECTED_VERSION: /);
    const age = await run(
      'metadata',
      'order-1',
      '--max-age',
      '1d',
      '--expected-metadata-version',
      '1',
      '--json',
    );
    expect(json(age)).toEqual({
      streamId: 'order-1',
      metadataVersion: 2,
      metadata: { maxCount: 2, maxAge: 86_400, custom: { owner: 'ada' } },
    });

    const retention = await run('retention');
    expect(retention).toMatchObject({ code: 0, stdout: 'removed 3 event(s) that retention hid\n' });
    expect(json(await run('retention', '--json'))).toEqual({ removedEvents: 0 });

    const unlimited = await run('metadata', 'order-1', '--max-count', 'none', '--json');
    expect(json(unlimited)).toMatchObject({ metadataVersion: 3, metadata: { maxAge: 86_400 } });
    expect(json(unlimited).metadata).not.toHaveProperty('maxCount');

    expect(await run('truncate', 'order-1', '--before', '5')).toMatchObject({
      code: 0,
      stdout: 'truncated order-1: events before version 5 are gone\n',
    });
    expect(lines(await run('read', 'order-1', '--json')).map((e) => e.version)).toEqual([5]);
    expect(json(await run('metadata', 'order-1', '--json'))).toMatchObject({
      metadata: { truncateBefore: 5, custom: { owner: 'ada' } },
    });
    const past = await run('truncate', 'order-1', '--before', '7');
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/^error INVALID_ARGUMENT: /);

    const wrong = await run('delete', 'order-1', '--expected-version', '4');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error WRONG_EXPECTED_VERSION: /);
    expect(lines(await run('read', 'order-1', '--json'))).toHaveLength(1);

    const soft = await run('delete', 'order-1', '--expected-version', '5');
    expect(soft).toMatchObject({
      code: 0,
      stdout: 'deleted order-1 at version 5: it reads as empty; the next append recreates it at version 6\n',
    });
    expect(json(await run('delete', 'order-1', '--expected-version', '5', '--json'))).toEqual({
      streamId: 'order-1',
      hard: false,
      version: 5,
    });
    expect((await run('read', 'order-1')).stderr).toContain('stream order-1 has no events');
    expect((await run('version', 'order-1')).stdout).toBe('5\n');
    expect(
      json(await run('append', 'order-1', 'Step', '{"i":6}', '--expected-version', 'no_stream', '--json')),
    ).toMatchObject({
      nextExpectedVersion: 6,
    });

    expect(json(await run('delete', 'order-1', '--hard', '--json'))).toEqual({
      streamId: 'order-1',
      hard: true,
      version: 6,
    });
    for (const args of [
      ['read', 'order-1'],
      ['metadata', 'order-1'],
      ['append', 'order-1', 'Step', '{}'],
    ]) {
      const r = await run(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error STREAM_DELETED: Stream 'order-1' was deleted/);
    }
  }, 600_000);

  it('on memory: each command runs on the empty store it opens', async () => {
    const r = await cli(['--url', 'memory:', 'delete', 's', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('memory: keeps nothing');
    expect(json(r)).toEqual({ streamId: 's', hard: false, version: 0 });
    expect(json(await cli(['--url', 'memory:', 'delete', 's', '--hard', '--json']))).toMatchObject({
      hard: true,
    });
    expect(json(await cli(['--url', 'memory:', 'retention', '--json']))).toEqual({ removedEvents: 0 });
    expect(json(await cli(['--url', 'memory:', 'metadata', 's', '--max-count', '3', '--json']))).toEqual({
      streamId: 's',
      metadataVersion: 1,
      metadata: { maxCount: 3 },
    });
    expect((await cli(['--url', 'memory:', 'truncate', 's', '--before', '1'])).code).toBe(0);
    const past = await cli(['--url', 'memory:', 'truncate', 's', '--before', '2']);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/^error INVALID_ARGUMENT: /m);
    const wrong = await cli(['--url', 'memory:', 'delete', 's', '--expected-version', '3']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error WRONG_EXPECTED_VERSION: /m);
  });
});

describe('cli lifecycle: an adapter that declares lifecycle: false', () => {
  it.each([
    ['delete', 's'],
    ['truncate', 's', '--before', '1'],
    ['metadata', 's'],
    ['metadata', 's', '--max-count', '1'],
    ['retention'],
  ])('%s says in one line that the adapter lacks the lifecycle, and exits 1', async (...args) => {
    const unregister = registerScheme('nolifecycle', async () => {
      const store = createMemoryEventStore();
      Object.defineProperty(store, 'capabilities', { value: { ...store.capabilities, lifecycle: false } });
      return store;
    });
    const stderr: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    try {
      expect(await main(['--url', 'nolifecycle:', ...args])).toBe(1);
    } finally {
      stdout.mockRestore();
      err.mockRestore();
      unregister();
    }
    expect(stderr).toEqual([
      'error NOT_SUPPORTED: the nolifecycle adapter does not implement the stream lifecycle (delete, truncate, metadata, retention: capabilities.lifecycle is false); see docs/lifecycle.md\n',
    ]);
  });
});
