import { spawn } from 'node:child_process';
import { expect, inject, test } from 'vitest';

/**
 * The rig must never turn a failed run into a green one: a run of the project's own vitest configuration (global
 * setup with its real servers, reporters) over one failing test must exit non-zero and count the failure.
 */
test('a failing test makes a run of the project configuration exit non-zero', async () => {
  // Reuse this run's DynamoDB Local, so the nested run starts no second JVM; it starts everything else itself.
  const dynamodb = inject('dynamodbEndpoint');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.VITEST;
  delete env.VITEST_POOL_ID;
  delete env.VITEST_WORKER_ID;
  if (!dynamodb.startsWith('unavailable:')) env.EVENTSTORE_TEST_DYNAMODB_ENDPOINT = dynamodb;
  const child = spawn(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/rig/fixtures/vitest.fixture.config.ts'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(output).toMatch(/^tests: 0 passed, 1 failed, 0 skipped$/m);
  expect(code).not.toBe(0);
}, 120_000);
