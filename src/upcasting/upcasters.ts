import {
  EventStoreError,
  type EventStoreErrorOptions,
  InvalidArgumentError,
  type JsonObject,
  type JsonValue,
  type RecordedEvent,
} from '../contract/index.js';

/** The metadata key that holds an event's schema version. An event without it is at version 1. */
export const SCHEMA_VERSION_KEY = 'schemaVersion';

/** What an upcaster step sees and returns: an event's shape at one schema version. */
export interface EventShape {
  type: string;
  data: JsonValue;
  metadata: JsonObject;
}

/**
 * One step of a chain: turns an event of `type` at schema version `from` into the next version's shape. It may
 * rename the type (the result then continues along the new type's chain, at the version it states). It must be
 * pure: it runs on every read of the event, and stored events never change.
 */
export type UpcastStep = (event: EventShape) => EventShape & { schemaVersion?: number };

/** One event type's chain: its current schema version and a step from each older version. */
export interface UpcasterChain {
  /** The version new events of this type are stamped with on append. */
  currentVersion: number;
  /** `steps[v]` turns version v into version v + 1 (or into the version the step states). */
  steps: Readonly<Record<number, UpcastStep>>;
}

/**
 * An event could not be upcast: a step is missing from a chain, a step threw (its error is the `cause`), or the
 * event is at a newer version than this code knows. Names the event's type and versions; the event is never
 * returned half-converted.
 */
export class UpcastError extends EventStoreError {
  readonly eventType: string;
  readonly fromVersion: number;
  readonly eventId: string;

  constructor(
    message: string,
    event: { id: string; type: string; streamId: string },
    from: number,
    options: EventStoreErrorOptions = {},
  ) {
    super('UPCAST_FAILED', message, { ...options, streamId: event.streamId });
    this.name = 'UpcastError';
    this.eventType = event.type;
    this.fromVersion = from;
    this.eventId = event.id;
  }
}

const MAX_STEPS = 1000;

function positiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/**
 * The registry of upcasters, keyed by event type and schema version. Reads turn every event into its type's
 * current shape, step by step (v1 → v2 → v3); appends stamp `metadata.schemaVersion` with the current version.
 * Types without a chain pass through unchanged.
 *
 * @example
 * const upcasters = new Upcasters({
 *   OrderPlaced: {
 *     currentVersion: 2,
 *     steps: { 1: (e) => ({ ...e, data: { ...(e.data as object), currency: 'EUR' } }) },
 *   },
 * });
 * const store = withUpcasting(await createEventStore(url), upcasters);
 */
export class Upcasters {
  readonly #chains = new Map<string, UpcasterChain>();

  constructor(chains: Readonly<Record<string, UpcasterChain>> = {}) {
    if (typeof chains !== 'object' || chains === null) {
      throw new InvalidArgumentError('chains must be an object keyed by event type', { argument: 'chains' });
    }
    for (const [type, chain] of Object.entries(chains)) this.register(type, chain);
  }

  /** Adds (or replaces) the chain of one event type. */
  register(type: string, chain: UpcasterChain): this {
    if (typeof type !== 'string' || type === '') {
      throw new InvalidArgumentError('An upcaster chain needs a non-empty event type', { argument: 'type' });
    }
    if (typeof chain !== 'object' || chain === null || !positiveInt(chain.currentVersion)) {
      throw new InvalidArgumentError(
        `The chain of '${type}' needs a currentVersion, an integer of at least 1`,
        {
          argument: `chains.${type}.currentVersion`,
        },
      );
    }
    const steps = chain.steps ?? {};
    for (const [from, step] of Object.entries(steps)) {
      const v = Number(from);
      if (!positiveInt(v) || v >= chain.currentVersion || typeof step !== 'function') {
        throw new InvalidArgumentError(
          `The chain of '${type}' has a step from version ${from}; steps go from 1 to ${chain.currentVersion - 1} and must be functions`,
          { argument: `chains.${type}.steps.${from}` },
        );
      }
    }
    this.#chains.set(type, { currentVersion: chain.currentVersion, steps: { ...steps } });
    return this;
  }

  /** The version new events of `type` are stamped with, or undefined when the type has no chain. */
  currentVersion(type: string): number | undefined {
    return this.#chains.get(type)?.currentVersion;
  }

  /** The metadata to store with a new event of `type`: its current schema version stamped in. */
  stamp(type: string, metadata: JsonObject | undefined): JsonObject | undefined {
    const current = this.currentVersion(type);
    if (current === undefined) return metadata;
    return { ...metadata, [SCHEMA_VERSION_KEY]: current };
  }

  /** The event in its type's current shape. Throws {@link UpcastError}; never returns a partly converted event. */
  upcast<E extends RecordedEvent>(event: E): E {
    let chain = this.#chains.get(event.type);
    if (!chain) return event;
    const stored = event.metadata[SCHEMA_VERSION_KEY];
    const storedVersion = stored === undefined ? 1 : stored;
    if (!positiveInt(storedVersion)) {
      throw new UpcastError(
        `Event '${event.id}' of type '${event.type}' has schemaVersion ${JSON.stringify(stored)}, not an integer of at least 1`,
        event,
        0,
      );
    }
    let version: number = storedVersion;
    const from = version;
    if (version === chain.currentVersion) return event;
    let shape: EventShape = { type: event.type, data: event.data, metadata: event.metadata };
    for (let n = 0; ; n++) {
      if (version === chain.currentVersion) break;
      if (version > chain.currentVersion) {
        throw new UpcastError(
          `Event '${event.id}' of type '${shape.type}' is at schema version ${version}, newer than the current ${chain.currentVersion}: it was written by newer code`,
          event,
          from,
        );
      }
      const step = chain.steps[version];
      if (!step) {
        throw new UpcastError(
          `No upcaster for '${shape.type}' from schema version ${version} to ${version + 1} (event '${event.id}', stored at version ${from})`,
          event,
          from,
        );
      }
      if (n >= MAX_STEPS) {
        throw new UpcastError(
          `Upcasting '${event.type}' from version ${from} took over ${MAX_STEPS} steps: a cycle`,
          event,
          from,
        );
      }
      let next: ReturnType<UpcastStep>;
      try {
        next = step(shape);
      } catch (err) {
        throw new UpcastError(
          `The upcaster of '${shape.type}' from schema version ${version} threw (event '${event.id}')`,
          event,
          from,
          { cause: err },
        );
      }
      const nextVersion: unknown = next?.schemaVersion ?? version + 1;
      if (
        typeof next !== 'object' ||
        next === null ||
        typeof next.type !== 'string' ||
        !positiveInt(nextVersion)
      ) {
        throw new UpcastError(
          `The upcaster of '${shape.type}' from schema version ${version} returned no event shape (event '${event.id}')`,
          event,
          from,
        );
      }
      const renamed = next.type !== shape.type;
      if (!renamed && nextVersion <= version) {
        throw new UpcastError(
          `The upcaster of '${shape.type}' from schema version ${version} went to version ${nextVersion}, not forwards`,
          event,
          from,
        );
      }
      shape = { type: next.type, data: next.data, metadata: next.metadata ?? shape.metadata };
      version = nextVersion;
      if (renamed) {
        const other = this.#chains.get(shape.type);
        if (!other) break; // a type without a chain is always current
        chain = other;
      }
    }
    return {
      ...event,
      type: shape.type,
      data: shape.data,
      metadata: { ...shape.metadata, [SCHEMA_VERSION_KEY]: version },
    };
  }
}
