import { describe, expect, it } from 'vitest';
import { createEventStore, knownSchemes } from '../src/index.js';

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
