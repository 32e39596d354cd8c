import { InvalidArgumentError, type RecordedEvent } from '../contract/index.js';

/**
 * One physical copy of a projection's read model. A projection writes generation 1 first; each rebuild writes the
 * next generation beside the one readers see, then switches readers over and drops the old one.
 */
export interface ReadModelTarget {
  /** The projection's name. */
  readonly projection: string;
  /** 1, then +1 per rebuild. */
  readonly generation: number;
  /** `<projection>_v<generation>`, e.g. `order_summaries_v2`: a name for the generation's table, index or key prefix. */
  readonly name: string;
}

/** Whether a handler's writes commit with the checkpoint, or may be repeated after a crash. */
export type ProjectionDelivery = 'exactly-once' | 'at-least-once';

/** What a projection handler receives beside the event. */
export interface ProjectionContext<Db> {
  /**
   * Where to write. `'exactly-once'`: the read model's view of the event store's own transaction (see
   * {@link ReadModel.inTransaction}), committed together with the checkpoint. `'at-least-once'`: the read-model
   * client the projection was started with.
   */
  readonly db: Db;
  /** The generation being written: write to `target.name`, never to the name readers use. */
  readonly target: ReadModelTarget;
  /**
   * `'at-least-once'` means the handler may see an event again after a crash or a lost lease (up to one
   * checkpoint interval), so it must be idempotent: keep the last applied `event.version` (or `event.position`)
   * per row and skip an event at or below it, or write only absolute values (upserts), never increments.
   */
  readonly delivery: ProjectionDelivery;
}

/** Applies one event to the read model. Throwing stops the projection (its `done` rejects), before the event. */
export type ProjectionHandler<Db> = (
  event: RecordedEvent,
  context: ProjectionContext<Db>,
) => Promise<void> | void;

/**
 * The read model's lifecycle, kept in the read model's own store: the projection never adds tables to the event
 * store. `Db` is the client the projection is started with (e.g. {@link SqlClient}).
 */
export interface ReadModel<Db> {
  /** Creates an empty read model for `target`, if it does not exist (a restart calls it again). */
  create(db: Db, target: ReadModelTarget): Promise<void>;
  /** Removes `target`'s read model and everything in it, if it exists: the clear hook of a rebuild. */
  drop(db: Db, target: ReadModelTarget): Promise<void>;
  /** Makes `target` the generation readers see, in one atomic step (e.g. repoints a view), and records it. */
  activate(db: Db, target: ReadModelTarget): Promise<void>;
  /** The generation readers see now, or `undefined` before the first `activate`. */
  active(db: Db, projection: string): Promise<number | undefined>;
  /**
   * Present when the read model can live in the event store's own database: turns the store's transaction
   * (`SubscriptionContext.tx`) into a `Db` whose writes commit with the checkpoint.
   */
  inTransaction?(tx: unknown): Db;
}

/** A projection: a name, the handlers of the event types it reads, and its read model's lifecycle. */
export interface Projection<Db> {
  /** Names the read model and the subscriptions: a non-empty string of letters, digits and `_`, at most 100. */
  readonly name: string;
  /** The event types it handles, from the keys of `handlers`: the subscription reads only these. */
  readonly eventTypes: readonly string[];
  readonly handlers: Readonly<Record<string, ProjectionHandler<Db>>>;
  readonly readModel: ReadModel<Db>;
}

/** What {@link defineProjection} takes. */
export interface ProjectionDefinition<Db> {
  name: string;
  /** One handler per event type; the keys are the event types the projection subscribes to. */
  handlers: Record<string, ProjectionHandler<Db>>;
  readModel: ReadModel<Db>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const HOOKS = ['create', 'drop', 'activate', 'active'] as const;

/**
 * Checks and freezes a projection. A name is an identifier (it names SQL tables and views), and it must not
 * change while the projection is deployed: the subscription and the read model are found by it.
 *
 * @example
 * const summaries = defineProjection<SqlClient>({
 *   name: 'order_summaries',
 *   readModel: sqlReadModel({ columns: 'order_id text PRIMARY KEY, status text NOT NULL, version int NOT NULL' }),
 *   handlers: {
 *     OrderPlaced: (e, { db, target }) => db.query(`INSERT INTO ${target.name} …`, [...]),
 *   },
 * });
 */
export function defineProjection<Db>(definition: ProjectionDefinition<Db>): Projection<Db> {
  if (typeof definition !== 'object' || definition === null) {
    throw new InvalidArgumentError('the projection definition must be an object', { argument: 'projection' });
  }
  const { name, handlers, readModel } = definition;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidArgumentError(
      'projection.name must be 1 to 100 letters, digits or _, not starting with a digit',
      { argument: 'projection.name' },
    );
  }
  if (typeof handlers !== 'object' || handlers === null || Object.keys(handlers).length === 0) {
    throw new InvalidArgumentError('projection.handlers must map at least one event type to a function', {
      argument: 'projection.handlers',
    });
  }
  for (const [type, handler] of Object.entries(handlers)) {
    if (type === '' || typeof handler !== 'function') {
      throw new InvalidArgumentError(
        `projection.handlers['${type}'] must be a function of a non-empty type`,
        {
          argument: 'projection.handlers',
        },
      );
    }
  }
  if (typeof readModel !== 'object' || readModel === null) {
    throw new InvalidArgumentError('projection.readModel must be an object of hooks', {
      argument: 'projection.readModel',
    });
  }
  for (const hook of HOOKS) {
    if (typeof readModel[hook] !== 'function') {
      throw new InvalidArgumentError(`projection.readModel.${hook} must be a function`, {
        argument: `projection.readModel.${hook}`,
      });
    }
  }
  return Object.freeze({
    name,
    eventTypes: Object.freeze(Object.keys(handlers)),
    handlers: Object.freeze({ ...handlers }),
    readModel,
  });
}

/** The read model copy of `generation`. */
export function targetOf(projection: string, generation: number): ReadModelTarget {
  return Object.freeze({ projection, generation, name: `${projection}_v${generation}` });
}

/** The subscription that feeds `generation`: a rebuild's new generation starts from a fresh checkpoint. */
export function subscriptionNameOf(projection: string, generation: number): string {
  return `projection:${projection}:v${generation}`;
}
