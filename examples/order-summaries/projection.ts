import type { RecordedEvent } from '../../src/index.js';
import { defineProjection, type SqlClient, sqlReadModel } from '../../src/projections/index.js';

/** A row of the `order_summaries` read model, as readers see it. */
export interface OrderSummary {
  order_id: string;
  customer: string | null;
  total: number | null;
  status: 'placed' | 'shipped';
  carrier: string | null;
  placed_at: Date;
  shipped_at: Date | null;
  /** The order stream's version last applied to the row: what makes a replayed event a no-op. */
  version: number;
}

const text = (e: RecordedEvent, key: string): string | null => {
  const value = (e.data as Record<string, unknown> | null)?.[key];
  return typeof value === 'string' ? value : null;
};

/**
 * The read side: `order_summaries`, one row per order stream, fed by OrderPlaced and OrderShipped. Readers query the
 * view `order_summaries` (in `schema` when given); each generation is a table `order_summaries_v<n>` behind it.
 *
 * Idempotent, so that at-least-once delivery (every backend but PostgreSQL's own database) is safe: each row keeps the
 * stream version of the last event applied, and a statement changes the row only for a newer version.
 */
export function orderSummaries(options: { schema?: string } = {}) {
  const readModel = sqlReadModel({
    ...options,
    columns: `order_id text PRIMARY KEY, customer text, total numeric, status text NOT NULL, carrier text,
      placed_at timestamptz NOT NULL, shipped_at timestamptz, version integer NOT NULL`,
    afterCreate: ['CREATE INDEX IF NOT EXISTS {name}_status ON {table} (status)'],
  });
  const projection = defineProjection<SqlClient>({
    name: 'order_summaries',
    readModel,
    handlers: {
      OrderPlaced: async (e, { db, target }) => {
        const total = (e.data as { total?: unknown } | null)?.total;
        await db.query(
          `INSERT INTO ${readModel.table(target)} AS s (order_id, customer, total, status, placed_at, version)
           VALUES ($1, $2, $3, 'placed', $4, $5)
           ON CONFLICT (order_id) DO UPDATE
             SET customer = EXCLUDED.customer, total = EXCLUDED.total, placed_at = EXCLUDED.placed_at,
                 version = EXCLUDED.version
             WHERE s.version < EXCLUDED.version`,
          [e.streamId, text(e, 'customer'), typeof total === 'number' ? total : null, e.createdAt, e.version],
        );
      },
      OrderShipped: async (e, { db, target }) => {
        await db.query(
          `UPDATE ${readModel.table(target)}
             SET status = 'shipped', carrier = $2, shipped_at = $3, version = $4
           WHERE order_id = $1 AND version < $4`,
          [e.streamId, text(e, 'carrier'), e.createdAt, e.version],
        );
      },
    },
  });
  return {
    projection,
    readModel,
    /** Every summary, by order id, through the view readers use. */
    async rows(db: SqlClient): Promise<OrderSummary[]> {
      const rows = await db.query<OrderSummary & { total: string | number | null }>(
        `SELECT * FROM ${readModel.view('order_summaries')} ORDER BY order_id`,
      );
      return rows.map((r) => ({ ...r, total: r.total === null ? null : Number(r.total) }));
    },
  };
}
