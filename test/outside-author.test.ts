import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (path: string) => join(root, 'node_modules', path);

/** The files README's "Adding an adapter" tells an author to write: each ```ts block opening with `// file: name`. */
async function readmeFiles(): Promise<Map<string, string>> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Adding an adapter\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  for (const m of section.matchAll(/```ts\n\/\/ file: ([\w.-]+)\n([\s\S]*?)```/g)) files.set(m[1]!, m[2]!);
  return files;
}

/** Runs a node script to completion; a failure carries the end of its output. */
function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed:\n${`${stdout}\n${stderr}`.slice(-4000)}`));
      else resolve();
    });
  });
}

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ assertionResults: Array<{ ancestorTitles: string[]; status: string }> }>;
}

describe('an adapter written outside the package', () => {
  it('passes the conformance suite, imported through the package exports as README "Adding an adapter" says', async () => {
    const files = await readmeFiles();
    expect([...files.keys()].sort()).toEqual(['conformance.test.ts', 'index.ts', 'map-event-store.ts']);
    const scratch = await mkdtemp(join(tmpdir(), 'eventstore-kit-outside-'));
    try {
      // The package as npm installs it: package.json and the built dist, with its peer dependencies beside it.
      const kit = join(scratch, 'eventstore-kit');
      await run(
        [bin('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(kit, 'dist')],
        root,
      );
      await cp(join(root, 'package.json'), join(kit, 'package.json'));
      await symlink(join(root, 'node_modules'), join(kit, 'node_modules'), 'dir');

      // The author's project: the README's files, and eventstore-kit, vitest and @types/node installed.
      const app = join(scratch, 'map-adapter');
      await mkdir(join(app, 'node_modules', '@types'), { recursive: true });
      await symlink(kit, join(app, 'node_modules', 'eventstore-kit'), 'dir');
      await symlink(bin('vitest'), join(app, 'node_modules', 'vitest'), 'dir');
      await symlink(bin('@types/node'), join(app, 'node_modules', '@types', 'node'), 'dir');
      await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'map-adapter', type: 'module' }));
      await writeFile(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noUncheckedIndexedAccess: true,
            verbatimModuleSyntax: true,
            skipLibCheck: true,
            noEmit: true,
            types: ['node'],
          },
          include: ['*.ts'],
        }),
      );
      for (const [name, text] of files) await writeFile(join(app, name), text);

      // It type-checks against the package's declared types, then the suite runs (a vitest of its own, with no
      // config: none of this repository's setup or backends).
      await run([bin('typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')),
      );
      const report = join(scratch, 'report.json');
      await run(
        [bin('vitest/vitest.mjs'), 'run', '--root', app, '--reporter=json', `--outputFile=${report}`],
        app,
        env,
      ).catch(async (err: unknown) => {
        // A failing suite exits non-zero; the report says which tests failed.
        await readFile(report).catch(() => {
          throw err;
        });
      });
      const result = JSON.parse(await readFile(report, 'utf8')) as JsonReport;
      const failed = result.testResults
        .flatMap((file) => file.assertionResults)
        .filter((test) => test.status === 'failed');
      expect(failed).toEqual([]);
      expect(result.numFailedTests).toBe(0);
      // The whole suite ran: every concern file, about 80 tests (a few skipped by capability).
      expect(result.numPassedTests).toBeGreaterThan(70);
      const suites = new Set(
        result.testResults.flatMap((file) => file.assertionResults.map((test) => test.ancestorTitles[0])),
      );
      expect([...suites]).toEqual(['EventStore conformance: map']);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 600_000);
});
