import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

/** Each backend driver, and the only adapter folder allowed to import it. */
const DRIVERS: Array<[RegExp, string]> = [
  [/^(pg|pg-[a-z-]+|@electric-sql\/pglite)(\/|$)/, 'src/adapters/postgres'],
  [/^@aws-sdk\//, 'src/adapters/dynamodb'],
  [/^(@eventstore\/db-client|@kurrent\/|@grpc\/)/, 'src/adapters/eventstoredb'],
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

it('imports each backend driver only from its own adapter folder, so one backend never loads another', () => {
  const offenders: string[] = [];
  for (const file of files('src')) {
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) {
      const specifier = m[1]!;
      for (const [pattern, home] of DRIVERS) {
        if (pattern.test(specifier) && !relative(home, file).match(/^[^.]/))
          offenders.push(`${file} -> ${specifier}`);
      }
    }
  }
  expect(offenders).toEqual([]);
});
