import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root (tests run from it). */
export const ROOT = resolve(import.meta.dirname, '../..');

/** The built CLI, as the package's bin runs it. */
export const BUILT_CLI = join(ROOT, 'dist/src/cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, d.name);
    newest = Math.max(newest, d.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Fails with the command to run when dist/ is missing or older than src/: the package and CLI tests exercise
 * what is shipped, and `npm test` builds before it runs them.
 */
export function assertBuilt(): void {
  if (!existsSync(BUILT_CLI)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  if (newestMtime(join(ROOT, 'src')) > statSync(BUILT_CLI).mtimeMs)
    throw new Error('dist/ is older than src/: run `npm run build` first (npm test does)');
}
