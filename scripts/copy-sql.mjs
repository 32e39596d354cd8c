// Copies every .sql file under src/ to the same place under dist/src/, beside the compiled module that reads it
// (the PostgreSQL migrations loader finds its files relative to its own URL). Run by `npm run build` after tsc.
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let copied = 0;
for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.sql')) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(root, 'dist', from.slice(root.length + 1));
  cpSync(from, to);
  copied++;
}
if (copied === 0) throw new Error('copy-sql: no .sql file found under src/');
console.log(`copy-sql: ${copied} .sql files copied into dist/src`);
