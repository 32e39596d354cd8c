import { spawnSync } from 'node:child_process';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { orderSummaries } from '../../examples/order-summaries/projection.js';
import { Upcasters } from '../../src/index.js';
import { type SqlClient, sqlClient } from '../../src/projections/index.js';
import { ProjectionSpecification } from '../../src/testing/index.js';
import { orderCounts, orderCountsOptions } from './fixtures/order-counts.js';

const spec = ProjectionSpecification.for(orderCounts, orderCountsOptions);
const added = (streamId: string) => ({ type: 'ItemAdded', data: {}, streamId });

describe('ProjectionSpecification', () => {
  it('passes when the read model holds what is expected', async () => {
    await spec.given([added('o-1'), added('o-2'), added('o-1')]).then({ 'o-1': 2, 'o-2': 1 });
    await spec.given([added('o-1'), { type: 'OrderCleared', data: {}, streamId: 'o-1' }]).then({ 'o-1': 0 });
    await spec.given([{ type: 'Unrelated', data: {} }]).then({});
  });

  it('fails with an AssertionError when the read model differs', async () => {
    await expect(spec.given([added('o-1')]).then({ 'o-1': 2 })).rejects.toMatchObject({
      name: 'AssertionError',
    });
  });

  it("rethrows a handler's error", async () => {
    await expect(
      spec.given([added('o-1'), { type: 'OrderCleared', data: { fail: true }, streamId: 'o-1' }]).then({}),
    ).rejects.toThrow('cannot clear');
  });

  it('refuses to be awaited by mistake instead of hanging', async () => {
    await expect(
      (async () => {
        await (spec.given([]) as unknown as Promise<void>);
      })(),
    ).rejects.toThrow(/do not await given\(\)/);
  });

  it('reads the given events through upcasters when given them', async () => {
    // Version 1 of OrderCleared could fail; version 2 never does.
    const upcasters = new Upcasters({
      OrderCleared: { currentVersion: 2, steps: { 1: (e) => ({ ...e, data: { fail: false } }) } },
    });
    const history = [added('o-1'), { type: 'OrderCleared', data: { fail: true }, streamId: 'o-1' }];
    await ProjectionSpecification.for(orderCounts, { ...orderCountsOptions, upcasters })
      .given(history)
      .then({ 'o-1': 0 });
  });

  it('specifies a SQL read model: order_summaries in PGlite', { timeout: 120_000 }, async () => {
    const summaries = orderSummaries();
    const instances = new Map<SqlClient, PGlite>();
    await ProjectionSpecification.for(summaries.projection, {
      db: () => {
        const instance = new PGlite();
        instances.set(sqlClient(instance), instance);
        return [...instances.keys()].at(-1)!;
      },
      read: async (db: SqlClient) =>
        (await summaries.rows(db)).map(({ order_id, customer, total, status, carrier }) => ({
          order_id,
          customer,
          total,
          status,
          carrier,
        })),
      close: async (db) => instances.get(db)?.close(),
    })
      .given([
        { type: 'OrderPlaced', data: { customer: 'ada', total: 42 }, streamId: 'order-1' },
        { type: 'OrderPlaced', data: { customer: 'grace', total: 7 }, streamId: 'order-2' },
        { type: 'OrderShipped', data: { carrier: 'post' }, streamId: 'order-1' },
      ])
      .then([
        { order_id: 'order-1', customer: 'ada', total: 42, status: 'shipped', carrier: 'post' },
        { order_id: 'order-2', customer: 'grace', total: 7, status: 'placed', carrier: null },
      ]);
  });

  it('works under node:test too', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', 'test/testing/fixtures/order-counts.node-test.ts'],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(run.stdout).toMatch(/# pass 2/);
    expect(run.stdout).toMatch(/# fail 1/);
    expect(run.stdout).toMatch(/AssertionError|ERR_ASSERTION/);
    expect(run.status).not.toBe(0);
  }, 60_000);
});
