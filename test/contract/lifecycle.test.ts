import { describe, expect, it } from 'vitest';
import {
  BaseEventStore,
  expectedVersionHolds,
  prepareDeleteStream,
  prepareSetStreamMetadata,
  prepareTruncateStream,
} from '../../src/adapter/index.js';
import type { AppendResult, Capabilities, RecordedEvent } from '../../src/index.js';

/** An adapter that, like one written before the lifecycle existed, declares and implements none of it. */
class NoLifecycleStore extends BaseEventStore {
  readonly capabilities: Capabilities = {
    maxEventsPerAppend: 10,
    maxEventBytes: 1024,
    maxAppendBytes: 10_240,
    idempotencyWindow: 'stream',
  };
  protected async _append(): Promise<AppendResult> {
    return { nextExpectedVersion: 0, lastPosition: null };
  }
  protected async *_readStream(): AsyncIterable<RecordedEvent> {}
  protected async *_readAll(): AsyncIterable<RecordedEvent> {}
}

describe('stream lifecycle in the base', () => {
  it('rejects every lifecycle call with NOT_SUPPORTED when the adapter does not declare the capability', async () => {
    const store = new NoLifecycleStore();
    const notSupported = { code: 'NOT_SUPPORTED', capability: 'lifecycle' };
    await expect(store.deleteStream('s')).rejects.toMatchObject(notSupported);
    await expect(store.truncateStream('s', { before: 1 })).rejects.toMatchObject(notSupported);
    await expect(store.getStreamMetadata('s')).rejects.toMatchObject(notSupported);
    await expect(store.setStreamMetadata('s', {})).rejects.toMatchObject(notSupported);
    await expect(store.enforceRetention()).rejects.toMatchObject(notSupported);
    await store.close();
    await expect(store.deleteStream('s')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });

  it('validates delete, truncate and metadata input', () => {
    expect(prepareDeleteStream('s', undefined)).toEqual({
      streamId: 's',
      expectedVersion: 'any',
      hard: false,
    });
    expect(prepareDeleteStream('s', { expectedVersion: 'no_stream', hard: true })).toMatchObject({
      expectedVersion: 0,
      hard: true,
    });
    for (const bad of [{ hard: 'yes' }, { force: true }, { expectedVersion: -1 }, 'x']) {
      expect(() => prepareDeleteStream('s', bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => prepareDeleteStream('', undefined)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(prepareTruncateStream('s', { before: 3 })).toEqual({
      streamId: 's',
      before: 3,
      expectedVersion: 'any',
    });
    for (const bad of [undefined, {}, { before: 0 }, { before: 2, after: 1 }]) {
      expect(() => prepareTruncateStream('s', bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const custom = { a: [1, { b: null }] };
    const p = prepareSetStreamMetadata(
      's',
      { maxCount: 2, maxAge: 60, custom },
      { expectedMetadataVersion: 0 },
    );
    expect(p).toEqual({
      streamId: 's',
      metadata: { maxCount: 2, maxAge: 60, custom },
      expectedMetadataVersion: 0,
    });
    expect(p.metadata.custom).not.toBe(custom);
    expect(() => prepareSetStreamMetadata('s', {}, { expectedMetadataVersion: 'no_stream' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'options.expectedMetadataVersion' }),
    );
    expect(() => prepareSetStreamMetadata('s', { $tb: 1 }, undefined)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'metadata.$tb' }),
    );
  });

  it('decides expected versions of a soft-deleted stream in one place', () => {
    const deleted = { version: 3, softDeleted: true };
    expect([0, 3, 'any', 2, 'stream_exists'].map((e) => expectedVersionHolds(e as 0, deleted))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    const live = { version: 3, softDeleted: false };
    expect([0, 3, 'any', 'stream_exists'].map((e) => expectedVersionHolds(e as 0, live))).toEqual([
      false,
      true,
      true,
      true,
    ]);
    expect(expectedVersionHolds('stream_exists', { version: 0, softDeleted: false })).toBe(false);
  });
});
