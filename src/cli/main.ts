/**
 * The CLI's dispatcher: global options, then the command, whose arguments are checked before any store is opened.
 * Exit codes: 0 ok, 1 operational failure (the store failed or is unreachable), 2 usage (the command line is wrong;
 * nothing was opened). Adapters load only when a store is opened, so --help and usage errors never load a driver.
 */
import { CLI_DEFAULT_URL, describeUrl, resolveEventStoreUrl } from '../config.js';
import { createEventStore, type EventStore, isEventStoreError } from '../index.js';
import type { Action, Command, StandaloneAction, StandaloneCommand } from './command.js';
import { appendCommand } from './commands/append.js';
import { benchCommand } from './commands/bench.js';
import { conformanceCommand } from './commands/conformance.js';
import { copyCommand } from './commands/copy.js';
import { deleteCommand } from './commands/delete.js';
import { demoCommand } from './commands/demo.js';
import { initCommand } from './commands/init.js';
import { metadataCommand } from './commands/metadata.js';
import { readCommand } from './commands/read.js';
import { readAllCommand } from './commands/read-all.js';
import { retentionCommand } from './commands/retention.js';
import { statsCommand } from './commands/stats.js';
import { versionCommand } from './commands/stream-version.js';
import { tailCommand } from './commands/tail.js';
import { truncateCommand } from './commands/truncate.js';
import { describeFailure } from './errors.js';
import { consoleOutput } from './output.js';
import { packageVersion } from './package-version.js';
import { parseCommandArgs, UsageError } from './usage.js';

export const COMMANDS: readonly (Command | StandaloneCommand)[] = [
  initCommand,
  appendCommand,
  readCommand,
  readAllCommand,
  tailCommand,
  statsCommand,
  versionCommand,
  deleteCommand,
  truncateCommand,
  metadataCommand,
  retentionCommand,
  demoCommand,
  copyCommand,
  conformanceCommand,
  benchCommand,
];

const USAGE = `usage: eventstore-kit [--url URL] <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(13)}${c.summary}`).join('\n')}

options:
  --url URL    the store: memory:, pglite:DIR, postgres://…, dynamodb://TABLE?…, esdb://…
               (default: EVENT_STORE_URL, else ${CLI_DEFAULT_URL}, an embedded PostgreSQL kept in that directory)
  --json       one JSON object per line, for scripts
  -h, --help   help; 'eventstore-kit <command> --help' for a command's options
  --version    the kit's version

exit codes: 0 ok, 1 the store failed or is unreachable, 2 the command line is wrong (nothing was opened)`;

interface Global {
  url?: string;
  json: boolean;
  help: boolean;
  version: boolean;
  command?: string;
  rest: string[];
}

/** Reads the options before the command (--url, --json, --help, --version); everything after it is the command's. */
function splitGlobal(argv: string[]): Global {
  const g: Global = { json: false, help: false, version: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') g.help = true;
    else if (arg === '--version') g.version = true;
    else if (arg === '--json') g.json = true;
    else if (arg === '--url') {
      const value = argv[++i];
      if (value === undefined) throw new UsageError("option '--url' needs a value");
      g.url = value;
    } else if (arg.startsWith('--url=')) g.url = arg.slice('--url='.length);
    else if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}' before the command`);
    else {
      g.command = arg;
      g.rest = argv.slice(i + 1);
      break;
    }
  }
  return g;
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let command: Command | StandaloneCommand | undefined;
  let action: Action;
  let url: string;
  let json = false;
  try {
    const g = splitGlobal(argv);
    if (g.version && g.command === undefined) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    if (g.command === undefined || g.command === 'help') {
      const topic = g.command === 'help' ? COMMANDS.find((c) => c.name === g.rest[0]) : undefined;
      process.stdout.write(`${topic ? `usage: ${topic.usage}` : USAGE}\n`);
      return g.help || g.command === 'help' ? 0 : 2;
    }
    command = COMMANDS.find((c) => c.name === g.command);
    if (command === undefined) {
      throw new UsageError(
        `unknown command '${g.command}'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`,
      );
    }
    const parsed = parseCommandArgs(command.name, g.rest, command.options);
    if (g.help || parsed.values.help) {
      process.stdout.write(`usage: ${command.usage}\n`);
      return 0;
    }
    json = g.json || parsed.values.json === true;
    if ('kind' in command) {
      const standalone: StandaloneAction = await command.parse(parsed);
      return await standalone(consoleOutput(json, command.name));
    }
    const given = typeof parsed.values.url === 'string' ? parsed.values.url : g.url;
    url = resolveEventStoreUrl(given, command.defaultUrl ?? CLI_DEFAULT_URL);
    action = await command.parse(parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const cmd = err.command ?? command?.name;
    process.stderr.write(
      `error: ${err.message}\n${cmd ? `usage: ${COMMANDS.find((c) => c.name === cmd)?.usage.split('\n')[0]}\nsee 'eventstore-kit ${cmd} --help'` : "see 'eventstore-kit --help'"}\n`,
    );
    return 2;
  }

  const scheme = describeUrl(url);
  const out = consoleOutput(json, scheme);
  if (scheme === 'memory') {
    out.note('note: memory: keeps nothing; what this command writes is gone when it exits');
  }
  let store: EventStore | undefined;
  try {
    store = await createEventStore(url);
    await action(store, out);
    return 0;
  } catch (err) {
    process.stderr.write(
      `${describeFailure(err, scheme, command.writes && store !== undefined, action.retryHint, command.writeName)}\n`,
    );
    return isEventStoreError(err, 'INVALID_ARGUMENT') ? 2 : 1;
  } finally {
    await store?.close().catch(() => {});
  }
}
