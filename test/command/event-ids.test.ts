import { describe, expect, it } from 'vitest';
import { eventIdFor, Upcasters } from '../../src/index.js';

describe('eventIdFor', () => {
  it('derives RFC 9562 version-5 UUIDs, the same as any other implementation', () => {
    // Reference values from Python's uuid.uuid5(namespace, 'cmd-42\x000') and ('cmd-42\x001').
    expect(eventIdFor('cmd-42', 0)).toBe('1bf61964-ee4e-5105-badb-da1c9deb7df7');
    expect(eventIdFor('cmd-42', 1)).toBe('2ccc05c5-4ca5-5e00-b538-59225ddb5909');
  });

  it('gives every command and index its own id', () => {
    const ids = new Set<string>();
    for (const command of ['a', 'b', 'a0', '']) for (let i = 0; i < 50; i++) ids.add(eventIdFor(command, i));
    expect(ids.size).toBe(200);
  });
});

describe('Upcasters', () => {
  it('refuses malformed chains with INVALID_ARGUMENT', () => {
    const bad: unknown[] = [
      { T: { currentVersion: 0, steps: {} } },
      { T: { currentVersion: 1.5, steps: {} } },
      { T: { currentVersion: 2, steps: { 2: () => ({}) } } },
      { T: { currentVersion: 2, steps: { 0: () => ({}) } } },
      { T: { currentVersion: 2, steps: { 1: 'not a function' } } },
      { '': { currentVersion: 1, steps: {} } },
      null,
    ];
    for (const chains of bad) {
      expect(() => new Upcasters(chains as never), JSON.stringify(chains)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('stamps only registered types with their current version', () => {
    const upcasters = new Upcasters({
      T: { currentVersion: 4, steps: { 1: (e) => e, 2: (e) => e, 3: (e) => e } },
    });
    expect(upcasters.stamp('T', { a: 1 })).toEqual({ a: 1, schemaVersion: 4 });
    expect(upcasters.stamp('Other', { a: 1 })).toEqual({ a: 1 });
  });

  it('refuses a step that goes backwards, and a cycle of renames', () => {
    const event = (type: string) => ({
      id: '00000000-0000-4000-8000-000000000000',
      streamId: 's',
      type,
      data: 1,
      metadata: {},
      version: 1,
      position: 1n,
      createdAt: new Date(),
    });
    const back = new Upcasters({
      T: { currentVersion: 3, steps: { 1: (e) => ({ ...e, schemaVersion: 1 }) } },
    });
    expect(() => back.upcast(event('T'))).toThrow(expect.objectContaining({ code: 'UPCAST_FAILED' }));
    const cycle = new Upcasters({
      A: { currentVersion: 2, steps: { 1: (e) => ({ ...e, type: 'B', schemaVersion: 1 }) } },
      B: { currentVersion: 2, steps: { 1: (e) => ({ ...e, type: 'A', schemaVersion: 1 }) } },
    });
    expect(() => cycle.upcast(event('A'))).toThrow(expect.objectContaining({ code: 'UPCAST_FAILED' }));
  });
});
