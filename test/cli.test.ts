/**
 * The built CLI (dist/src/cli.js, the package's bin) run as a child process, as a user runs it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { COMMANDS as REGISTERED } from '../src/cli/main.js';
import { assertBuilt, BUILT_CLI, ROOT } from './support/built.js';
import { freePort } from './support/free-port.js';

const FORBID_DRIVERS = join(ROOT, 'test/support/forbid-drivers/register.mjs');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
  /** Make any backend driver import fail: proves the command line was answered without one. */
  forbidDrivers?: boolean;
}

function cli(args: string[], options: CliOptions = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
  if (!options.env?.EVENT_STORE_URL) delete env.EVENT_STORE_URL;
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
    child.stdin?.end(options.stdin ?? '');
  });
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let scratch: string;
beforeAll(() => {
  assertBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'eventstore-kit-cli-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// Every command the CLI registers, so a new one cannot be left out of the help checks.
const COMMANDS = REGISTERED.map((c) => c.name);

describe('cli: help and version', () => {
  it('--version prints the package version', async () => {
    expect(await cli(['--version'], { forbidDrivers: true })).toEqual({
      code: 0,
      stdout: `${pkg.version}\n`,
      stderr: '',
    });
  });

  it('--help lists every command, without loading a driver', async () => {
    const r = await cli(['--help'], { forbidDrivers: true });
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it.each(COMMANDS)('%s --help prints its usage, without loading a driver', async (command) => {
    const r = await cli([command, '--help', '--url', 'pglite:memory'], { forbidDrivers: true });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`usage: eventstore-kit ${command}`);
  });

  it('no command prints the usage and exits 2', async () => {
    const r = await cli([], { forbidDrivers: true });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('usage: eventstore-kit');
  });

  it('the driver guard itself works: opening a PGlite store under it fails', async () => {
    const r = await cli(['--url', 'pglite:memory', 'version', 's'], { forbidDrivers: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FORBIDDEN DRIVER LOAD: @electric-sql/pglite');
  });
});

describe('cli: usage errors answer at once with exit code 2, before any store is opened', () => {
  // An unreachable server with a password in its URL: had a store been opened, the command would fail with
  // UNAVAILABLE (exit 1), and the driver guard would fail the driver load first.
  let url: string;
  beforeAll(async () => {
    url = `postgres://kit:s3cr3t-pw@127.0.0.1:${await freePort()}/db`;
  });

  it.each<[string, string[], RegExp]>([
    ['an unknown command', ['frob'], /unknown command 'frob'; commands: init, append/],
    ['an unknown flag', ['read-all', '--bogus'], /unknown option '--bogus' for read-all/],
    ['an unknown flag before the command', ['--bogus', 'read-all'], /unknown option '--bogus'/],
    ['a missing argument', ['read'], /read takes <stream>, got 0 argument/],
    ['an extra argument', ['version', 's', 't'], /version takes <stream>, got 2 argument/],
    ['bad JSON data', ['append', 's', 'T', '{bad'], /<json-data> is not valid JSON/],
    ['bad JSON metadata', ['append', 's', 'T', '{}', '--metadata', '[1'], /--metadata is not valid JSON/],
    [
      'an unknown expected version',
      ['append', 's', 'T', '{}', '--expected-version', 'maybe'],
      /--expected-version must be any, no_stream, stream_exists or a version \(a non-negative integer\), got 'maybe'/,
    ],
    ['a negative --max', ['read', 's', '--max=-1'], /--max must be a non-negative integer/],
    ['a bad --after', ['read-all', '--after', '1.5'], /--after must be a position/],
    ['a bad tail --from', ['tail', '--from', 'middle'], /--from must be a position/],
    [
      'tail --stream with --prefix',
      ['tail', '--stream', 's', '--prefix', 'p'],
      /--stream cannot be combined/,
    ],
    ['an empty event type (the contract, checked early)', ['append', 's', '', '{}'], /type/],
    ['an id that is not a UUID', ['append', 's', 'T', '{}', '--id', 'nope'], /UUID/],
    ['an empty stream id', ['version', ''], /streamId must not be empty/],
  ])('%s', async (_what, args, message) => {
    const r = await cli(['--url', url, ...args], { forbidDrivers: true });
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/UNAVAILABLE|unreachable|FORBIDDEN/);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
    expect(r.code).toBe(2);
  });

  it('bad JSON on stdin names the line', async () => {
    const r = await cli(['--url', url, 'append', 's'], {
      forbidDrivers: true,
      stdin: '{"type":"A","data":1}\nnot json\n',
    });
    expect(r.stderr).toMatch(/stdin line 2 is not valid JSON/);
    expect(r.code).toBe(2);
  });

  it('an unknown scheme in EVENT_STORE_URL names the known ones and never prints the URL', async () => {
    const r = await cli(['version', 's'], {
      env: { EVENT_STORE_URL: 'mongodb://admin:s3cr3t-pw@db.internal/x' },
      forbidDrivers: true,
    });
    expect(r.stderr).toMatch(/INVALID_ARGUMENT: Unknown scheme 'mongodb:'; known schemes: memory:/);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
    expect(r.code).toBe(2);
  });
});

describe('cli: commands', () => {
  it('--url memory: says nothing outlives the command', async () => {
    const r = await cli(['--url', 'memory:', 'append', 'order-1', 'OrderPlaced', '{"total":42}', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('memory: keeps nothing');
    expect(JSON.parse(r.stdout)).toEqual({ nextExpectedVersion: 1, lastPosition: '1' });
  });

  it('the embedded default (PGlite in ./.eventstore-kit) keeps what one command writes for the next', async () => {
    const dir = mkdtempSync(join(scratch, 'default-'));
    const init = await cli(['init'], { cwd: dir });
    expect(init).toMatchObject({ code: 0, stderr: '' });
    expect(init.stdout).toMatch(/^ready\n/);
    const one = await cli(['append', 'order-1', 'OrderPlaced', '{"total":42}'], { cwd: dir });
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toMatch(
      /^appended 1 event\(s\) to order-1: stream at version 1, last position \d+\n$/,
    );
    const all = jsonLines((await cli(['read-all', '--json'], { cwd: dir })).stdout);
    expect(all.map((e) => [e.streamId, e.version, e.type, e.data])).toEqual([
      ['order-1', 1, 'OrderPlaced', { total: 42 }],
    ]);
  }, 180_000);

  // On the rig's PostgreSQL server (a schema of its own): each command is a short process, without PGlite's start.
  it('append (arguments and stdin), read, read-all, stats and version', async () => {
    const url = `${inject('postgresUrl')}?schema=cli_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const run = (args: string[], stdin?: string) =>
      cli(args, { env: { EVENT_STORE_URL: url }, ...(stdin ? { stdin } : {}) });

    const one = await run([
      'append',
      'order-1',
      'OrderPlaced',
      '{"total":42}',
      '--expected-version',
      'no_stream',
    ]);
    expect(one).toMatchObject({ code: 0, stderr: '' });

    const ids = ['3f9c4f0e-8f43-4a8e-9d54-0c1f7c1d2a01', '3f9c4f0e-8f43-4a8e-9d54-0c1f7c1d2a02'];
    const lines = [
      { type: 'OrderPaid', data: { amount: 42 }, id: ids[0] },
      { type: 'OrderShipped', data: { carrier: 'post' }, metadata: { user: 'ada' }, id: ids[1] },
    ];
    const stdin = lines.map((l) => JSON.stringify(l)).join('\n');
    const many = await run(['append', 'order-1', '--expected-version', '1', '--json'], stdin);
    expect(many.code).toBe(0);
    expect(JSON.parse(many.stdout)).toMatchObject({ nextExpectedVersion: 3 });
    // The same lines again: recognised by their ids, nothing written twice.
    const retry = await run(['append', 'order-1', '--expected-version', '1', '--json'], stdin);
    expect(JSON.parse(retry.stdout)).toMatchObject({ nextExpectedVersion: 3 });

    await run(['append', 'invoice-7', 'InvoiceSent', '"plain string"']);

    const table = await run(['read', 'order-1']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^POSITION\s+STREAM\s+VERSION\s+TYPE\s+CREATED\s+DATA$/);
    expect(table.stdout).toMatch(/OrderShipped\s+\S+\s+\{"carrier":"post"\} meta=\{"user":"ada"\}/);

    const stream = jsonLines((await run(['read', 'order-1', '--json'])).stdout);
    expect(stream.map((e) => [e.version, e.type])).toEqual([
      [1, 'OrderPlaced'],
      [2, 'OrderPaid'],
      [3, 'OrderShipped'],
    ]);
    expect(stream.slice(1).map((e) => e.id)).toEqual(ids);

    const backwards = jsonLines(
      (await run(['read', 'order-1', '--backwards', '--max', '1', '--json'])).stdout,
    );
    expect(backwards.map((e) => e.version)).toEqual([3]);

    const all = jsonLines((await run(['read-all', '--json'])).stdout);
    expect(all.map((e) => `${e.streamId}@${e.version}`)).toEqual([
      'order-1@1',
      'order-1@2',
      'order-1@3',
      'invoice-7@1',
    ]);
    const positions = all.map((e) => BigInt(e.position as string));
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

    const after = jsonLines((await run(['read-all', '--after', String(positions[1]), '--json'])).stdout);
    expect(after.map((e) => `${e.streamId}@${e.version}`)).toEqual(['order-1@3', 'invoice-7@1']);
    const filtered = jsonLines((await run(['read-all', '--type', 'InvoiceSent', '--json'])).stdout);
    expect(filtered.map((e) => e.data)).toEqual(['plain string']);

    // tail from the start with a filter, ending after --max events; and one stream after a version.
    const tailed = jsonLines(
      (await run(['tail', '--from', 'start', '--prefix', 'order-', '--max', '3', '--json'])).stdout,
    );
    expect(tailed.map((e) => `${e.streamId}@${e.version}`)).toEqual(['order-1@1', 'order-1@2', 'order-1@3']);
    const tailedStream = jsonLines(
      (await run(['tail', '--stream', 'order-1', '--from', '1', '--max', '2', '--json'])).stdout,
    );
    expect(tailedStream.map((e) => e.version)).toEqual([2, 3]);

    const stats = await run(['--json', 'stats']);
    expect(JSON.parse(stats.stdout)).toEqual({
      streams: 2,
      events: 4,
      lastPosition: String(positions[3]),
      eventTypes: { InvoiceSent: 1, OrderPaid: 1, OrderPlaced: 1, OrderShipped: 1 },
    });
    const statsTable = await run(['stats']);
    expect(statsTable.stdout).toMatch(/^streams\s+2\nevents\s+4\n/);

    expect((await run(['version', 'order-1'])).stdout).toBe('3\n');
    expect((await run(['version', 'nobody'])).stdout).toBe('0\n');

    const conflict = await run(['append', 'order-1', 'OrderCancelled', '{}', '--expected-version', '1']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^error WRONG_EXPECTED_VERSION: /);
  }, 180_000);

  it('EVENT_STORE_URL picks the store, and --url overrides it', async () => {
    const dir = mkdtempSync(join(scratch, 'env-'));
    const env = { EVENT_STORE_URL: `pglite:${join(dir, 'store')}` };
    const appended = await cli(['append', 's', 'T', '{}'], { env, cwd: dir });
    expect(appended.code).toBe(0);
    expect((await cli(['version', 's'], { env, cwd: dir })).stdout).toBe('1\n');
    expect((await cli(['--url', 'memory:', 'version', 's'], { env, cwd: dir })).stdout).toBe('0\n');
  }, 120_000);

  it('demo runs the order example', async () => {
    const r = await cli(['demo', '--url', 'memory:']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/placed order-\S+ -> version 1/);
    expect(r.stdout).toContain('readAll saw 3 events of this order');
  });
});

describe('cli: an unreachable backend', () => {
  it.each([
    ['postgres', (port: number) => `postgres://kit:s3cr3t-pw@127.0.0.1:${port}/db`],
    ['dynamodb', (port: number) => `dynamodb://events?region=us-east-1&endpoint=http://127.0.0.1:${port}`],
    ['esdb', (port: number) => `esdb://127.0.0.1:${port}?tls=false`],
  ])('%s: a read-only command says the backend is unreachable, and no more', async (scheme, url) => {
    const r = await cli(['--url', url(await freePort()), 'read-all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error UNAVAILABLE: the ${scheme} backend is unreachable`, 'm'));
    expect(r.stderr).not.toMatch(/may or may not/);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
  });

  it('an append whose outcome is unknown says how to retry it safely', async () => {
    const r = await cli([
      '--url',
      `esdb://127.0.0.1:${await freePort()}?tls=false`,
      'append',
      's',
      'T',
      '{}',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the esdb backend is unreachable; the append may or may not have been applied: run it again with --id [0-9a-f-]{36}/,
    );
  });
});
