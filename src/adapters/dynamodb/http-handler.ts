import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { Deadlines } from '../../url-options.js';

/**
 * The HTTP handler's deadlines: `connectionTimeout` for the TCP (and TLS) connect, `requestTimeout` for the whole
 * request from the moment it is handed to the handler (waiting for a free socket included), thrown as the SDK's
 * `TimeoutError` (`throwOnRequestTimeout`; without it the SDK only logs a warning). The SDK's own agent keeps
 * sockets alive between requests (50 per client) with TCP keepalive on (Node's default first probe after 1 s idle),
 * so a connection whose server vanished is found out while idle. The SDK's own retries are off (`maxAttempts: 1`
 * in the URL opener): the adapter retries, and never retries a request that timed out, so one call waits at most
 * one request deadline plus the fast failures and backoffs before it.
 */
export function requestHandler(d: Deadlines): NonNullable<DynamoDBClientConfig['requestHandler']> {
  return {
    connectionTimeout: d.connectTimeoutMs,
    requestTimeout: d.timeoutMs,
    throwOnRequestTimeout: true,
  };
}
