import { randomBytes } from 'node:crypto';
import { describeUrl } from '../../config.js';

/**
 * Where a conformance run writes on a live store, and how its traces are removed: a fresh PostgreSQL schema
 * (dropped), a fresh DynamoDB table (deleted), or, on EventStoreDB, which has no namespace, streams with random ids
 * that stay.
 */
export interface Scratch {
  /** The URL the suite's stores open. */
  url: string;
  /** What the report says about the namespace. */
  describe: string;
  /** Removes the namespace; resolves to what was removed, for the report. */
  remove(): Promise<string>;
}

const suffix = () => randomBytes(5).toString('hex');

export function scratchFor(url: string): Scratch {
  const scheme = describeUrl(url);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const parsed = new URL(url);
    const schema = `eskit_conformance_${suffix()}`;
    parsed.searchParams.set('schema', schema);
    return {
      url: parsed.toString(),
      describe: `schema ${schema}`,
      remove: async () => {
        const { dropServerSchema } = await import('../../adapters/postgres/scratch.js');
        await dropServerSchema(parsed.toString(), schema);
        return `dropped schema ${schema}`;
      },
    };
  }
  if (scheme === 'dynamodb') {
    const parsed = new URL(url);
    const table = `${parsed.hostname || 'eventstore'}-conformance-${suffix()}`;
    const scoped = new URL(url.replace(/^dynamodb:\/\/[^/?#]*/i, `dynamodb://${table}`));
    return {
      url: scoped.toString(),
      describe: `table ${table}`,
      remove: async () => {
        const { deleteTable } = await import('../../adapters/dynamodb/scratch.js');
        await deleteTable(scoped.toString());
        return `deleted table ${table}`;
      },
    };
  }
  if (
    scheme === 'esdb' ||
    scheme === 'esdb+discover' ||
    scheme === 'kurrentdb' ||
    scheme === 'kurrentdb+discover'
  ) {
    return {
      url,
      describe: 'streams with random ids (EventStoreDB has no namespace)',
      remove: async () =>
        'left the streams in place: EventStoreDB has no namespace to drop (their ids start with a test prefix and a UUID)',
    };
  }
  if (scheme === 'pglite') {
    // The run's test file opens the one PGlite and drops its scratch schema itself (see conformance.ts).
    return { url, describe: 'a scratch schema', remove: async () => 'dropped the scratch schema' };
  }
  // memory: holds nothing after the run's own stores close.
  return { url, describe: 'the run’s own stores', remove: async () => 'nothing to remove' };
}
