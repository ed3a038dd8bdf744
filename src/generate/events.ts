// The deterministic event factory: an "orders" stream with known duplicates and malformed
// records, plus a joinable "payments" stream. Same options and seed → same records, byte for byte,
// so a test can recompute exactly what a run produced.
import { makeMalformed, malformedKinds, type MalformedKind } from './malformed.ts';
import { makeOrder, padOrder } from './orders.ts';
import { makePayment, Schedule, type Payment } from './payments.ts';
import { Random } from './random.ts';

export interface EventFactoryOptions {
  seed: number;
  /** Number of distinct users (`u-0` … `u-<n-1>`). */
  keySpread: number;
  /** Probability that a record repeats an earlier valid event verbatim. */
  dupRate: number;
  /** A duplicate repeats one of the last `dupWindow` distinct valid events (bounds dedup windows). */
  dupWindow: number;
  /** Probability that a record is malformed (one of `malformedKinds`, equally likely). */
  badRate: number;
  /** Event time of record 0, epoch ms. */
  baseTime: number;
  /** Event-time step between consecutive records, ms (fractions allowed). */
  intervalMs: number;
  /** Events are up to this many ms late (out of order); 0 = in order. */
  jitterMs: number;
  /** Fraction of distinct valid orders that get a payment. */
  joinRate: number;
  /** A payment's `ts` is its order's `ts` plus 0…joinDelayMs. */
  joinDelayMs: number;
  /** Per distinct valid order, probability of an extra payment whose order_id matches no order. */
  orphanRate: number;
  /** Keep every unique event id and join pair in memory for `uniqueEventIds()` / `joinPairs()`. */
  trackIds: boolean;
  /** Pad each order with a `note` text field so its JSON is about this many bytes; 0 = no padding. */
  recordBytes: number;
}

export const eventDefaults: Readonly<Omit<EventFactoryOptions, 'seed'>> = {
  keySpread: 10_000,
  dupRate: 0.1,
  dupWindow: 1000,
  badRate: 0,
  baseTime: Date.UTC(2025, 0, 1),
  intervalMs: 1,
  jitterMs: 0,
  joinRate: 0,
  joinDelayMs: 5000,
  orphanRate: 0,
  trackIds: false,
  recordBytes: 0,
};

export type RecordKind = 'order' | 'duplicate' | MalformedKind | 'payment' | 'orphan_payment';

export interface GeneratedRecord {
  stream: 'orders' | 'payments';
  kind: RecordKind;
  /** `event_id` of an order (also for malformed ones) or `payment_id` of a payment. */
  id: string;
  /** Message key when keyed: the order's `event_id`, or the payment's `order_id` (co-partitioned). */
  key: string | null;
  ts: number;
  value: Buffer;
}

export interface GeneratorCounts {
  /** Records on the orders stream: unique + duplicates + all malformed. */
  total: number;
  /** Distinct valid orders. */
  unique: number;
  duplicates: number;
  malformed: Record<MalformedKind, number>;
  /** Records on the payments stream: joinablePairs + orphanPayments. */
  payments: number;
  /** Payments whose order_id is a valid order's event_id. */
  joinablePairs: number;
  orphanPayments: number;
}

export interface JoinPair {
  orderId: string;
  paymentId: string;
}

export const emptyCounts = (): GeneratorCounts => ({
  total: 0,
  unique: 0,
  duplicates: 0,
  malformed: { invalid_json: 0, wrong_type: 0, missing_field: 0 },
  payments: 0,
  joinablePairs: 0,
  orphanPayments: 0,
});

const NOTHING_DUE: readonly GeneratedRecord[] = Object.freeze([]);

export class EventFactory {
  readonly options: EventFactoryOptions;
  // Separate sequences, so e.g. turning payments on does not change the orders.
  private readonly decide: Random;
  private readonly content: Random;
  private readonly join: Random;
  private readonly recent: GeneratedRecord[] = [];
  private recentNext = 0;
  private index = 0;
  private readonly pending = new Schedule<GeneratedRecord>();
  private readonly stats = emptyCounts();
  private readonly ids: string[] = [];
  private readonly pairs: JoinPair[] = [];

  constructor(options: Partial<EventFactoryOptions> & { seed: number }) {
    this.options = { ...eventDefaults, ...options };
    const { seed, dupWindow, keySpread } = this.options;
    // Full validation lives in the generator options; these two would break the arithmetic.
    if (!(dupWindow >= 1) || !(keySpread >= 1)) {
      throw new RangeError(
        `dupWindow and keySpread must be ≥ 1, got ${dupWindow} and ${keySpread}`,
      );
    }
    this.decide = new Random(seed, 0);
    this.content = new Random(seed, 1);
    this.join = new Random(seed, 2);
  }

