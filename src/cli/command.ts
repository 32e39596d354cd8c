import type { EventStore } from '../contract/index.js';
import type { Output } from './output.js';
import type { OptionSpec, ParsedArgs } from './usage.js';

/** What a command does once its arguments are valid and its store is open. */
export interface Action {
  (store: EventStore, out: Output): Promise<void>;
  /** For a writing command: how to retry safely when the outcome is unknown (a lost connection). */
  retryHint?: string;
}

/**
 * One CLI command. `parse` checks every argument (and reads stdin when the command takes input) and raises
 * `UsageError` for a mistake, before any store is opened; it returns the action to run on the store.
 */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The command's synopsis and options, printed by `--help` and after a usage error. */
  readonly usage: string;
  readonly options: OptionSpec;
  /** Whether the command writes: a lost connection then leaves its outcome unknown. */
  readonly writes: boolean;
  /** What a writing command does, for that message: 'the append' unless given ('the delete', …). */
  readonly writeName?: string;
  /** The store when neither --url nor EVENT_STORE_URL is given; the CLI's persisted PGlite otherwise. */
  readonly defaultUrl?: string;
  parse(args: ParsedArgs): Action | Promise<Action>;
}

/** What a command that opens its own stores does once its arguments are valid; resolves to the exit code. */
export type StandaloneAction = (out: Output) => Promise<number>;

/**
 * A command that opens its stores itself (`copy` opens two, `conformance` opens one per test): `--url` and
 * EVENT_STORE_URL are its own business. Its arguments are checked in `parse`, before anything is opened.
 */
export interface StandaloneCommand {
  readonly kind: 'standalone';
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  parse(args: ParsedArgs): StandaloneAction | Promise<StandaloneAction>;
}
