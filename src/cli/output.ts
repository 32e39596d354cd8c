import type { RecordedEvent } from '../contract/index.js';

/** Where a command writes: stdout for results, stderr for notes. `json` asks for one JSON object per line. */
export interface Output {
  readonly json: boolean;
  /** The store's scheme (`pglite`, `postgres`, …), for messages: never the URL, which may hold a password. */
  readonly scheme: string;
  /** One result line on stdout. */
  line(text: string): void;
  /** One JSON object per line on stdout; bigints become strings. */
  jsonLine(value: unknown): void;
  /** A note for people on stderr (never part of the result). */
  note(text: string): void;
}

export function consoleOutput(json: boolean, scheme: string): Output {
  return {
    json,
    scheme,
    line: (text) => process.stdout.write(`${text}\n`),
    jsonLine: (value) => process.stdout.write(`${toJson(value)}\n`),
    note: (text) => process.stderr.write(`${text}\n`),
  };
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Rows are flushed in blocks so a large read prints as it goes; a column only ever widens. */
const BLOCK = 200;

/**
 * A plain-text table for people: aligned columns, the last column cut to the terminal's width (or 100 characters
 * when stdout is not a terminal).
 */
export class Table {
  readonly #headers: string[];
  readonly #write: (text: string) => void;
  readonly #widths: number[];
  #rows: string[][] = [];
  #printedHeader = false;
  #count = 0;

  constructor(headers: string[], write: (text: string) => void) {
    this.#headers = headers;
    this.#write = write;
    this.#widths = headers.map((h) => h.length);
  }

  get count(): number {
    return this.#count;
  }

  add(row: string[]): void {
    this.#rows.push(row);
    this.#count++;
    if (this.#rows.length >= BLOCK) this.flush();
  }

  flush(): void {
    const last = this.#headers.length - 1;
    for (const row of this.#rows) {
      for (let i = 0; i < last; i++) this.#widths[i] = Math.max(this.#widths[i]!, row[i]!.length);
    }
    const used = this.#widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0);
    const room = Math.max(20, (process.stdout.isTTY ? process.stdout.columns : 100 + used) - used);
    const format = (row: string[]) =>
      row
        .map((cell, i) => (i === last ? cut(cell, room) : cell.padEnd(this.#widths[i]!)))
        .join('  ')
        .trimEnd();
    if (!this.#printedHeader) {
      this.#write(format(this.#headers));
      this.#printedHeader = true;
    }
    for (const row of this.#rows) this.#write(format(row));
    this.#rows = [];
  }
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** The columns of an event in a table. */
export function eventRow(e: RecordedEvent): string[] {
  const meta = Object.keys(e.metadata).length > 0 ? ` meta=${JSON.stringify(e.metadata)}` : '';
  return [
    e.position.toString(),
    e.streamId,
    String(e.version),
    e.type,
    e.createdAt.toISOString(),
    `${JSON.stringify(e.data)}${meta}`,
  ];
}

export const EVENT_HEADERS = ['POSITION', 'STREAM', 'VERSION', 'TYPE', 'CREATED', 'DATA'];
