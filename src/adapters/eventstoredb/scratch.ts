/**
 * The floor of the CLI's bench on EventStoreDB: the client's own append (expected revision ANY) and read of $all,
 * on streams under a prefix of their own.
 */
export async function clientFloor(url: string): Promise<{
  append(streamId: string, events: ReadonlyArray<{ id: string; type: string; data: unknown }>): Promise<void>;
  readAll(): Promise<number>;
  close(): Promise<void>;
}> {
  const { EventStoreDBClient, jsonEvent, FORWARDS, START } = await import('@eventstore/db-client');
  const client = EventStoreDBClient.connectionString(url);
  const prefix = `floor-${Math.random().toString(16).slice(2, 10)}-`;
  return {
    append: async (streamId, events) => {
      await client.appendToStream(
        prefix + streamId,
        events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data as Record<string, unknown> })),
      );
    },
    readAll: async () => {
      let n = 0;
      for await (const r of client.readAll({ direction: FORWARDS, fromPosition: START })) {
        if (r.event?.streamId.startsWith(prefix)) n++;
      }
      return n;
    },
    close: () => client.dispose(),
  };
}
