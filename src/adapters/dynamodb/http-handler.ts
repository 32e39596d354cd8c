import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { Deadlines } from '../../url-options.js';

/** Idle time before the first TCP keepalive probe on a pooled HTTP connection. */
export const KEEPALIVE_IDLE_MS = 5_000;

/**
 * The HTTP handler's deadlines: `connectionTimeout` for the TCP (and TLS) connect, `requestTimeout` for the whole
 * request from the moment it is handed to the handler (waiting for a free socket included), thrown as the SDK's
 * `TimeoutError` (`throwOnRequestTimeout`; without it the SDK only logs a warning). Sockets are kept alive between
 * requests with TCP keepalive on, so a connection whose server vanished is found out while idle. The SDK's own
 * retries are off (`maxAttempts: 1`): the adapter retries, and never retries a request that timed out, so one call
 * waits at most one request deadline plus the fast failures and backoffs before it.
 */
export function requestHandler(
  d: Deadlines,
  https: boolean,
): NonNullable<DynamoDBClientConfig['requestHandler']> {
  const agentOptions = { keepAlive: true, keepAliveMsecs: KEEPALIVE_IDLE_MS, maxSockets: 50 };
  return {
    connectionTimeout: d.connectTimeoutMs,
    requestTimeout: d.timeoutMs,
    throwOnRequestTimeout: true,
    ...(https ? { httpsAgent: new HttpsAgent(agentOptions) } : { httpAgent: new HttpAgent(agentOptions) }),
  };
}
