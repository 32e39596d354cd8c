import { createHash } from 'node:crypto';

/** The namespace of the name-based UUIDs that {@link eventIdFor} derives (itself a random v4 UUID, fixed forever). */
export const COMMAND_EVENT_NAMESPACE = '5b0f4b8e-3f0a-4c55-9b6e-3d2c8f1a7e21';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/**
 * The id of the `index`-th event that the command `commandId` produces: a name-based (version 5, SHA-1) UUID of
 * the command id and the index, in a fixed namespace (RFC 9562 §5.5). The same command always yields the same ids,
 * so the store's idempotency rules recognise a retried command's events instead of writing them twice.
 *
 * @example
 * eventIdFor('cmd-42', 0) === eventIdFor('cmd-42', 0) // true, in every process, forever
 */
export function eventIdFor(commandId: string, index: number): string {
  const hash = createHash('sha1')
    .update(uuidBytes(COMMAND_EVENT_NAMESPACE))
    .update(`${commandId}\u0000${index}`, 'utf8')
    .digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50; // version 5
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 / 9562 variant
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
