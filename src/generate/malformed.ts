// Bad records a real stream carries, one kind each, so dead-letter handling can be tested.
import type { Order } from './orders.ts';
import type { Random } from './random.ts';

export const malformedKinds = ['invalid_json', 'wrong_type', 'missing_field'] as const;
export type MalformedKind = (typeof malformedKinds)[number];

/** Serializes a broken variant of `order`. */
export function makeMalformed(kind: MalformedKind, order: Order, rng: Random): Buffer {
  switch (kind) {
    case 'invalid_json': {
      // A torn write: any proper prefix of a JSON object is invalid JSON.
      const text = JSON.stringify(order);
      return Buffer.from(text.slice(0, rng.between(text.length >> 2, text.length - 1)));
    }
    case 'wrong_type':
      return Buffer.from(JSON.stringify({ ...order, amount: 'abc' }));
    case 'missing_field': {
      const rest: Partial<Order> = { ...order };
      delete rest.event_id;
      return Buffer.from(JSON.stringify(rest));
    }
  }
}

/** What a consumer sees in an orders record: the inverse of makeMalformed, for tests and checks. */
export function classifyOrder(value: Buffer | null): 'valid' | MalformedKind {
  if (value === null) return 'invalid_json';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return 'invalid_json';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'invalid_json';
  const rec = parsed as Record<string, unknown>;
  if (typeof rec.event_id !== 'string') return 'missing_field';
  if (typeof rec.amount !== 'number') return 'wrong_type';
  return 'valid';
}
