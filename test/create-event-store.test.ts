import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../src/adapters/memory/index.js';
import { createEventStore, knownSchemes, registerScheme, type SchemeOpener } from '../src/index.js';

describe('createEventStore', () => {
  it("opens a new, empty memory store for each 'memory:' URL", async () => {
    const a = await createEventStore('memory:');
    const b = await createEventStore('memory:');
    await a.append('s', [{ type: 'A', data: 1 }]);
    expect(await a.streamVersion('s')).toBe(1);
    expect(await b.streamVersion('s')).toBe(0);
    await a.close();
    await b.close();
  });

  it('rejects an unknown scheme, naming the known ones', async () => {
    const err = await createEventStore('mongodb://localhost/x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const scheme of knownSchemes) expect((err as Error).message).toContain(scheme);
  });

  it('rejects malformed URLs and non-strings', async () => {
    for (const url of ['', '   ', 'no scheme here', '://x', 42, null, undefined]) {
      await expect(createEventStore(url as string)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('rejects unknown options and parameters', async () => {
    await expect(createEventStore('memory:', { nope: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createEventStore('memory:', { autoCreate: 'yes' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createEventStore('memory:?x=1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createEventStore('memory:', 'opts' as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('never echoes the URL, which may hold a password', async () => {
    const secret = 'hunter2-very-secret';
    for (const url of [
      `mongodb://user:${secret}@host/db`,
      `memory://user:${secret}@host`,
      `memory:${secret}`,
    ]) {
      const err = (await createEventStore(url).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(err.message).not.toContain(secret);
      expect(String(err.stack)).not.toContain(secret);
    }
  });
});

describe('registerScheme', () => {
  const open: SchemeOpener = async () => createMemoryEventStore();

  it('lets createEventStore open a registered scheme, without case, until it is unregistered', async () => {
    const unregister = registerScheme('third-party', open);
    try {
      const store = await createEventStore('Third-Party://anything?x=1');
      await store.append('s', [{ type: 'A', data: 1 }]);
      expect(await store.streamVersion('s')).toBe(1);
      await store.close();
      const err = await createEventStore('nope://x').catch((e: unknown) => e);
      expect((err as Error).message).toContain('third-party:');
    } finally {
      unregister();
    }
    await expect(createEventStore('third-party://x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('passes the parsed URL and the options to the opener', async () => {
    let seen: { url: string; options: Record<string, unknown> } | undefined;
    const unregister = registerScheme('seen:', async (url, options) => {
      seen = { url: url.href, options };
      return createMemoryEventStore();
    });
    try {
      await (await createEventStore('seen://host/db', { flag: true })).close();
      expect(seen).toEqual({ url: 'seen://host/db', options: { flag: true } });
    } finally {
      unregister();
    }
  });

  it('refuses to replace a built-in scheme or another adapter registration', () => {
    for (const scheme of [...knownSchemes, 'POSTGRES', 'memory']) {
      expect(() => registerScheme(scheme, open)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const unregister = registerScheme('taken', open);
    try {
      expect(() => registerScheme('taken', open)).not.toThrow();
      expect(() => registerScheme('taken', async () => createMemoryEventStore())).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    } finally {
      unregister();
    }
  });

  it('refuses a scheme that is not a URL scheme, and an opener that is not a function', () => {
    for (const scheme of ['', '1abc', 'a b', 'x://', 42, undefined]) {
      expect(() => registerScheme(scheme as string, open)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => registerScheme('fine', 'open' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
