import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Requests and consumed capacity seen by one client, per operation. */
export class Meter {
  requests = 0;
  readUnits = 0;
  writeUnits = 0;
  /** Capacity units as DynamoDB reports them when it gives no read/write split. */
  units = 0;
  byOperation: Record<string, number> = {};

  reset(): void {
    this.requests = 0;
    this.readUnits = 0;
    this.writeUnits = 0;
    this.units = 0;
    this.byOperation = {};
  }

  snapshot() {
    return {
      requests: this.requests,
      readUnits: this.readUnits,
      writeUnits: this.writeUnits,
      units: this.units,
      byOperation: { ...this.byOperation },
    };
  }

  add(c: ConsumedCapacity | undefined): void {
    if (!c) return;
    this.readUnits += c.ReadCapacityUnits ?? 0;
    this.writeUnits += c.WriteCapacityUnits ?? 0;
    this.units += c.CapacityUnits ?? 0;
  }
}

/**
 * Asks every request for ReturnConsumedCapacity=INDEXES and adds what comes back to `meter`: capacity is what
 * DynamoDB reports, not an estimate.
 */
export function meter(client: DynamoDBClient, m: Meter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      const op = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      if (op !== 'DescribeTable' && op !== 'CreateTable') input.ReturnConsumedCapacity = 'INDEXES';
      m.requests++;
      m.byOperation[op] = (m.byOperation[op] ?? 0) + 1;
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] })
        .ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : [consumed]) m.add(c);
      return result;
    },
    { step: 'initialize', name: 'benchMeter' },
  );
}

/** An item's size as DynamoDB bills it: UTF-8 attribute names plus values (numbers: about 1 byte per 2 digits + 1). */
export function itemSize(item: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S, 'utf8');
    else if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/^-/, '').length / 2) + 1;
  }
  return bytes;
}

/** Write capacity units of one item: 1 per started KB; a transactional write costs twice that. */
export function wcu(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}
