import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { ErrorCodes, EventStoreError, InvalidArgumentError, TimeoutError } from '../../contract/index.js';
import { LOG_INDEX } from './items.js';
import { mapError } from './map-error.js';
import { sleep } from './retry.js';

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

/** DynamoDB's rule for table names: 3 to 255 of `a-z A-Z 0-9 _ - .`. */
export function validateTableName(name: unknown, argument = 'options.tableName'): string {
  if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
    throw new InvalidArgumentError(
      'The DynamoDB table name must be 3 to 255 characters of a-z, A-Z, 0-9, underscore, hyphen and dot',
      { argument },
    );
  }
  return name;
}

/** The table definition, also given in docs/dynamodb.md for infrastructure-as-code users. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'lb', AttributeType: 'S' },
      { AttributeName: 'p', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: LOG_INDEX,
        KeySchema: [
          { AttributeName: 'lb', KeyType: 'HASH' },
          { AttributeName: 'p', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

function isActive(t: TableDescription | undefined): boolean {
  if (t?.TableStatus !== 'ACTIVE') return false;
  return (t.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
}

function checkShape(t: TableDescription, tableName: string): void {
  const key = (t.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  const log = (t.GlobalSecondaryIndexes ?? []).find((i) => i.IndexName === LOG_INDEX);
  const logKey = (log?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  if (key !== 'pk:HASH,sk:RANGE' || logKey !== 'lb:HASH,p:RANGE') {
    throw new EventStoreError(
      ErrorCodes.BACKEND_ERROR,
      `DynamoDB table '${tableName}' exists but is not an event store table (keys pk/sk and index 'log' on lb/p expected)`,
    );
  }
}

/**
 * Makes sure the table exists and is ACTIVE, creating it when it does not. Concurrent callers (two stores, two
 * processes) are fine: the loser of the CreateTable race waits for the winner's table.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let created = false;
  for (;;) {
    let table: TableDescription | undefined;
    try {
      table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceNotFoundException')
        throw mapError(err, { operation: 'open', request: 'DescribeTable' });
    }
    if (table) {
      checkShape(table, tableName);
      if (isActive(table)) return;
    } else if (!created) {
      try {
        await client.send(new CreateTableCommand(tableDefinition(tableName)));
      } catch (err) {
        if ((err as { name?: string }).name !== 'ResourceInUseException')
          throw mapError(err, { operation: 'open', request: 'CreateTable' });
      }
      created = true;
      continue;
    }
    if (Date.now() > deadline) {
      throw new TimeoutError('open', timeoutMs, {
        message: `DynamoDB open (DescribeTable) failed: table '${tableName}' did not become ACTIVE in time`,
      });
    }
    await sleep(250);
  }
}
