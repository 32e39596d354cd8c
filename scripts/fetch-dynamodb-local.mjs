#!/usr/bin/env node
// Fetches DynamoDB Local (AWS's official emulator, a Java program) into .cache/dynamodb-local/ once.
//
// The jar and its native libraries come from the npm package amplify-dynamodb-simulator, which ships them under
// emulator/. We `npm pack` the tarball into a cache folder and extract only package/emulator, so that neither the
// package nor its dependency tree is installed. Prints the emulator folder on stdout.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned: bump deliberately, and re-run the adapter tests and the benchmark. */
export const SIMULATOR_VERSION = '2.9.30';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, '.cache');
export const emulatorDir = join(cacheDir, 'dynamodb-local', SIMULATOR_VERSION);

export function fetchDynamoDBLocal() {
  const jar = join(emulatorDir, 'DynamoDBLocal.jar');
  if (existsSync(jar)) return emulatorDir;
  const packDir = join(cacheDir, 'npm-pack');
  mkdirSync(packDir, { recursive: true });
  const spec = `amplify-dynamodb-simulator@${SIMULATOR_VERSION}`;
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', packDir, '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = join(packDir, out.trim().split('\n').at(-1));
  const staging = `${emulatorDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // Only package/emulator: the jar, DynamoDBLocal_lib (native sqlite4java libraries) and their licences.
  execFileSync('tar', ['-xzf', tarball, '-C', staging, '--strip-components=2', 'package/emulator'], {
    stdio: 'inherit',
  });
  if (!existsSync(join(staging, 'DynamoDBLocal.jar'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`${spec} has no emulator/DynamoDBLocal.jar`);
  }
  mkdirSync(dirname(emulatorDir), { recursive: true });
  try {
    renameSync(staging, emulatorDir);
  } catch (err) {
    // Another process won the race; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(jar)) throw err;
  }
  rmSync(tarball, { force: true });
  return emulatorDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${fetchDynamoDBLocal()}\n`);
}
