import { describeUrl } from '../../config.js';
import type { EventStore } from '../../contract/index.js';
import { copyStore } from '../../copy/copy-store.js';
import { Progress } from '../../copy/progress.js';
import { compareDigests, digestStore, type StreamDigest } from '../../copy/verify.js';
import { createEventStore, isEventStoreError } from '../../index.js';
import type { StandaloneCommand } from '../command.js';
import { describeFailure } from '../errors.js';
import type { Output } from '../output.js';
import { checkUrl, expectArgs, parseCount, UsageError } from '../usage.js';

/** Counts the source's events for the progress bar's percentage and ETA: one readAll pass. */
async function countEvents(store: EventStore): Promise<number> {
  let n = 0;
  for await (const _ of store.readAll()) n++;
  return n;
}

/** Opens one side, saying which side failed (by scheme: never the URL). */
async function open(url: string, side: 'source' | 'target'): Promise<EventStore> {
  try {
    return await createEventStore(url);
  } catch (err) {
    throw Object.assign(new Error('open'), { side, cause: err });
  }
}

export const copyCommand: StandaloneCommand = {
  kind: 'standalone',
  name: 'copy',
  summary: 'copy every stream to another backend, resumably; --verify compares both sides',
  usage: `eventstore-kit copy --from URL --to URL [--verify] [--batch N] [--json]

Copies every event of the source into the target in the source's global order, keeping stream ids, versions,
event ids, types, data, metadata and creation times. Consecutive events of one stream go in one append (at most
--batch, default 100, and the target's limits). A stream whose first event is past version 1 (truncated, retention,
deleted then appended again) starts there on the target too. Then each stream's metadata (retention, custom keys)
is copied where the source has any.

Resumable: run it again after an interruption and it writes exactly what is missing (it asks the target for each
stream's head, and the target recognises a repeated append by its event ids); run again after it finished, it
writes nothing.

Positions are the target's, in the same order as the source's. Re-base a checkpoint (the position of the last
event a consumer processed) through that event's stream and version, the same on both sides:
  eventstore-kit read <stream> --from <version> --max 1 --url <target>
gives its position on the target.

--verify then reads both stores and compares their event counts and, per stream, a SHA-256 of every event's id,
version, type, data, metadata and creation time, and the stream's metadata; exit code 1 when they differ.
Progress goes to stderr: a bar with rate and ETA on a terminal, a plain line every 5 s otherwise.`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    verify: { type: 'boolean' },
    batch: { type: 'string' },
  },
  parse({ values, positionals }) {
    expectArgs('copy', positionals, []);
    if (values.url !== undefined) throw new UsageError('copy takes --from and --to, not --url', 'copy');
    const from = values.from;
    const to = values.to;
    if (typeof from !== 'string' || typeof to !== 'string') {
      throw new UsageError('copy needs --from URL and --to URL', 'copy');
    }
    checkUrl(from, '--from', 'copy');
    checkUrl(to, '--to', 'copy');
    if (from === to) throw new UsageError('--from and --to name the same store', 'copy');
    const batch = parseCount(values.batch, '--batch', 'copy');
    if (batch === 0) throw new UsageError('--batch must be at least 1', 'copy');
    const verify = values.verify === true;
    return (out) => runCopy(out, from, to, verify, batch);
  },
};

async function runCopy(
  out: Output,
  from: string,
  to: string,
  verify: boolean,
  batch: number | undefined,
): Promise<number> {
  const schemes = { source: describeUrl(from), target: describeUrl(to) };
  if (schemes.source === 'memory')
    out.note('note: the source is memory:, a new and empty store: nothing to copy');
  if (schemes.target === 'memory')
    out.note('note: the target is memory:; what is copied is gone when copy exits');
  let source: EventStore | undefined;
  let target: EventStore | undefined;
  let side: 'source' | 'target' | undefined;
  try {
    source = await open(from, 'source');
    target = await open(to, 'target');
    const total = await countEvents(source);
    const progress = new Progress(process.stderr, { label: 'copy', total });
    const started = Date.now();
    const result = await copyStore(source, target, {
      ...(batch === undefined ? {} : { maxBatch: batch }),
      onProgress: (p) => progress.update(p.done),
    });
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(result.done / seconds) : result.done;
    if (out.json) {
      out.jsonLine({
        copied: result.written,
        alreadyPresent: result.present,
        events: result.done,
        streams: result.streams,
        metadataWritten: result.metadataWritten,
        seconds,
        eventsPerSecond: rate,
      });
    } else {
      out.line(
        `copied ${result.written} events (${result.present} already in the target) of ${result.streams} streams in ${seconds.toFixed(1)} s, ${rate} events/s; metadata written for ${result.metadataWritten} streams`,
      );
    }
    if (!verify) return 0;
    const v = compareDigests(...(await Promise.all([digestStore(source), digestStore(target)])));
    if (out.json) {
      out.jsonLine({ verify: v.ok ? 'ok' : 'mismatch', ...v });
    } else {
      out.line(
        `verify: source ${v.sourceEvents} events in ${v.sourceStreams} streams, target ${v.targetEvents} events in ${v.targetStreams} streams: ${v.ok ? 'identical' : `${v.mismatches.length} stream(s) differ`}`,
      );
      for (const m of v.mismatches.slice(0, 20)) {
        out.line(`  ${m.streamId}: source ${describeDigest(m.source)}, target ${describeDigest(m.target)}`);
      }
      if (v.mismatches.length > 20) out.line(`  … and ${v.mismatches.length - 20} more`);
    }
    return v.ok ? 0 : 1;
  } catch (err) {
    const opened = (err as { side?: 'source' | 'target' }).side;
    side = opened;
    const cause = opened === undefined ? err : (err as { cause: unknown }).cause;
    const scheme =
      side === undefined ? `${schemes.source} → ${schemes.target}` : `${side} (${schemes[side]})`;
    process.stderr.write(
      `\n${describeFailure(cause, scheme, false)}${side === undefined ? '\nrun the same copy again to resume: it writes only what is missing' : ''}\n`,
    );
    return isEventStoreError(cause, 'INVALID_ARGUMENT') && side !== undefined ? 2 : 1;
  } finally {
    await Promise.allSettled([source?.close(), target?.close()]);
  }
}

function describeDigest(d: StreamDigest | undefined): string {
  if (d === undefined) return 'absent';
  return `${d.events} events ${d.hash.slice(0, 12)}${d.metadata === undefined || d.metadata === '{}' ? '' : ` metadata ${d.metadata}`}`;
}
