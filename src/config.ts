import { createEventStore, type EventStore } from './index.js';

/** The embedded default when neither a URL nor EVENT_STORE_URL is given. */
export const EMBEDDED_DEFAULT_URL = 'memory:';

/** The URL to use: the one given, else `EVENT_STORE_URL`, else `fallback`. */
export function resolveEventStoreUrl(url?: string, fallback = EMBEDDED_DEFAULT_URL): string {
  if (url !== undefined && url !== '') return url;
  const fromEnv = process.env.EVENT_STORE_URL;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : fallback;
}

/** Opens the store `url`, `EVENT_STORE_URL` or the embedded default names. */
export function openConfiguredEventStore(url?: string, fallback?: string): Promise<EventStore> {
  return createEventStore(resolveEventStoreUrl(url, fallback));
}

/** The scheme of a URL, for logs: never the URL itself, which may hold a password. */
export function describeUrl(url: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? 'unknown';
}
