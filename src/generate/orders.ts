// The content of one "orders" event: realistic enough to exercise parsing, typing and filters
// (weighted categories, a nested array, decimal amounts) at ~220–260 bytes of JSON.
import { weighted, type Random } from './random.ts';

export interface OrderItem {
  sku: string;
  qty: number;
  price: number;
}

export interface Order {
  /** Filler text, only with a record size to reach (`recordBytes`). */
  note?: string;
  event_id: string;
  user_id: string;
  session_id: string;
  amount: number;
  currency: string;
  status: string;
  country: string;
  device: string;
  items: OrderItem[];
  ts: number;
}

export const pickCurrency = weighted([
  ['EUR', 45],
  ['USD', 35],
  ['GBP', 12],
  ['JPY', 5],
  ['CHF', 3],
] as const);

/** 'test' is rare on purpose: a pipeline filter usually drops it. */
export const pickStatus = weighted([
  ['created', 40],
  ['paid', 34],
  ['shipped', 15],
  ['cancelled', 6],
  ['refunded', 4],
  ['test', 1],
] as const);

export const pickCountry = weighted([
  ['DE', 22],
  ['US', 20],
  ['FR', 12],
  ['GB', 11],
  ['NL', 8],
  ['ES', 7],
  ['IT', 7],
  ['PL', 5],
  ['SE', 4],
  ['JP', 4],
] as const);

export const pickDevice = weighted([
  ['ios', 35],
  ['android', 35],
  ['web', 22],
  ['desktop', 8],
] as const);

/** Mostly one item, sometimes a basket: keeps events in the ~220–260 byte range. */
const pickItemCount = weighted([
  [1, 75],
  [2, 22],
  [3, 3],
] as const);

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Builds one order; `amount` is the exact sum of the items so joins can check it. */
export function makeOrder(rng: Random, eventId: string, keySpread: number, ts: number): Order {
  const user = rng.int(keySpread);
  const itemCount = pickItemCount(rng);
  const items: OrderItem[] = [];
  let cents = 0;
  for (let i = 0; i < itemCount; i++) {
    const priceCents = rng.between(199, 19999);
    const qty = rng.between(1, 4);
    cents += priceCents * qty;
    items.push({ sku: `S${rng.between(100, 9999)}`, qty, price: priceCents / 100 });
  }
  return {
    event_id: eventId,
    user_id: `u-${user}`,
    // Sessions belong to a user and rotate: a few sessions per user over a run.
    session_id: `s-${user.toString(36)}-${rng.int(8)}`,
    amount: round2(cents / 100),
    currency: pickCurrency(rng),
    status: pickStatus(rng),
    country: pickCountry(rng),
    device: pickDevice(rng),
    items,
    ts,
  };
}

/**
 * Letters and digits drawn once: a padded order takes a slice at a random place, so big records
 * cost one substring each, not one random draw per byte, and still differ from one another.
 */
const FILLER = (() => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let x = 0x9e3779b9;
  let s = '';
  for (let i = 0; i < 1 << 17; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += alphabet[(x >>> 0) % alphabet.length];
  }
  return s;
})();

/** Adds a `note` so the order's JSON is `bytes` long (or as is, when it is already longer). */
export function padOrder(order: Order, bytes: number, rng: Random): void {
  const base = Buffer.byteLength(JSON.stringify(order)) + ',"note":""'.length;
  let need = bytes - base;
  if (need <= 0) return;
  let note = '';
  while (need > 0) {
    const n = Math.min(need, FILLER.length / 2);
    const at = rng.int(FILLER.length - n);
    note += FILLER.slice(at, at + n);
    need -= n;
  }
  order.note = note;
}
