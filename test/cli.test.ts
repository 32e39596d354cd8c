import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = ['--import', 'tsx'];

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...tsx, 'src/cli.ts', ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cli', () => {
  it('appends and prints the result as JSON', async () => {
    const r = await cli([
      '--url',
      'memory:',
      'append',
      'order-1',
      'OrderPlaced',
      '{"total":42}',
      '--expected-version',
      'no_stream',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ nextExpectedVersion: 1, lastPosition: '1' });
  });

  it('reports a contract error by code, with exit code 2 for bad input', async () => {
    const r = await cli(['--url', 'memory:', 'append', 'order-1', 'OrderPlaced', 'not json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('INVALID_ARGUMENT');
  });

  it('never prints the URL from EVENT_STORE_URL, which may hold a password', async () => {
    const r = await cli(['version', 's'], { EVENT_STORE_URL: 'mongodb://admin:s3cr3t-pw@db.internal/x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('INVALID_ARGUMENT');
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
  });

  it('prints usage for no command', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('usage: eventstore-kit');
  });
});
