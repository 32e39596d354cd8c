import { randomUUID } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';

/** The endpoint the rig provides; throws its one-line reason when DynamoDB Local could not start. */
export function dynamodbEndpoint(): string {
  const endpoint = inject('dynamodbEndpoint');
  if (endpoint.startsWith('unavailable:')) throw new Error(endpoint.slice('unavailable:'.length));
  return endpoint;
}

/** A table name no other test file uses: each file gets its own table. */
export function tableName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function dynamodbUrl(table: string): string {
  return `dynamodb://${table}?region=us-east-1&endpoint=${encodeURIComponent(dynamodbEndpoint())}`;
}

/** A client of our own, for raw reads and for stores given a client; the caller destroys it. */
export function rawClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: dynamodbEndpoint(),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    ...config,
  });
}
