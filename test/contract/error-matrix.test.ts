import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import {
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  AccessDeniedError,
  DeadlineExceededError,
  UnavailableError,
  UnknownError,
} from '@eventstore/db-client';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import type { ErrorContext } from '../../src/adapter/index.js';
import { mapError as mapDynamoDB } from '../../src/adapters/dynamodb/map-error.js';
import { mapError as mapEventStoreDB } from '../../src/adapters/eventstoredb/map-error.js';
import { mapError as mapPostgres } from '../../src/adapters/postgres/map-error.js';
import {
  createEventStore,
  type ErrorCode,
  type EventStoreError,
  isEventStoreError,
} from '../../src/index.js';
import { freePort } from '../support/free-port.js';

/**
 * One classification table, run by every adapter: each row is a failure a user meets, each adapter supplies the
 * error its driver really raises for it (built the way the driver builds it), and every adapter must answer the
 * row's code. A secret is planted in every backend message; it must never reach the contract error's message.
 */
const SECRET = `s3cret-${randomUUID()}`;
const LEAKY = `postgres://admin:${SECRET}@db.internal:5432/x password=${SECRET} token=${SECRET}`;

type Row =
  | 'connection refused'
  | 'DNS failure'
  | 'wrong credentials'
  | 'permission denied'
  | 'timeout'
  | 'throttled'
  | 'unknown';

const EXPECTED: Record<Row, ErrorCode> = {
  'connection refused': 'UNAVAILABLE',
  'DNS failure': 'UNAVAILABLE',
  'wrong credentials': 'UNAUTHORIZED',
  'permission denied': 'UNAUTHORIZED',
  timeout: 'TIMEOUT',
  throttled: 'UNAVAILABLE',
  unknown: 'BACKEND_ERROR',
};

