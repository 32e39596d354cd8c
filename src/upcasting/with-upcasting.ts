import type {
  AppendOptions,
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../contract/index.js';
import type { Upcasters } from './upcasters.js';

async function* upcastAll(
  events: AsyncIterable<RecordedEvent>,
  upcasters: Upcasters,
): AsyncIterable<RecordedEvent> {
  for await (const e of events) yield upcasters.upcast(e);
}

/**
 * The same store, seen through upcasters: readStream and readAll (and whatever reads through them, such as
 * command handling) return every event in its type's current shape, and append stamps each new event's
 * `metadata.schemaVersion` with its type's current version. Stored events never change. Every other member is the
 * store's own, so closing the view closes the store.
 *
 * A filter on event types applies to the stored types; an upcaster that renames a type does not change which
 * stored events a filter selects.
 *
 * @example
 * const store = withUpcasting(await createEventStore(url), upcasters);
 */
export function withUpcasting<S extends EventStore>(store: S, upcasters: Upcasters): S {
  const append = (
    streamId: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult> =>
    store.append(
      streamId,
      Array.isArray(events)
        ? events.map((e) => {
            if (typeof e !== 'object' || e === null || typeof e.type !== 'string') return e;
            const metadata = upcasters.stamp(e.type, e.metadata);
            return metadata === e.metadata ? e : { ...e, metadata };
          })
        : events,
      options,
    );
  const readStream = (streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> =>
    upcastAll(store.readStream(streamId, options), upcasters);
  const readAll = (options?: ReadAllOptions): AsyncIterable<RecordedEvent> =>
    upcastAll(store.readAll(options), upcasters);
  // Subscriptions hand events over in their current shape too; options that are not a plain object with a
  // handler function go through as given, for the store to refuse.
  const subscribe = (options: SubscribeOptions): Subscription => {
    let wrapped: SubscribeOptions;
    try {
      const handler = options.handler;
      if (typeof handler !== 'function') return store.subscribe(options);
      wrapped = { ...options, handler: (e, context) => handler(upcasters.upcast(e), context) };
    } catch {
      return store.subscribe(options);
    }
    return store.subscribe(wrapped);
  };
  const own: Partial<Record<PropertyKey, unknown>> = { append, readStream, readAll, subscribe };
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(own, key)) return own[key];
      const value = Reflect.get(target, key, target);
      // The store's methods run on the store itself: its #private fields are not reachable through a proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
