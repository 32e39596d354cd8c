import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  expectedVersionHolds,
  type PreparedDeleteStream,
  type PreparedSetStreamMetadata,
  type PreparedTruncateStream,
} from '../../adapter/index.js';
import {
  type DeleteStreamResult,
  InvalidArgumentError,
  StreamDeletedError,
  type StreamMetadataResult,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import type { StoreContext } from './context.js';
import { backoffMs, sleep } from './retry.js';
import { forgetSnapshot } from './snapshots.js';
import {
  checkBefore,
  commit,
  finish,
  type LifecycleDeps,
  lostRaces,
  MAX_ROUNDS,
  needsVisits,
  nothingAfter,
  putState,
  ROUND_BACKOFF,
  register,
  statusOf,
} from './state-writes.js';
import {
  decodeMeta,
  metadataOf,
  readView,
  type StreamMeta,
  stateKey,
  tombstoneFence,
} from './stream-meta.js';

export { enforceRetention } from './retention.js';
export type { LifecycleDeps } from './state-writes.js';

export async function deleteStream(
  deps: LifecycleDeps,
  p: PreparedDeleteStream,
): Promise<DeleteStreamResult> {
  const { ctx } = deps;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, p.streamId, 0, 'deleteStream');
    const { meta, version } = view;
    if (view.tombstoned) {
      if (!p.hard) throw new StreamDeletedError(p.streamId);
      // A retried hard delete: what it asked for holds. It finishes an erasure a crash interrupted.
      await finish(deps, p.streamId, meta, 'deleteStream');
      return { version: meta.version };
    }
    if (!expectedVersionHolds(p.expectedVersion, view)) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedVersion, version, {
        reason: 'delete at a wrong expected version',
      });
    }
    if (!p.hard && (version === 0 || view.softDeleted)) {
      await finish(deps, p.streamId, meta, 'deleteStream');
      return { version };
    }
    const next: StreamMeta = p.hard
      ? {
          ...meta,
          status: 2,
          version,
          truncateBefore: version + 1,
          eraseBelow: Math.max(meta.eraseBelow, version + 1),
          metadataVersion: 0,
          maxCount: undefined,
          maxAge: undefined,
          custom: undefined,
          revision: meta.revision + 1,
        }
      : {
          ...meta,
          status: 1,
          version,
          truncateBefore: Math.max(meta.truncateBefore, version + 1),
          eraseBelow: Math.max(meta.eraseBelow, version + 1),
          revision: meta.revision + 1,
        };
    const items = [
      putState(ctx, p.streamId, meta, next),
      // The fence is also the check that nothing follows `version`.
      p.hard
        ? {
            Put: {
              TableName: ctx.tableName,
              Item: tombstoneFence(p.streamId, version),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          }
        : nothingAfter(ctx, p.streamId, version),
      // The snapshot goes with the stream, in the same transaction (snapshots.ts).
      forgetSnapshot(ctx, p.streamId),
    ];
    if (next.erasedBelow < next.eraseBelow) items.push(register(ctx, p.streamId));
    if (!(await commit(ctx, items, 'deleteStream', p.streamId))) continue;
    deps.heads.forget(p.streamId);
    await finish(deps, p.streamId, next, 'deleteStream');
    return { version };
  }
  lostRaces(p.streamId);
}

export async function truncateStream(deps: LifecycleDeps, p: PreparedTruncateStream): Promise<void> {
  const { ctx } = deps;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, p.streamId, 0, 'truncateStream');
    const { meta, version } = view;
    if (view.tombstoned) throw new StreamDeletedError(p.streamId);
    if (!expectedVersionHolds(p.expectedVersion, view)) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedVersion, version, {
        reason: 'truncate at a wrong expected version',
      });
    }
    checkBefore(p.streamId, p.before, version, 'options.before');
    if (p.before <= meta.truncateBefore) {
      await finish(deps, p.streamId, meta, 'truncateStream');
      return;
    }
    const next: StreamMeta = {
      ...meta,
      status: statusOf(view),
      version: Math.max(meta.version, version),
      truncateBefore: p.before,
      eraseBelow: Math.max(meta.eraseBelow, p.before),
      revision: meta.revision + 1,
    };
    const items = [
      putState(ctx, p.streamId, meta, next),
      nothingAfter(ctx, p.streamId, version),
      register(ctx, p.streamId),
    ];
    if (!(await commit(ctx, items, 'truncateStream', p.streamId))) continue;
    deps.heads.forget(p.streamId);
    await finish(deps, p.streamId, next, 'truncateStream');
    return;
  }
  lostRaces(p.streamId);
}

export async function getStreamMetadata(ctx: StoreContext, streamId: string): Promise<StreamMetadataResult> {
  const out = await ctx.call(
    { operation: 'getStreamMetadata', request: 'GetItem (stream state)', streamId },
    () =>
      ctx.client.send(
        new GetItemCommand({ TableName: ctx.tableName, Key: stateKey(streamId), ConsistentRead: true }),
      ),
  );
  const meta = decodeMeta(out.Item);
  if (meta.status === 2) throw new StreamDeletedError(streamId);
  return { metadata: metadataOf(meta), metadataVersion: meta.metadataVersion };
}

export async function setStreamMetadata(
  deps: LifecycleDeps,
  p: PreparedSetStreamMetadata,
): Promise<{ metadataVersion: number }> {
  const { ctx } = deps;
  const { maxCount, maxAge, truncateBefore, custom } = p.metadata;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) await sleep(backoffMs(round, ROUND_BACKOFF));
    const view = await readView(ctx, p.streamId, 0, 'setStreamMetadata');
    const { meta, version } = view;
    if (view.tombstoned) throw new StreamDeletedError(p.streamId);
    if (p.expectedMetadataVersion !== 'any' && p.expectedMetadataVersion !== meta.metadataVersion) {
      throw new WrongExpectedVersionError(p.streamId, p.expectedMetadataVersion, meta.metadataVersion, {
        reason: 'the stream metadata is at another version',
      });
    }
    let truncates = false;
    if (truncateBefore !== undefined) {
      checkBefore(p.streamId, truncateBefore, version, 'metadata.truncateBefore');
      if (truncateBefore < meta.truncateBefore) {
        throw new InvalidArgumentError(
          `Stream '${p.streamId}': metadata.truncateBefore ${truncateBefore} is below the stream's ${meta.truncateBefore}; a truncation cannot be undone`,
          { argument: 'metadata.truncateBefore', streamId: p.streamId },
        );
      }
      truncates = truncateBefore > meta.truncateBefore;
    }
    const next: StreamMeta = {
      ...meta,
      status: statusOf(view),
      version: truncates ? Math.max(meta.version, version) : meta.version,
      truncateBefore: truncates ? truncateBefore! : meta.truncateBefore,
      eraseBelow: truncates ? Math.max(meta.eraseBelow, truncateBefore!) : meta.eraseBelow,
      metadataVersion: meta.metadataVersion + 1,
      maxCount,
      maxAge,
      custom,
      revision: meta.revision + 1,
    };
    const items = [putState(ctx, p.streamId, meta, next)];
    if (needsVisits(next)) items.push(register(ctx, p.streamId));
    if (!(await commit(ctx, items, 'setStreamMetadata', p.streamId))) continue;
    if (truncates) deps.heads.forget(p.streamId);
    await finish(deps, p.streamId, next, 'setStreamMetadata');
    return { metadataVersion: next.metadataVersion };
  }
  lostRaces(p.streamId);
}
