import type { ReadModel, ReadModelTarget } from './projection.js';

/**
 * Read models in this process's memory: one map of rows per generation, and which generation readers see. For
 * tests and prototypes; a handler writes `db.table(target).set(key, row)`, a reader calls `db.view(name)`.
 */
export class MemoryReadModelStore<Row> {
  readonly #tables = new Map<string, Map<string, Row>>();
  readonly #active = new Map<string, number>();

  /** The rows of `target`'s generation, for a handler to write. Throws if the generation was not created. */
  table(target: ReadModelTarget): Map<string, Row> {
    const rows = this.#tables.get(target.name);
    if (rows === undefined) throw new Error(`The read model ${target.name} does not exist`);
    return rows;
  }

  /** The rows readers see for `projection`: its active generation's (empty before the first activation). */
  view(projection: string): ReadonlyMap<string, Row> {
    const generation = this.#active.get(projection);
    return (
      (generation === undefined ? undefined : this.#tables.get(`${projection}_v${generation}`)) ?? new Map()
    );
  }

  /** The names of the generations that exist now, e.g. `['orders_v2']`. */
  generations(): string[] {
    return [...this.#tables.keys()];
  }

  /** @internal the hooks of {@link memoryReadModel}. */
  hooks(): ReadModel<MemoryReadModelStore<Row>> {
    return {
      create: async (_db, target) => {
        if (!this.#tables.has(target.name)) this.#tables.set(target.name, new Map());
      },
      drop: async (_db, target) => {
        if (this.#active.get(target.projection) === target.generation) {
          throw new Error(`The read model ${target.name} is the one readers see`);
        }
        this.#tables.delete(target.name);
      },
      activate: async (_db, target) => {
        this.#active.set(target.projection, target.generation);
      },
      active: async (_db, projection) => this.#active.get(projection),
    };
  }
}

/**
 * The hooks of a read model kept in a {@link MemoryReadModelStore}, which is the `db` the projection is started
 * with. At least once only: it cannot join the event store's transaction.
 */
export function memoryReadModel<Row>(): ReadModel<MemoryReadModelStore<Row>> {
  return {
    create: (db, target) => db.hooks().create(db, target),
    drop: (db, target) => db.hooks().drop(db, target),
    activate: (db, target) => db.hooks().activate(db, target),
    active: (db, projection) => db.hooks().active(db, projection),
  };
}
