import {
  type CheckpointPolicy,
  type EventStore,
  InvalidArgumentError,
  type RecordedEvent,
  type Subscription,
  type SubscriptionRetry,
} from '../contract/index.js';
import {
  type Projection,
  type ProjectionDelivery,
  type ReadModelTarget,
  subscriptionNameOf,
  targetOf,
} from './projection.js';
import { measureLag, type ProjectionStatus } from './status.js';

/** What {@link startProjection} takes beside the store and the projection. */
export interface StartProjectionOptions<Db> {
  /** The read model's client: the hooks always use it, and the handlers too unless the delivery is exactly-once. */
  db: Db;
  /**
   * The read model lives in the event store's own database (the same PostgreSQL database, or PGlite instance):
   * when the adapter declares `capabilities.transactionalSubscriptions` and the read model has
   * {@link ReadModel.inTransaction}, each event is handled in the store's transaction that also saves the
   * checkpoint, so the read model and the checkpoint commit together (exactly-once). Otherwise, and by default,
   * at least once.
   */
  sameDatabase?: boolean;
  /** How often the checkpoint is saved (at-least-once only): fewer saves, more events replayed after a crash. */
  checkpoint?: CheckpointPolicy;
  pageSize?: number;
  leaseMs?: number;
  retry?: SubscriptionRetry;
}

/** A projection at work. */
export interface RunningProjection {
  readonly name: string;
  readonly delivery: ProjectionDelivery;
  /** The generation being written and read now (after a rebuild, the new one). */
  readonly target: ReadModelTarget;
  /** Resolves once the read model has caught up with the events stored when it (or its last rebuild) started. */
  readonly caughtUp: Promise<void>;
  /** Resolves after `stop()`; rejects with a handler's error or a backend failure the retries did not overcome. */
  readonly done: Promise<void>;
  /**
   * Rebuilds the read model without a gap for readers: a new generation is created (first cleared, through the
   * `drop` hook, of whatever an interrupted rebuild left), fed from the first event on a new subscription whose
   * checkpoint starts empty, while the current generation keeps serving and following new events; once the new
   * one has caught up, readers are switched to it (`activate`), the old subscription stops and its checkpoint and
   * read model are dropped. Resolves then. One rebuild at a time.
   */
  rebuild(): Promise<void>;
  /** The lag, in events and in seconds behind the newest event of the projection's types. */
  status(): Promise<ProjectionStatus>;
  /** Stops (the checkpoint is saved after the handler in flight). Idempotent. */
  stop(): Promise<void>;
}

const OPTION_KEYS = new Set(['db', 'sameDatabase', 'checkpoint', 'pageSize', 'leaseMs', 'retry']);

/** One generation's subscription, with the last position it handled in this process. */
interface Feed {
  target: ReadModelTarget;
  subscription: Subscription;
  handled: bigint | undefined;
  /** Called after each handled event. */
  progress: Array<() => void>;
}

/** Resolves once `f` has handled the event at `goal` (or past it); rejects if its subscription ends first. */
async function reach(f: Feed, goal: bigint | undefined): Promise<void> {
  if (goal === undefined) return;
  let ended = false;
  const end = f.subscription.done.then(() => {
    ended = true;
  });
  end.catch(() => {});
  while ((f.handled ?? 0n) < goal) {
    await Promise.race([new Promise<void>((resolve) => f.progress.push(resolve)), end]);
    if (ended && (f.handled ?? 0n) < goal)
      throw new Error(`${f.subscription.name} stopped before catching up`);
  }
}

/**
 * Starts a projection on a named subscription of the event types it handles. The first start creates and
 * activates generation 1 of the read model; a restart resumes the active generation after its checkpoint. Like
 * every named subscription, one instance per projection handles events at a time; the others stand by.
 *
 * @example
 * const running = await startProjection(store, orderSummaries, { db: sqlClient(pool) });
 * await running.caughtUp;
 */
