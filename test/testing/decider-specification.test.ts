import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Upcasters } from '../../src/index.js';
import { DeciderSpecification } from '../../src/testing/index.js';
import { OrderError, orders } from './fixtures/orders.js';

const spec = DeciderSpecification.for(orders);
const placed = { type: 'OrderPlaced', data: { orderId: 'o-1', total: 42 } } as const;

describe('DeciderSpecification', () => {
  it('passes when the command produces the expected events', async () => {
    await spec.given([]).when({ kind: 'place', orderId: 'o-1', total: 42 }).then([placed]);
    await spec
      .given([placed])
      .when({ kind: 'ship', orderId: 'o-1' })
      .then([{ type: 'OrderShipped', data: { orderId: 'o-1' } }]);
  });

  it('fails with an AssertionError when the events differ', async () => {
    await expect(
      spec.given([]).when({ kind: 'place', orderId: 'o-1', total: 42 }).then([]),
    ).rejects.toMatchObject({
      name: 'AssertionError',
    });
    await expect(
      spec
        .given([])
        .when({ kind: 'place', orderId: 'o-1', total: 42 })
        .then([{ ...placed, data: { orderId: 'o-1', total: 1 } }]),
    ).rejects.toMatchObject({ name: 'AssertionError' });
  });

  it('compares metadata only where the expectation states it', async () => {
    await spec
      .given([])
      .when(
        { kind: 'place', orderId: 'o-1', total: 42 },
        { commandId: 'c-1', context: { correlationId: 'flow' } },
      )
      .then([{ ...placed, metadata: { correlationId: 'flow', commandId: 'c-1' } }]);
    await expect(
      spec
        .given([])
        .when({ kind: 'place', orderId: 'o-1', total: 42 })
        .then([{ ...placed, metadata: { correlationId: 'flow' } }]),
    ).rejects.toMatchObject({ name: 'AssertionError' });
  });

  it('checks refusals by class, predicate or fields, and fails when none or another error comes', async () => {
    const shipUnplaced = () => spec.given([]).when({ kind: 'ship', orderId: 'o-1' });
    await shipUnplaced().thenThrows(OrderError);
    await shipUnplaced().thenThrows((err) => err instanceof OrderError && err.message === 'not placed');
    await shipUnplaced().thenThrows({ name: 'OrderError', message: 'not placed' });
    await shipUnplaced().thenThrows();
    await expect(shipUnplaced().thenThrows(TypeError)).rejects.toMatchObject({ name: 'AssertionError' });
    await expect(
      spec.given([placed]).when({ kind: 'ship', orderId: 'o-1' }).thenThrows(),
    ).rejects.toMatchObject({
      name: 'AssertionError',
    });
    await spec
      .given([placed, { type: 'OrderShipped', data: { orderId: 'o-1' } }])
      .when({ kind: 'ship', orderId: 'o-1' })
      .thenNothing();
    await expect(
      spec.given([placed]).when({ kind: 'ship', orderId: 'o-1' }).thenNothing(),
    ).rejects.toMatchObject({
      name: 'AssertionError',
    });
  });

  it('refuses to be awaited by mistake instead of hanging', async () => {
    await expect(
      (async () => {
        await (spec.given([]).when({ kind: 'ship', orderId: 'o-1' }) as unknown as Promise<void>);
      })(),
    ).rejects.toThrow(/do not await when\(\)/);
  });

  it('reads the given events through upcasters when given them', async () => {
    const upcasters = new Upcasters({
      OrderPlaced: {
        currentVersion: 2,
        steps: { 1: (e) => ({ ...e, data: { ...(e.data as object), total: 0 } }) },
      },
    });
    const legacy = { type: 'OrderPlaced', data: { orderId: 'o-1' } };
    await DeciderSpecification.for(orders, { upcasters })
      .given([legacy])
      .when({ kind: 'ship', orderId: 'o-1' })
      .then([{ type: 'OrderShipped', data: { orderId: 'o-1' } }]);
  });

  it('works under node:test too', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', 'test/testing/fixtures/orders.node-test.ts'],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    // Two tests pass and the deliberately wrong expectation fails, with node's AssertionError.
    expect(run.stdout).toMatch(/# pass 2/);
    expect(run.stdout).toMatch(/# fail 1/);
    expect(run.stdout).toMatch(/AssertionError|ERR_ASSERTION/);
    expect(run.status).not.toBe(0);
  }, 60_000);
});
