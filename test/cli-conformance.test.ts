/**
 * The built CLI's `conformance`, as a child process, on small scopes (--only): the whole suite against a live store
 * takes minutes on a loaded machine, and the adapters' own conformance runs cover every concern.
 */
import { execFile } from 'node:child_process';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { dynamodbUrl, rawClient, tableName } from './adapters/dynamodb/support.js';
import { assertBuilt, BUILT_CLI, ROOT } from './support/built.js';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.EVENT_STORE_URL;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BUILT_CLI, ...args],
      { env, cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

beforeAll(() => assertBuilt());

describe('cli: conformance', () => {
  it('certifies a store on the concerns --only names, with the suite report on stderr and the verdict on stdout', async () => {
    const r = await cli(['conformance', '--url', 'memory:', '--only', 'append,import']);
    // The import concern holds two tests for adapters without preserveCreatedAt or importFirstVersion, skipped on
    // memory by its capabilities.
    expect(r.stdout).toMatch(
      /^conformance of memory: CONFORMANT: \d+ passed, 0 failed, 2 skipped \(declared capabilities\)/m,
    );
    expect(r.stderr).toMatch(/import \(preserveCreatedAt\)|Tests +\d+ passed/);
    expect(r.code).toBe(0);
  });

  it('runs in a scratch schema on PostgreSQL and drops it afterwards', async () => {
    const url = inject('postgresConformanceUrl');
    const r = await cli(['conformance', '--url', url, '--only', 'import', '--json']);
    expect(r.code).toBe(0);
    const verdict = JSON.parse(r.stdout) as {
      namespace: string;
      cleanup: string;
      result: string;
      passed: number;
    };
    expect(verdict).toMatchObject({ result: 'conformant', passed: 7 });
    const schema = /^schema (eskit_conformance_[0-9a-f]+)$/.exec(verdict.namespace)?.[1];
    expect(verdict.cleanup).toBe(`dropped schema ${schema}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
    expect(`${r.stdout}${r.stderr}`).not.toContain(url);
  });

  it('runs in a scratch table on DynamoDB and deletes it, never creating the table the URL names', async () => {
    const own = tableName('conf');
    const url = dynamodbUrl(own);
    const r = await cli(['conformance', '--url', url, '--only', 'import', '--json']);
    expect(r.code).toBe(0);
    const verdict = JSON.parse(r.stdout) as { namespace: string; cleanup: string; result: string };
    expect(verdict.result).toBe('conformant');
    const table = /^table (\S+)$/.exec(verdict.namespace)?.[1];
    expect(verdict.cleanup).toBe(`deleted table ${table}`);
    const client = rawClient();
    try {
      const { TableNames } = await client.send(new ListTablesCommand({}));
      expect(TableNames).not.toContain(table);
      expect(TableNames).not.toContain(own);
    } finally {
      client.destroy();
    }
  });

  it('answers a wrong --only or a missing --url with exit code 2', async () => {
    const wrong = await cli(['conformance', '--url', 'memory:', '--only', 'append,nope']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown: nope/);
    expect((await cli(['conformance'])).code).toBe(2);
  });
});
