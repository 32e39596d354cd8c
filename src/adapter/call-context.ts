/**
 * What the base hands each protected method of an adapter for one call: when the call must be answered, and a
 * signal that aborts when that moment passes. Pass `signal` on to drivers that accept one (the AWS SDK's
 * `abortSignal`), or the time left (`deadline - Date.now()`) to drivers that take a timeout, so that the backend
 * stops working on a call its caller no longer waits for.
 *
 * The base enforces the deadline whatever the adapter does: when it passes, the caller gets `TIMEOUT` and the
 * signal aborts, with the {@link TimeoutError} as its `reason`.
 */
export interface CallContext {
  /**
   * Aborts when the call's deadline passes. For a read it also aborts when the iteration ends early (the consumer
   * stopped, or the store closed), so a driver can cancel what it still streams.
   */
  readonly signal: AbortSignal;
  /**
   * When the call must be answered, in `Date.now()` milliseconds. For a read, the deadline of the page being
   * pulled: it moves forward with each pull, since a consumer may take as long as it likes between pages.
   */
  readonly deadline: number;
}

/** The base's own call context: the controller is created only when an adapter asks for the signal. */
export class Call implements CallContext {
  deadline: number;
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(deadline: number) {
    this.deadline = deadline;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
