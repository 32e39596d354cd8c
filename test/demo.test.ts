import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('npm run demo runs the order example end to end on the embedded default', async () => {
  const env = { ...process.env };
  delete env.EVENT_STORE_URL;
  const { stdout } = await run('npm', ['run', '--silent', 'demo'], { env });
  expect(stdout).toContain("eventstore-kit demo on a 'pglite' store");
  expect(stdout).toMatch(/placed order-\S+ -> version 1/);
  expect(stdout).toMatch(/: won, stream at version 2/);
  expect(stdout).toMatch(/: lost the race \(WRONG_EXPECTED_VERSION\)/);
  expect(stdout).toContain('shipped at version 3; the retry returned version 3');
  expect(stdout).toContain('readAll saw 3 events of this order');
});
