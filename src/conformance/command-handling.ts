import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { causedBy, type Decider, eventIdFor, handleCommand } from '../index.js';
import { type ConformanceTarget, readStream, streamId, useStore } from './support.js';

type CounterEvent = { type: 'Added'; data: { n: number } } | { type: 'Reset'; data: { from: number } };
type CounterCommand = { kind: 'add'; n: number } | { kind: 'reset' } | { kind: 'fail' };

class CounterRefused extends Error {
  override readonly name = 'CounterRefused';
}

/** A counter: `add` appends Added (refused when it would pass 1,000,000), `reset` appends Reset when non-zero. */
const counter: Decider<number, CounterCommand, CounterEvent> = {
  initialState: () => 0,
  evolve: (total, e) => (e.type === 'Added' ? total + e.data.n : 0),
  decide: (c, total) => {
    if (c.kind === 'fail' || (c.kind === 'add' && total + c.n > 1_000_000))
      throw new CounterRefused('refused');
    if (c.kind === 'add') return [{ type: 'Added', data: { n: c.n } }];
    return total === 0 ? [] : [{ type: 'Reset', data: { from: total } }];
  },
};

export function commandHandlingTests(target: ConformanceTarget): void {
  describe('command handling', () => {
    const h = useStore(target);

    it('loads the state, decides, and appends at the version it read', async () => {
      const id = streamId('counter');
      const first = await handleCommand(h.store, id, { kind: 'add', n: 2 }, counter);
      expect(first).toMatchObject({ state: 2, nextExpectedVersion: 1, alreadyApplied: false });
      const second = await handleCommand(h.store, id, { kind: 'add', n: 3 }, counter);
      expect(second).toMatchObject({ state: 5, nextExpectedVersion: 2 });
      expect(second.events.map((e) => [e.type, e.data, e.version])).toEqual([['Added', { n: 3 }, 2]]);
      const stored = await readStream(h.store, id);
      expect(stored.map((e) => e.id)).toEqual([...first.events, ...second.events].map((e) => e.id));
      expect(second.lastPosition).toBe(stored[1]!.position);
      const reset = await handleCommand(h.store, id, { kind: 'reset' }, counter);
      expect(reset).toMatchObject({ state: 0, nextExpectedVersion: 3 });
    });

    it('writes nothing when the decider decides nothing', async () => {
      const id = streamId('counter');
      const result = await handleCommand(h.store, id, { kind: 'reset' }, counter);
      expect(result).toMatchObject({ state: 0, events: [], nextExpectedVersion: 0, lastPosition: null });
      expect(await h.store.streamVersion(id)).toBe(0);
    });

    it('rethrows a domain error unchanged and appends nothing', async () => {
      const id = streamId('counter');
      await handleCommand(h.store, id, { kind: 'add', n: 1 }, counter);
      const failed = handleCommand(h.store, id, { kind: 'fail' }, counter);
      await expect(failed).rejects.toBeInstanceOf(CounterRefused);
      expect(await h.store.streamVersion(id)).toBe(1);
    });

    it('reloads and decides again on a concurrent write, so no command is lost', async () => {
      const id = streamId('counter');
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          handleCommand(h.store, id, { kind: 'add', n: 1 }, counter, { maxRetries: 50 }),
        ),
      );
      expect(results.map((r) => r.nextExpectedVersion).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      const final = await handleCommand(h.store, id, { kind: 'add', n: 0 }, counter);
      expect(final.state).toBe(6);
    });

    it('fails with WRONG_EXPECTED_VERSION once its retries are spent', async () => {
      const id = streamId('counter');
      let interfere = 2;
      const racing: Decider<number, CounterCommand, CounterEvent> = {
        ...counter,
        decide: async (c, s) => {
          // Another writer gets in between every load and append, twice.
          if (interfere-- > 0) await h.store.append(id, [{ type: 'Added', data: { n: 10 } }]);
          return counter.decide(c, s);
        },
      };
      await expect(
        handleCommand(h.store, id, { kind: 'add', n: 1 }, racing, { maxRetries: 1 }),
      ).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
      });
      expect(await h.store.streamVersion(id)).toBe(2);
      interfere = 1;
      const ok = await handleCommand(h.store, id, { kind: 'add', n: 1 }, racing, { maxRetries: 1 });
      expect(ok).toMatchObject({ state: 31, nextExpectedVersion: 4 });
    });

    it('yields the events of a command sent twice concurrently once', async () => {
      const id = streamId('counter');
      const commandId = randomUUID();
      const [a, b] = await Promise.all([
        handleCommand(h.store, id, { kind: 'add', n: 5 }, counter, { commandId }),
        handleCommand(h.store, id, { kind: 'add', n: 5 }, counter, { commandId }),
      ]);
      expect(a.nextExpectedVersion).toBe(1);
      expect(b.nextExpectedVersion).toBe(1);
      expect(a.events.map((e) => e.id)).toEqual([eventIdFor(commandId, 0)]);
      expect(b.events.map((e) => e.id)).toEqual([eventIdFor(commandId, 0)]);
      expect((await readStream(h.store, id)).map((e) => e.id)).toEqual([eventIdFor(commandId, 0)]);
    });

    it('recognises a command retried after a lost answer, even after later commands', async () => {
      const id = streamId('counter');
      const commandId = randomUUID();
      const first = await handleCommand(h.store, id, { kind: 'add', n: 5 }, counter, { commandId });
      await handleCommand(h.store, id, { kind: 'add', n: 1 }, counter);
      const retried = await handleCommand(h.store, id, { kind: 'add', n: 5 }, counter, { commandId });
      expect(retried).toMatchObject({
        alreadyApplied: true,
        nextExpectedVersion: 1,
        lastPosition: first.lastPosition,
      });
      expect(retried.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
      expect(await h.store.streamVersion(id)).toBe(2);
    });

    it('stamps correlation, causation and command ids into the metadata', async () => {
      const id = streamId('counter');
      const commandId = randomUUID();
      await handleCommand(h.store, id, { kind: 'add', n: 1 }, counter, {
        commandId,
        context: { correlationId: 'flow-1' },
      });
      const [cause] = await readStream(h.store, id);
      expect(cause!.metadata).toEqual({ correlationId: 'flow-1', causationId: commandId, commandId });
      const other = streamId('counter');
      await handleCommand(h.store, other, { kind: 'add', n: 1 }, counter, { context: causedBy(cause!) });
      const [effect] = await readStream(h.store, other);
      expect(effect!.metadata).toEqual({ correlationId: 'flow-1', causationId: cause!.id });
    });

    it('rejects bad options with INVALID_ARGUMENT before anything is decided', async () => {
      const id = streamId('counter');
      let decided = 0;
      const watched: Decider<number, CounterCommand, CounterEvent> = {
        ...counter,
        decide: (c, s) => {
          decided++;
          return counter.decide(c, s);
        },
      };
      for (const options of [
        { maxRetries: -1 },
        { maxRetries: 1.5 },
        { commandId: '' },
        { commandId: 7 },
        { context: { correlationId: 1 } },
        { context: { other: 'x' } },
        { retries: 3 },
      ]) {
        await expect(
          handleCommand(h.store, id, { kind: 'add', n: 1 }, watched, options as never),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      expect(decided).toBe(0);
      expect(await h.store.streamVersion(id)).toBe(0);
    });
  });
}
