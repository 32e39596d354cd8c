/** Where progress goes: a terminal gets a bar redrawn in place, anything else plain lines. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** What is counted, e.g. 'copy'. */
  label: string;
  /** The number of items expected, for the percentage and the ETA; `undefined` when unknown. */
  total: number | undefined;
  /** Milliseconds between two plain lines (not a terminal). Defaults to 5 s. */
  lineEveryMs?: number;
  /** Milliseconds between two redraws of the bar. Defaults to 100 ms. */
  redrawEveryMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** `1234567` → `1,234,567`. */
function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds as `1:02:03`, `2:03` or `3 s`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`;
  if (m > 0) return `${m}:${String(r).padStart(2, '0')}`;
  return `${r} s`;
}

/**
 * A progress report with rate and ETA. On a terminal, one line redrawn in place at most every `redrawEveryMs`:
 * `copy [██████░░░░] 60% 60,000/100,000 · 2,345 ev/s · ETA 17 s`; otherwise a plain line every `lineEveryMs`
 * (`copy: 60,000/100,000 events (60%), 2,345 events/s, ETA 17 s`), so a log gets a few lines, not thousands.
 * The rate is the average since the start: steadier than an instant rate for an ETA.
 */
export class Progress {
  readonly #sink: ProgressSink;
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #now: () => number;
  readonly #every: number;
  readonly #start: number;
  #last = Number.NEGATIVE_INFINITY;
  #done = 0;
  #drawn = false;

  constructor(sink: ProgressSink, options: ProgressOptions) {
    this.#sink = sink;
    this.#label = options.label;
    this.#total = options.total;
    this.#now = options.now ?? Date.now;
    this.#every = sink.isTTY ? (options.redrawEveryMs ?? 100) : (options.lineEveryMs ?? 5_000);
    this.#start = this.#now();
  }

  /** Records `done` items; draws when the last drawing is old enough. */
  update(done: number): void {
    this.#done = done;
    const now = this.#now();
    if (now - this.#last < this.#every) return;
    this.#last = now;
    this.#draw(now);
  }

  /** Draws the final state and ends the bar's line. */
  finish(): void {
    const now = this.#now();
    this.#draw(now);
    if (this.#sink.isTTY) this.#sink.write('\n');
    this.#drawn = false;
  }

  /** The current line's text: the bar on a terminal, the plain line otherwise. */
  render(now = this.#now()): string {
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const total = this.#total;
    const fraction = total === undefined || total === 0 ? undefined : Math.min(1, this.#done / total);
    const eta =
      total === undefined
        ? undefined
        : rate > 0
          ? duration((total - this.#done) / rate)
          : duration(Number.NaN);
    const percent = fraction === undefined ? '' : `${Math.floor(fraction * 100)}%`;
    const of = total === undefined ? count(this.#done) : `${count(this.#done)}/${count(total)}`;
    if (!this.#sink.isTTY) {
      return `${this.#label}: ${of} events${percent ? ` (${percent})` : ''}, ${count(rate)} events/s${eta ? `, ETA ${eta}` : ''}`;
    }
    const tail = ` ${percent ? `${percent.padStart(4)} ` : ''}${of} · ${count(rate)} ev/s${eta ? ` · ETA ${eta}` : ''}`;
    const width = Math.max(
      10,
      Math.min(40, (this.#sink.columns ?? 80) - this.#label.length - tail.length - 4),
    );
    const filled = fraction === undefined ? 0 : Math.round(fraction * width);
    return `${this.#label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}]${tail}`;
  }

  #draw(now: number): void {
    const line = this.render(now);
    if (this.#sink.isTTY) {
      this.#sink.write(`\r${line}\u001b[K`);
      this.#drawn = true;
    } else {
      this.#sink.write(`${line}\n`);
    }
  }

  /** Whether the bar's line is open (a note written now should start on a new line). */
  get drawn(): boolean {
    return this.#drawn;
  }
}
