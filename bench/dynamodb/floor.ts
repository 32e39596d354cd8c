import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { eventItem } from '../../src/adapters/dynamodb/items.js';
import type { PreparedEvent } from '../../src/contract/index.js';

/**
 * The floor both DynamoDB benchmarks compare with: the seed's naive design, one unconditional BatchWriteItem per
 * append (one item per event, up to 25) into `naive-<stream>`, no version check, a timestamp for "order". Returns the append function.
 */
export function naiveFloor(
  client: DynamoDBClient,
  table: string,
  prepared: PreparedEvent,
): (stream: number, events?: number) => Promise<void> {
  let version = 0;
  return async (stream, events = 1) => {
    const items = Array.from({ length: events }, () => {
      version++;
      return eventItem(
        `naive-${stream}`,
        version,
        BigInt(Date.now()) * 1000n,
        Date.now(),
        prepared,
        1_000_000n,
      );
    });
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { [table]: items.map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  };
}
