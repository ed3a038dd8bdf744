// The joinable second stream: a payment follows its order within a bounded delay, and is held
// back until the orders stream reaches its time, so it arrives after the order as it would live.
import { weighted, type Random } from './random.ts';

export interface Payment {
  payment_id: string;
  /** The `event_id` of the order it pays, or an id no order has (an orphan). */
  order_id: string;
  amount: number;
  method: string;
  ts: number;
}

export const pickMethod = weighted([
  ['card', 55],
  ['paypal', 20],
  ['apple_pay', 12],
  ['bank_transfer', 10],
  ['voucher', 3],
] as const);

export function makePayment(rng: Random, orderId: string, amount: number, ts: number): Payment {
  return { payment_id: rng.uuid(), order_id: orderId, amount, method: pickMethod(rng), ts };
}

interface Pending<T> {
  due: number;
  seq: number;
  item: T;
}

/** Items released in due-time order (ties in insertion order): a binary min-heap. */
export class Schedule<T> {
  private readonly heap: Pending<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  add(due: number, item: T): void {
    this.heap.push({ due, seq: this.seq++, item });
    this.siftUp(this.heap.length - 1);
  }

  /** Whether anything is due at or before `now` (cheap: no allocation). */
  hasDue(now: number): boolean {
    return this.heap.length > 0 && this.heap[0]!.due <= now;
  }

  /** Removes and returns every item due at or before `now`, earliest first. */
  takeDue(now: number): T[] {
    const out: T[] = [];
    while (this.heap.length > 0 && this.heap[0]!.due <= now) out.push(this.pop());
    return out;
  }

  /** Removes and returns everything, earliest first. */
  takeAll(): T[] {
    return this.takeDue(Infinity);
  }

  private pop(): T {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top.item;
  }

  private before(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
