import { randomUUID } from 'node:crypto';
import type { TransactionLog } from './log.js';

function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * What a fresh node writes before any client does, so that $all starts with system events as on a real server:
 * the epoch record in `$epochs` (`$epoch-information`, EpochManager), the metadata of `$scavenges` (`$metadata` in
 * `$$$scavenges`, set by the storage scavenger) and the default ACLs in `$settings` (`$settings`,
 * SystemEventTypes.Settings). Every such stream and type starts with `$` (SystemStreams / SystemEventTypes).
 */
export function seedSystemEvents(log: TransactionLog): void {
  const write = (stream: string, type: string, data: unknown) =>
    log.write(stream, log.lastRevision(stream) + 1n, [
      {
        id: randomUUID(),
        type,
        contentType: 'application/json',
        data: json(data),
        customMetadata: new Uint8Array(),
      },
    ]);
  write('$epochs', '$epoch-information', {
    epochNumber: 0,
    epochId: randomUUID(),
    leaderInstanceId: randomUUID(),
  });
  write('$$$scavenges', '$metadata', { $maxAge: 2_592_000 });
  write('$settings', '$settings', {
    $userStreamAcl: { $r: '$all', $w: '$all', $d: '$all', $mr: '$all', $mw: '$all' },
    $systemStreamAcl: { $r: '$admins', $w: '$admins', $d: '$admins', $mr: '$admins', $mw: '$admins' },
  });
}
