import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions, assertKnownParams, readDeadlines } from '../../url-options.js';
import { DynamoDBEventStore, type DynamoDBEventStoreOptions } from './dynamodb-event-store.js';
import { requestHandler } from './http-handler.js';
import { validateTableName } from './table.js';

const URL_PARAMS = ['region', 'endpoint', 'timeout_ms', 'connect_timeout_ms'];
const URL_OPTIONS = [
  'autoCreate',
  'holeTimeoutMs',
  'holeWaitMs',
  'idempotencyWindow',
  'timeoutMs',
  'connectTimeoutMs',
];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function parseEndpoint(raw: string): URL {
  let endpoint: URL;
  try {
    endpoint = new URL(raw);
  } catch {
    throw new InvalidArgumentError('The endpoint parameter must be an http(s) URL', { argument: 'url' });
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
    throw new InvalidArgumentError('The endpoint parameter must be an http(s) URL', { argument: 'url' });
  }
  if (endpoint.username !== '' || endpoint.password !== '') {
    throw new InvalidArgumentError(
      'The endpoint must not carry credentials; they come from the AWS default provider chain',
      { argument: 'url' },
    );
  }
  return endpoint;
}

/**
 * `dynamodb://<table>?region=<region>&endpoint=<http(s) URL>`. Credentials come from the AWS default provider chain
 * (environment, shared config, SSO, container or instance role). For an endpoint on this machine (DynamoDB Local)
 * with no credentials in the environment, dummy ones are used, since DynamoDB Local accepts any. The store owns
 * the client it builds and destroys it in `close()`.
 */
export async function openFromUrl(url: URL, options: Record<string, unknown>): Promise<DynamoDBEventStore> {
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(
      'dynamodb: URLs take no credentials; they come from the AWS default provider chain',
      { argument: 'url' },
    );
  }
  assertKnownParams(url, URL_PARAMS);
  assertKnownOptions(options, URL_OPTIONS);
  let table = url.hostname;
  if (table === '') table = url.pathname.replace(/^\/+/, '');
  else if (url.pathname !== '' && url.pathname !== '/') {
    throw new InvalidArgumentError('dynamodb: URLs name one table: dynamodb://<table>?region=…', {
      argument: 'url',
    });
  }
  if (url.port !== '') {
    throw new InvalidArgumentError('dynamodb: URLs take no port; use the endpoint parameter', {
      argument: 'url',
    });
  }
  const tableName = validateTableName(decodeURIComponent(table), 'url');
  const deadlines = readDeadlines(url, options);
  const config: DynamoDBClientConfig = { maxAttempts: 1 };
  const region = url.searchParams.get('region');
  if (region !== null) {
    if (!/^[a-z0-9-]{1,64}$/.test(region)) {
      throw new InvalidArgumentError('The region parameter must look like eu-west-1', { argument: 'url' });
    }
    config.region = region;
  }
  const rawEndpoint = url.searchParams.get('endpoint');
  if (rawEndpoint !== null) {
    const endpoint = parseEndpoint(rawEndpoint);
    config.endpoint = endpoint.toString();
    if (LOOPBACK.has(endpoint.hostname)) {
      config.region ??= process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
      if (!process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
        config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
      }
    }
  }
  const { autoCreate, holeTimeoutMs, holeWaitMs, idempotencyWindow } =
    options as Partial<DynamoDBEventStoreOptions>;
  config.requestHandler = requestHandler(deadlines);
  const client = new DynamoDBClient(config);
  try {
    return new DynamoDBEventStore(
      {
        client,
        tableName,
        ...(autoCreate === undefined ? {} : { autoCreate }),
        ...(holeTimeoutMs === undefined ? {} : { holeTimeoutMs }),
        ...(holeWaitMs === undefined ? {} : { holeWaitMs }),
        timeoutMs: deadlines.timeoutMs,
        ...(idempotencyWindow === undefined ? {} : { idempotencyWindow }),
      },
      true,
    );
  } catch (err) {
    client.destroy();
    throw err;
  }
}
