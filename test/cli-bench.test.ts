/** The built CLI's `bench`, as a child process, on small workloads: it measures, these tests only check its report. */
import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { assertBuilt, BUILT_CLI, ROOT } from './support/built.js';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.EVENT_STORE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [BUILT_CLI, ...args], { env, cwd: ROOT }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

interface Report {
  floor: string | null;
  workloads: Array<{ workload: string; eventsPerSecond: number; ratioToFloor: number | null }>;
  cleanup: string;
}

beforeAll(() => assertBuilt());

describe('cli: bench', () => {
  it('reports append, readAll and readStream rates; memory: has no floor', async () => {
    const r = await cli(['bench', '--url', 'memory:', '--events', '200', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.floor).toBeNull();
    expect(report.workloads.map((w) => w.workload)).toEqual(['append', 'readAll', 'readStream']);
    for (const w of report.workloads) expect(w.eventsPerSecond).toBeGreaterThan(0);
  });

  it('reports ratios to the plain-INSERT floor on PostgreSQL, in a scratch schema it drops', async () => {
    const url = inject('postgresConformanceUrl');
    const r = await cli(['bench', '--url', url, '--events', '200', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.floor).toBe('plain INSERT');
    expect(report.workloads[0]!.ratioToFloor).toBeGreaterThan(0);
    expect(report.cleanup).toMatch(/^dropped schema eskit_conformance_[0-9a-f]+$/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(url);
  });

  it('answers a bad count with exit code 2', async () => {
    expect((await cli(['bench', '--url', 'memory:', '--events', 'many'])).code).toBe(2);
  });
});