export async function startProjection<Db>(
  store: EventStore,
  projection: Projection<Db>,
  options: StartProjectionOptions<Db>,
): Promise<RunningProjection> {
  checkOptions(options);
  const { db, sameDatabase, ...subscribeOptions } = options;
  const model = projection.readModel;
  const delivery: ProjectionDelivery =
    sameDatabase === true &&
    store.capabilities.transactionalSubscriptions === true &&
    model.inTransaction !== undefined
      ? 'exactly-once'
      : 'at-least-once';

  const feed = (target: ReadModelTarget): Feed => {
    const f: Feed = {
      target,
      handled: undefined,
      progress: [],
      subscription: undefined as unknown as Subscription,
    };
    const handle = async (event: RecordedEvent, tx: unknown): Promise<void> => {
      const handler = projection.handlers[event.type];
      if (handler !== undefined) {
        const writer = delivery === 'exactly-once' ? model.inTransaction!(tx) : db;
        await handler(event, { db: writer, target, delivery });
      }
      f.handled = event.position;
      for (const notify of f.progress.splice(0)) notify();
    };
    f.subscription = store.subscribe({
      ...subscribeOptions,
      name: subscriptionNameOf(projection.name, target.generation),
      filter: { eventTypes: [...projection.eventTypes] },
      from: 'start',
      transactional: delivery === 'exactly-once',
      handler: (event, context) => handle(event, context.tx),
    });
    return f;
  };

  let generation = await model.active(db, projection.name);
  if (generation === undefined) {
    generation = 1;
    await model.create(db, targetOf(projection.name, 1));
    await model.activate(db, targetOf(projection.name, 1));
  } else {
    await model.create(db, targetOf(projection.name, generation));
  }
  let current = feed(targetOf(projection.name, generation));
  let rebuilding: Promise<void> | undefined;
  let stopped = false;
  /** The new generation's feed while a rebuild runs: `stop()` stops it too. */
  let replaying: Feed | undefined;
  let caughtUp = current.subscription.caughtUp;
  let resolveDone!: () => void;
  let rejectDone!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {});
  // `done` follows whichever subscription is current: a rebuild's switch hands it over.
  const follow = (f: Feed): void => {
    f.subscription.done.then(
      () => {
        if (current === f) resolveDone();
      },
      (err: unknown) => {
        if (current === f) rejectDone(err);
      },
    );
  };
  follow(current);

  const rebuild = async (): Promise<void> => {
    if (stopped) throw new InvalidArgumentError('the projection is stopped', { argument: 'rebuild' });
    const old = current;
    const next = targetOf(projection.name, old.target.generation + 1);
    await store.checkpoints.delete(subscriptionNameOf(projection.name, next.generation));
    await model.drop(db, next);
    await model.create(db, next);
    const fresh = feed(next);
    replaying = fresh;
    try {
      await fresh.subscription.caughtUp;
      // The old generation kept following while the new one replayed: switch once the new one is where it is.
      const oldName = subscriptionNameOf(projection.name, old.target.generation);
      await reach(fresh, max(await store.checkpoints.load(oldName), old.handled));
      if (stopped) throw new InvalidArgumentError('the projection stopped during the rebuild', {});
    } catch (err) {
      await fresh.subscription.stop();
      throw err;
    } finally {
      replaying = undefined;
    }
    await model.activate(db, next);
    current = fresh;
    caughtUp = fresh.subscription.caughtUp;
    follow(fresh);
    await old.subscription.stop();
    await store.checkpoints.delete(subscriptionNameOf(projection.name, old.target.generation));
    await model.drop(db, old.target);
  };

  return {
    name: projection.name,
    delivery,
    get target() {
      return current.target;
    },
    get caughtUp() {
      return caughtUp;
    },
    done,
    rebuild() {
      rebuilding ??= rebuild().finally(() => {
        rebuilding = undefined;
      });
      return rebuilding;
    },
    async status() {
      const f = current;
      const name = subscriptionNameOf(projection.name, f.target.generation);
      const stored = await store.checkpoints.load(name);
      const position = max(stored, f.handled);
      const lag = await measureLag(store, projection.eventTypes, position);
      return {
        projection: projection.name,
        generation: f.target.generation,
        subscription: name,
        position,
        ...lag,
      };
    },
    async stop() {
      stopped = true;
      await replaying?.subscription.stop();
      await rebuilding?.catch(() => {});
      await current.subscription.stop();
    },
  };
}

/**
 * The status of a projection from outside the process that runs it (an operator's command, a health check): the
 * stored checkpoint of its active generation, which trails the running instance by up to one checkpoint interval.
 */
export async function projectionStatus<Db>(
  store: EventStore,
  projection: Projection<Db>,
  db: Db,
): Promise<ProjectionStatus | undefined> {
  const generation = await projection.readModel.active(db, projection.name);
  if (generation === undefined) return undefined;
  const name = subscriptionNameOf(projection.name, generation);
  const position = await store.checkpoints.load(name);
  const lag = await measureLag(store, projection.eventTypes, position);
  return { projection: projection.name, generation, subscription: name, position, ...lag };
}

function max(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

function checkOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || !('db' in options)) {
    throw new InvalidArgumentError('options must be an object with the read model client as db', {
      argument: 'options',
    });
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new InvalidArgumentError(`Unknown option '${key}'`, { argument: `options.${key}` });
    }
  }
}
