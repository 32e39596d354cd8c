import { isEventStoreError } from '../contract/index.js';

/**
 * The message for an operational failure (exit code 1). Connection trouble gets a short sentence that names the
 * backend by its scheme (never the URL, which may hold a password); a read-only command says only that the
 * backend is unreachable, a writing one adds that its write (`writeName`, 'the append' by default) may or may not
 * have been applied. NOT_SUPPORTED says in one line which part of the contract the adapter lacks.
 */
export function describeFailure(
  err: unknown,
  scheme: string,
  writes: boolean,
  retryHint?: string,
  writeName = 'the append',
): string {
  const code = (err as { code?: unknown } | null)?.code;
  const reason = lowLevelReason(err);
  const unknownOutcome = writes
    ? `; ${writeName} may or may not have been applied${retryHint ? `: ${retryHint}` : ''}`
    : '';
  if (code === 'NOT_SUPPORTED') {
    const capability = (err as { capability?: unknown }).capability;
    return capability === 'lifecycle'
      ? `error NOT_SUPPORTED: the ${scheme} adapter does not implement the stream lifecycle (delete, truncate, metadata, retention: capabilities.lifecycle is false); see docs/lifecycle.md`
      : `error NOT_SUPPORTED: ${(err as Error).message}`;
  }
  if (code === 'UNAVAILABLE')
    return `error UNAVAILABLE: the ${scheme} backend is unreachable${reason}${unknownOutcome}`;
  if (code === 'TIMEOUT')
    return `error TIMEOUT: the ${scheme} backend did not answer in time${reason}${unknownOutcome}`;
  if (code === 'UNAUTHORIZED')
    return `error UNAUTHORIZED: the ${scheme} backend refused the credentials or the permission${reason}`;
  if (isEventStoreError(err)) return `error ${err.code}: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** A system error code from the cause chain (ECONNREFUSED, ENOTFOUND, …): says why without saying where. */
function lowLevelReason(err: unknown): string {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return ` (${code})`;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const inner = errors.map((x) => (x as { code?: unknown })?.code).find((c) => typeof c === 'string');
      if (typeof inner === 'string' && /^E[A-Z]+$/.test(inner)) return ` (${inner})`;
    }
  }
  return '';
}