/** A socket or DNS error as Node's `net` and `dns` raise it. */
function nodeError(code: string, syscall: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${syscall} ${code} ${LEAKY}`), { code, errno: -111, syscall, ...extra });
}

/** What node-postgres raises for a server error response: pg's DatabaseError with the SQLSTATE in `code`. */
function pgError(code: string, severity = 'ERROR'): pg.DatabaseError {
  const err = new pg.DatabaseError(`server says ${LEAKY}`, 100, 'error');
  err.code = code;
  err.severity = severity;
  return err;
}

/** An AWS service error as the SDK deserialises it: a DynamoDBServiceException named after the error code. */
function awsError(name: string, httpStatusCode = 400): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: 'r-1', attempts: 1 },
    message: `AWS says ${LEAKY} Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request`,
  });
}

/** A gRPC ServiceError as @grpc/grpc-js rejects a call with it. */
function grpcError(code: status, details: string, exception?: string): ServiceError {
  const metadata = new Metadata();
  if (exception !== undefined) metadata.set('exception', exception);
  return Object.assign(new Error(`${code} ${status[code]}: ${details} ${LEAKY}`), {
    code,
    details: `${details} ${LEAKY}`,
    metadata,
  });
}

interface Adapter {
  name: string;
  map: (err: unknown, ctx: ErrorContext) => EventStoreError;
  rows: Record<Row, unknown[]>;
}

const adapters: Adapter[] = [
  {
    name: 'postgres',
    map: mapPostgres,
    rows: {
      'connection refused': [
        nodeError('ECONNREFUSED', 'connect', { address: '127.0.0.1', port: 5432 }),
        // Node's happy-eyeballs connect to 'localhost' fails with every address's error at once.
        Object.assign(new AggregateError([nodeError('ECONNREFUSED', 'connect')], LEAKY), {
          code: 'ECONNREFUSED',
        }),
        pgError('57P01', 'FATAL'),
        new Error('Connection terminated unexpectedly'),
      ],
      'DNS failure': [
        nodeError('ENOTFOUND', 'getaddrinfo', { hostname: 'db.internal' }),
        nodeError('EAI_AGAIN', 'getaddrinfo'),
      ],
      'wrong credentials': [
        pgError('28P01', 'FATAL'),
        pgError('28000', 'FATAL'),
        new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'),
      ],
      'permission denied': [pgError('42501')],
      timeout: [
        pgError('57014'),
        new Error('timeout exceeded when trying to connect'),
        new Error('Connection terminated due to connection timeout'),
        new Error('Query read timeout'),
      ],
      throttled: [pgError('53300', 'FATAL')],
      unknown: [pgError('XX000'), new Error(LEAKY), LEAKY],
    },
  },
  {
    name: 'dynamodb',
    map: mapDynamoDB,
    rows: {
      'connection refused': [
        Object.assign(nodeError('ECONNREFUSED', 'connect'), { $metadata: { attempts: 8 } }),
        nodeError('ECONNRESET', 'read'),
      ],
      'DNS failure': [
        nodeError('ENOTFOUND', 'getaddrinfo', { hostname: 'dynamodb.internal' }),
        nodeError('EAI_AGAIN', 'getaddrinfo'),
      ],
      'wrong credentials': [
        awsError('UnrecognizedClientException'),
        awsError('InvalidSignatureException'),
        awsError('MissingAuthenticationTokenException', 403),
        awsError('ExpiredTokenException'),
        Object.assign(new Error(`Could not load credentials from any providers ${LEAKY}`), {
          name: 'CredentialsProviderError',
        }),
      ],
      'permission denied': [awsError('AccessDeniedException')],
      timeout: [
        Object.assign(new Error(`Connection timed out after 1000 ms ${LEAKY}`), { name: 'TimeoutError' }),
        awsError('RequestTimeoutException'),
      ],
      throttled: [
        new ProvisionedThroughputExceededException({ message: LEAKY, $metadata: { httpStatusCode: 400 } }),
        awsError('ThrottlingException'),
        awsError('RequestLimitExceeded'),
      ],
      unknown: [
        awsError('ValidationException'),
        new ResourceNotFoundException({ message: LEAKY, $metadata: {} }),
        new Error(LEAKY),
      ],
    },
  },
  {
    name: 'eventstoredb',
    map: mapEventStoreDB,
    rows: {
      'connection refused': [
        new UnavailableError(
          grpcError(
            status.UNAVAILABLE,
            'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2113',
          ),
        ),
        grpcError(status.UNAVAILABLE, 'Connection dropped'),
      ],
      'DNS failure': [
        new UnavailableError(
          grpcError(status.UNAVAILABLE, 'Name resolution failed for target dns:db.internal:2113'),
        ),
        new Error('Failed to discover after 10 attempts.'),
      ],
      'wrong credentials': [
        new AccessDeniedError(grpcError(status.UNAUTHENTICATED, 'Bad credentials')),
        grpcError(status.UNAUTHENTICATED, 'Bad credentials'),
      ],
      'permission denied': [
        grpcError(status.PERMISSION_DENIED, 'Access denied', 'access-denied'),
        new UnknownError(grpcError(status.PERMISSION_DENIED, 'Access denied')),
      ],
      timeout: [new DeadlineExceededError(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'))],
      throttled: [grpcError(status.RESOURCE_EXHAUSTED, 'Too many requests')],
      unknown: [grpcError(status.INTERNAL, 'Exception was thrown by handler'), new Error(LEAKY)],
    },
  },
];

/** Everything a log line could print of the error: message, stack, and its own fields (not its cause's). */
function printed(err: EventStoreError): string {
  const { cause: _cause, ...fields } = err as EventStoreError & Record<string, unknown>;
  return `${err.message}\n${err.stack}\n${JSON.stringify(fields)}`;
}

describe.each(adapters)('error classification: $name', ({ map, rows }) => {
  const operations: ErrorContext[] = [
    { operation: 'append', streamId: 'order-1', expectedVersion: 3 },
    { operation: 'readAll' },
  ];
  for (const [row, errors] of Object.entries(rows) as Array<[Row, unknown[]]>) {
    it(`${row} → ${EXPECTED[row]}`, () => {
      for (const err of errors) {
        for (const ctx of operations) {
          const mapped = map(err, ctx);
          expect(isEventStoreError(mapped), String(err)).toBe(true);
          expect(mapped.code, `${String(err)} in ${ctx.operation}`).toBe(EXPECTED[row]);
          expect(mapped.cause).toBe(err);
          expect(mapped.operation).toBe(ctx.operation);
          expect(mapped.streamId).toBe(ctx.streamId);
          expect(printed(mapped)).not.toContain(SECRET);
          expect(printed(mapped)).not.toContain('db.internal');
          // Only a write can leave its outcome unknown.
          const doubt = /may or may not have been applied/.test(mapped.message);
          expect(doubt).toBe(
            ctx.operation === 'append' && (mapped.code === 'UNAVAILABLE' || mapped.code === 'TIMEOUT'),
          );
        }
      }
    });
  }

  it('passes contract errors through unchanged', () => {
    const err = map(rows.unknown[0], { operation: 'readAll' });
    expect(map(err, { operation: 'append' })).toBe(err);
  });
});

describe('error classification against real servers', () => {
  it('postgres: a wrong password is UNAUTHORIZED, a closed port UNAVAILABLE, neither with the password', async () => {
    const url = new URL(inject('postgresUrl'));
    url.password = SECRET;
    url.searchParams.set('schema', 'matrix');
    const wrong = await createEventStore(url.toString()).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'UNAUTHORIZED', operation: 'open' });
    expect((wrong as Error).cause).toMatchObject({ code: '28P01' });
    url.port = String(await freePort());
    const closed = await createEventStore(url.toString()).catch((e: unknown) => e);
    expect(closed).toMatchObject({ code: 'UNAVAILABLE', operation: 'open' });
    for (const err of [wrong, closed]) expect(inspect(err, { depth: 10 })).not.toContain(SECRET);
  });

  it('postgres: a role that may not create the schema is UNAUTHORIZED', async () => {
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    const role = `matrix_${randomUUID().slice(0, 8)}`;
    const password = `pw-${randomUUID()}`;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      const url = new URL(inject('postgresUrl'));
      url.username = role;
      url.password = password;
      url.searchParams.set('schema', `matrix_${randomUUID().slice(0, 8)}`);
      const err = await createEventStore(url.toString()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UNAUTHORIZED', operation: 'open' });
      expect((err as Error).cause).toMatchObject({ code: '42501' });
      expect(inspect(err, { depth: 10 })).not.toContain(password);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await admin.end();
    }
  });

  it('dynamodb: an endpoint on a closed loopback port is UNAVAILABLE, for reads without the append advice', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = await createEventStore(
      `dynamodb://matrix?region=us-east-1&endpoint=${encodeURIComponent(endpoint)}`,
    );
    try {
      const read = await store.streamVersion('s').catch((e: unknown) => e);
      expect(read).toMatchObject({ code: 'UNAVAILABLE', operation: expect.any(String) });
      expect((read as Error).message).not.toMatch(/may or may not/);
      const write = await store.append('s', [{ type: 'T', data: 1 }]).catch((e: unknown) => e);
      expect(write).toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await store.close();
    }
  });

  it('eventstoredb: a closed port is UNAVAILABLE', async () => {
    const port = await freePort();
    const store = await createEventStore(
      `esdb://admin:${SECRET}@127.0.0.1:${port}?tls=false&defaultDeadline=5000`,
    );
    try {
      const err = await store.append('s', [{ type: 'T', data: 1 }]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UNAVAILABLE', operation: 'append' });
      expect((err as Error).message).toMatch(/may or may not have been applied/);
      expect((err as Error).message).not.toContain(SECRET);
      const read = await store.streamVersion('s').catch((e: unknown) => e);
      expect(read).toMatchObject({ code: 'UNAVAILABLE', operation: 'streamVersion' });
      expect((read as Error).message).not.toMatch(/may or may not/);
    } finally {
      await store.close();
    }
  });
});
