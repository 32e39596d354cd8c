import type { Decider } from '../../src/index.js';

/** The write side: an order's events, commands and decider. */
export type OrderEvent =
  | { type: 'OrderPlaced'; data: { customer: string; total: number } }
  | { type: 'OrderShipped'; data: { carrier: string } };

export type OrderCommand =
  | { kind: 'place'; customer: string; total: number }
  | { kind: 'ship'; carrier: string };

type OrderState = { status: 'none' | 'placed' | 'shipped' };

export class OrderRefused extends Error {
  override readonly name = 'OrderRefused';
}

export const orderDecider: Decider<OrderState, OrderCommand, OrderEvent> = {
  initialState: () => ({ status: 'none' }),
  evolve: (_state, e) => ({ status: e.type === 'OrderPlaced' ? 'placed' : 'shipped' }),
  decide: (command, state) => {
    if (command.kind === 'place') {
      if (state.status !== 'none') throw new OrderRefused('the order is already placed');
      return [{ type: 'OrderPlaced', data: { customer: command.customer, total: command.total } }];
    }
    if (state.status === 'shipped') return [];
    if (state.status !== 'placed') throw new OrderRefused('the order was never placed');
    return [{ type: 'OrderShipped', data: { carrier: command.carrier } }];
  },
};
