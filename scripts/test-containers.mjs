#!/usr/bin/env node
// npm run test:containers [-- vitest arguments]: starts the docker-compose services (PostgreSQL, DynamoDB Local,
// KurrentDB), waits for their health checks, and runs the whole suite against them through the EVENTSTORE_TEST_*
// variables the rig reads (test/support/*.ts). CI=true, so a service the suite cannot reach fails the run instead
// of being skipped. The services stay up afterwards for the next run; `docker compose down` stops them.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the compose file publishes each service (docker-compose.yml). */
export const CONTAINER_URLS = {
  EVENTSTORE_TEST_POSTGRES_URL: 'postgres://eventstore:eventstore@127.0.0.1:5432/eventstore',
  EVENTSTORE_TEST_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
  EVENTSTORE_TEST_ESDB_URL: 'esdb://127.0.0.1:2113?tls=false',
};

function quiet(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

function fail(line) {
  console.error(line);
  process.exit(1);
}

if (!quiet('docker', ['info'])) {
  fail(
    'test:containers needs a container engine: `docker info` cannot reach one here (start Docker, or Podman with its Docker socket, and run it again).',
  );
}
if (!quiet('docker', ['compose', 'version'])) {
  fail('test:containers needs Docker Compose v2 (`docker compose`), which this docker client does not have.');
}
const up = spawnSync('docker', ['compose', 'up', '-d', '--wait'], { cwd: root, stdio: 'inherit' });
if (up.status !== 0) fail('test:containers: `docker compose up -d --wait` failed (see above).');

const tests = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...CONTAINER_URLS, CI: 'true' },
});
console.log('The compose services are still up; `docker compose down` stops them.');
process.exit(tests.status ?? 1);
