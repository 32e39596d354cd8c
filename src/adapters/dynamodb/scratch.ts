/** What the CLI's conformance and bench commands need of DynamoDB beside a store: a client, a table removed. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A client for the table `url` names (dynamodb://TABLE?region=…&endpoint=…), with local credentials on loopback. */
export async function clientFor(url: string): Promise<{ client: DynamoDBClient; table: string }> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const parsed = new URL(url);
  const endpoint = parsed.searchParams.get('endpoint');
  const local = endpoint !== null && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(endpoint);
  const client = new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    region:
      parsed.searchParams.get('region') ??
      process.env.AWS_REGION ??
      process.env.AWS_DEFAULT_REGION ??
      'us-east-1',
    ...(local && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return { client, table: decodeURIComponent(parsed.hostname) };
}

/** Deletes the table `url` names. */
export async function deleteTable(url: string): Promise<void> {
  const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb');
  const { client, table } = await clientFor(url);
  try {
    await client.send(new DeleteTableCommand({ TableName: table }));
  } finally {
    client.destroy();
  }
}

/**
 * The naive floor of bench/dynamodb: one unconditional BatchWriteItem per append (25 items at a time), no version
 * check, into the table `url` names, under `naive#<stream>` keys.
 */
export async function naiveAppender(url: string): Promise<{
  append(streamId: string, events: ReadonlyArray<{ id: string; type: string; data: unknown }>): Promise<void>;
  close(): Promise<void>;
}> {
  const { BatchWriteItemCommand } = await import('@aws-sdk/client-dynamodb');
  const { client, table } = await clientFor(url);
  const versions = new Map<string, number>();
  return {
    append: async (streamId, events) => {
      let version = versions.get(streamId) ?? 0;
      for (let i = 0; i < events.length; i += 25) {
        const items = events.slice(i, i + 25).map((e) => {
          version++;
          return {
            PutRequest: {
              Item: {
                pk: { S: `naive#${streamId}` },
                sk: { S: String(version).padStart(20, '0') },
                id: { S: e.id },
                t: { S: e.type },
                d: { S: JSON.stringify(e.data) },
                m: { S: '{}' },
                ts: { N: String(Date.now()) },
              },
            },
          };
        });
        await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: items } }));
      }
      versions.set(streamId, version);
    },
    close: async () => client.destroy(),
  };
}
