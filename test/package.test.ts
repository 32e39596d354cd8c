/**
 * The package as an app gets it: `npm pack`, install the tarball into a scratch app in a temporary directory, then
 * load every subpath of the exports map with `import` and with `require` (Node's require(esm)), compile a consumer
 * with `nodenext` and `bundler` resolution, and run publint and Are the Types Wrong on the tarball. The subpaths
 * come from package.json, so one added later is covered without touching this file.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from './support/built.js';

const exec = promisify(execFile);

interface PackageJson {
  name: string;
  version: string;
  exports: Record<string, string | { types?: string; default?: string }>;
  peerDependencies: Record<string, string>;
  bin: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Every code subpath the exports map declares, as an app writes it: `eventstore-kit`, `eventstore-kit/memory`, … */
const SPECIFIERS = Object.keys(pkg.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));

/** Peers an app would install (all optional), plus what the type checks need; linked from this repository. */
const LINKED = [...Object.keys(pkg.peerDependencies), '@types/node'];

/** Subpaths that import vitest and so run only inside a vitest run: the conformance suite. */
const RUNNER_ONLY = new Set([`${pkg.name}/conformance`]);
const VITEST_OUTSIDE_RUNNER = 'Vitest failed to access its internal state';

const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

async function run(file: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
let tarball: string;
let app: string;

beforeAll(async () => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'eventstore-kit-pack-'));
  // --ignore-scripts: dist/ is already built (npm test builds first); `prepare` would rebuild it under the feet of
  // the other test files that run the built CLI.
  const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
  });
  tarball = join(dir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);

  app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true }));
  // The kit has no dependencies of its own, so installing the tarball needs no registry.
  await exec('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--no-package-lock'], {
    cwd: app,
  });
  for (const name of LINKED) {
    const target = join(app, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), target, 'dir');
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the build, README and LICENSE, and no source map pointing at unshipped sources', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining(['package/LICENSE', 'package/README.md', 'package/package.json']),
    );
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const installed = join(app, 'node_modules', pkg.name);
    for (const f of files.filter((f) => f.endsWith('.js'))) {
      expect(readFileSync(join(installed, f.slice('package/'.length)), 'utf8')).not.toContain(
        'sourceMappingURL',
      );
    }
  });

  it.each(SPECIFIERS)('%s loads with import and with require, with the same exports', async (specifier) => {
    writeFileSync(
      join(app, 'load.mjs'),
      `const m = await import(${JSON.stringify(specifier)});\nconsole.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()));\n`,
    );
    writeFileSync(
      join(app, 'load.cjs'),
      `const m = require(${JSON.stringify(specifier)});\nconsole.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort()));\n`,
    );
    const esm = await run(process.execPath, ['load.mjs'], app);
    const cjs = await run(process.execPath, ['load.cjs'], app);
    if (RUNNER_ONLY.has(specifier)) {
      // Resolved and loaded as far as vitest, which refuses to be used outside its runner (next test runs it there).
      for (const r of [esm, cjs]) expect(r.stderr).toContain(VITEST_OUTSIDE_RUNNER);
      return;
    }
    expect(esm.stderr).toBe('');
    expect(esm.code).toBe(0);
    expect(cjs.stderr).not.toMatch(/Error/);
    expect(cjs.code).toBe(0);
    const names = JSON.parse(esm.stdout) as string[];
    expect(names.length).toBeGreaterThan(0);
    expect(JSON.parse(cjs.stdout)).toEqual(names);
  });

  it('works end to end from an .mjs and a .cjs script', async () => {
    const body = (load: string) => `${load}
(async () => {
  const store = await kit.createEventStore('memory:');
  await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' });
  const seen = [];
  for await (const e of store.readAll()) seen.push(e.streamId + '@' + e.version + ':' + e.type);
  await store.close();
  console.log(seen.join(','), kit.isEventStoreError(new kit.InvalidArgumentError('x'), 'INVALID_ARGUMENT'));
})();
`;
    writeFileSync(join(app, 'main.mjs'), body(`import * as kit from ${JSON.stringify(pkg.name)};`));
    writeFileSync(join(app, 'main.cjs'), body(`const kit = require(${JSON.stringify(pkg.name)});`));
    for (const script of ['main.mjs', 'main.cjs']) {
      const r = await run(process.execPath, [script], app);
      expect({ script, code: r.code, out: r.stdout.trim() }).toEqual({
        script,
        code: 0,
        out: 'order-1@1:OrderPlaced true',
      });
    }
  });

  it("runs the conformance suite from an .mjs and a .cjs test file in an app's own vitest run", async () => {
    const suite = (load: string, name: string) => `${load}
describeEventStoreConformance({ name: '${name}', create: async () => createMemoryEventStore() });
`;
    writeFileSync(
      join(app, 'suite.test.mjs'),
      suite(
        `import { describeEventStoreConformance } from '${pkg.name}/conformance';\nimport { createMemoryEventStore } from '${pkg.name}/memory';`,
        'esm app',
      ),
    );
    writeFileSync(
      join(app, 'suite.test.cjs'),
      suite(
        `const { describeEventStoreConformance } = require('${pkg.name}/conformance');\nconst { createMemoryEventStore } = require('${pkg.name}/memory');`,
        'cjs app',
      ),
    );
    // A clean environment: the child is an app's own vitest, not a worker of this run.
    const env = Object.fromEntries(
      Object.entries({ ...process.env, NO_COLOR: '1' }).filter(
        ([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && k !== 'FORCE_COLOR',
      ),
    );
    // The project's own test timeout (vitest.config.ts): the machine may be loaded, and vitest's default is 5 s.
    const args = ['run', '--reporter=dot', '--testTimeout=60000'];
    const r = await exec(process.execPath, [join(app, 'node_modules/vitest/vitest.mjs'), ...args], {
      cwd: app,
      env,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout: string; stderr: string }) => ({ ...err, failed: true }));
    expect('failed' in r ? r.stdout + r.stderr : '').toBe('');
    expect(r.stdout).toMatch(/Test Files\s+2 passed \(2\)/);
  }, 120_000);

  it('installs the CLI as a bin', async () => {
    const r = await run(join(app, 'node_modules', '.bin', Object.keys(pkg.bin)[0]!), ['--version'], app);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it.each([
    ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])('types resolve for every subpath with %s resolution', async (name, options) => {
    const imports = SPECIFIERS.map((s, i) => `import * as m${i} from ${JSON.stringify(s)};`).join('\n');
    // .mts: an ES module whatever the scratch app's package.json says, so top-level await is allowed.
    const consumer = `consumer-${name}.mts`;
    writeFileSync(
      join(app, consumer),
      `${imports}
import { createEventStore, type EventStore, type RecordedEvent } from ${JSON.stringify(pkg.name)};
export const all = [${SPECIFIERS.map((_, i) => `m${i}`).join(', ')}];
export const store: EventStore = await createEventStore('memory:');
export const first: RecordedEvent | undefined = undefined;
// @ts-expect-error a URL is a string: proves the types are real, not any
await createEventStore(42);
`,
    );
    const files = [consumer];
    if (name === 'nodenext') {
      // A CommonJS TypeScript file requiring the ESM package (TypeScript 5.8+ models Node's require(esm)).
      writeFileSync(
        join(app, 'consumer.cts'),
        `import kit = require(${JSON.stringify(pkg.name)});\nexport const open: (url: string) => Promise<kit.EventStore> = kit.createEventStore;\n`,
      );
      files.push('consumer.cts');
    }
    writeFileSync(
      join(app, `tsconfig.${name}.json`),
      JSON.stringify({
        compilerOptions: {
          ...options,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files,
      }),
    );
    const r = await run(bin('tsc'), ['-p', `tsconfig.${name}.json`], app);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('passes publint', async () => {
    const r = await run(bin('publint'), ['run', tarball, '--strict'], dir);
    expect(r.stdout + r.stderr).not.toMatch(/warning|error|suggestion/i);
    expect(r.code).toBe(0);
  });

  // esm-only: the package is ESM; CommonJS apps load it through Node's require(esm) (proven above at run time and
  // for TypeScript's nodenext .cts), which attw's node16-from-CJS and node10 columns do not model.
  it('passes Are the Types Wrong (esm-only profile)', async () => {
    const r = await run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