  /** Event time the orders stream has reached (ignoring jitter). */
  get streamTime(): number {
    const { baseTime, intervalMs } = this.options;
    return baseTime + Math.floor(Math.max(0, this.index - 1) * intervalMs);
  }

  /** The next record of the orders stream. */
  nextOrder(): GeneratedRecord {
    const { badRate, dupRate, baseTime, intervalMs, jitterMs, keySpread } = this.options;
    const streamTime = baseTime + Math.floor(this.index * intervalMs);
    this.index++;
    this.stats.total++;
    const draw = this.decide.float();
    if (draw < badRate + dupRate && draw >= badRate && this.recent.length > 0) {
      const original = this.recent[this.decide.int(this.recent.length)]!;
      this.stats.duplicates++;
      return { ...original, kind: 'duplicate' };
    }
    const eventId = this.content.uuid();
    const ts = jitterMs > 0 ? streamTime - this.content.int(jitterMs + 1) : streamTime;
    const order = makeOrder(this.content, eventId, keySpread, ts);
    if (this.options.recordBytes > 0) padOrder(order, this.options.recordBytes, this.content);
    if (draw < badRate) {
      const kind = malformedKinds[this.decide.int(malformedKinds.length)]!;
      this.stats.malformed[kind]++;
      const key = kind === 'missing_field' ? null : eventId;
      const value = makeMalformed(kind, order, this.content);
      return { stream: 'orders', kind, id: eventId, key, ts, value };
    }
    const record: GeneratedRecord = {
      stream: 'orders',
      kind: 'order',
      id: eventId,
      key: eventId,
      ts,
      value: Buffer.from(JSON.stringify(order)),
    };
    this.remember(record);
    this.stats.unique++;
    if (this.options.trackIds) this.ids.push(eventId);
    this.schedulePayments(eventId, order.amount, ts, streamTime);
    return record;
  }

  /** Payments whose time the orders stream has reached; call after each `nextOrder()`. */
  duePayments(): readonly GeneratedRecord[] {
    // Called once per order: skip the allocation in the common case of nothing due.
    if (!this.pending.hasDue(this.streamTime)) return NOTHING_DUE;
    return this.release(this.pending.takeDue(this.streamTime));
  }

  /** Every payment still held back, for the end of a run. */
  remainingPayments(): GeneratedRecord[] {
    return this.release(this.pending.takeAll());
  }

  /** Payments scheduled but not yet released. */
  get pendingPayments(): number {
    return this.pending.size;
  }

  counts(): GeneratorCounts {
    return { ...this.stats, malformed: { ...this.stats.malformed } };
  }

  /** Event ids of the distinct valid orders produced so far, in order (needs `trackIds`). */
  uniqueEventIds(): string[] {
    this.requireTracking();
    return [...this.ids];
  }

  /** Order/payment pairs released so far (needs `trackIds`). */
  joinPairs(): JoinPair[] {
    this.requireTracking();
    return [...this.pairs];
  }

  private requireTracking(): void {
    if (!this.options.trackIds) throw new Error('create the EventFactory with trackIds: true');
  }

  private remember(record: GeneratedRecord): void {
    if (this.recent.length < this.options.dupWindow) {
      this.recent.push(record);
    } else {
      this.recent[this.recentNext] = record;
      this.recentNext = (this.recentNext + 1) % this.options.dupWindow;
    }
  }

  private schedulePayments(orderId: string, amount: number, ts: number, streamTime: number): void {
    const { joinRate, joinDelayMs, orphanRate } = this.options;
    if (joinRate > 0 && this.join.chance(joinRate)) {
      const payment = makePayment(this.join, orderId, amount, ts + this.join.int(joinDelayMs + 1));
      this.pending.add(payment.ts, paymentRecord('payment', payment));
    }
    if (orphanRate > 0 && this.join.chance(orphanRate)) {
      const payTs = streamTime + this.join.int(joinDelayMs + 1);
      const amount = this.join.between(100, 50000) / 100;
      const payment = makePayment(this.join, this.join.uuid(), amount, payTs);
      this.pending.add(payment.ts, paymentRecord('orphan_payment', payment));
    }
  }

  private release(records: GeneratedRecord[]): GeneratedRecord[] {
    for (const r of records) {
      this.stats.payments++;
      if (r.kind === 'payment') {
        this.stats.joinablePairs++;
        if (this.options.trackIds) this.pairs.push({ orderId: r.key!, paymentId: r.id });
      } else {
        this.stats.orphanPayments++;
      }
    }
    return records;
  }
}

function paymentRecord(kind: 'payment' | 'orphan_payment', payment: Payment): GeneratedRecord {
  const value = Buffer.from(JSON.stringify(payment));
  return {
    stream: 'payments',
    kind,
    id: payment.payment_id,
    key: payment.order_id,
    ts: payment.ts,
    value,
  };
}
