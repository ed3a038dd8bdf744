// Micro-benchmark of the record path: parse + transforms over 200k ~220-byte JSON events.
//   node --import tsx src/stages/bench.ts
import { performance } from 'node:perf_hooks';
import type { Envelope, SourceRecord, StageOutput } from '../core/record.ts';
import type { FieldSpec, TransformConfig } from './options.ts';
import { createParser, schemaFields } from './parse.ts';
import type { Stage } from './stage.ts';
import { toEnvelopes } from './stage.ts';
import { buildTransforms } from './transforms.ts';

const RECORDS = 200_000;
const BATCH = 500;

const fields: Record<string, FieldSpec> = {
  event_id: 'uuid',
  ts: 'datetime',
  type: 'string',
  user_id: { type: 'integer', path: 'user.id' },
  country: { type: 'string', path: 'user.country', nullable: true },
  amount: { type: 'number', nullable: true },
  currency: { type: 'string', default: 'EUR' },
  url: 'string',
  session: 'string',
  kafka_ts: { type: 'datetime', from: 'timestamp' },
  partition: { type: 'integer', from: 'partition' },
};

const transforms: TransformConfig[] = [
  { filter: 'type != "heartbeat"' },
  {
    compute: {
      amount_cents: { expr: 'round(coalesce(amount, 0) * 100)', type: 'integer' },
      country_code: { expr: 'lower(coalesce(country, "zz"))', type: 'string' },
    },
  },
  { convert: { user_id: 'string' } },
  { rename: { type: 'event_type' } },
  { drop: ['session'] },
];

const types = ['page_view', 'add_to_cart', 'purchase', 'heartbeat', 'search'];
const countries = ['DE', 'FR', 'US', 'BR', null];

function event(i: number): Buffer {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);
  return Buffer.from(
    JSON.stringify({
      event_id: `${hex(i * 2654435761, 8)}-${hex(i, 4)}-4${hex(i, 3)}-8${hex(i * 7, 3)}-${hex(i * 31, 12)}`,
      ts: new Date(1714564800000 + i * 37).toISOString(),
      type: types[i % types.length],
      user: { id: 100000 + (i % 50000), country: countries[i % countries.length] },
      amount: i % 3 === 0 ? null : Math.round(i % 10000) / 100,
      ...(i % 4 === 0 ? {} : { currency: 'USD' }),
      url: `https://shop.example.com/p/${i % 9973}`,
      session: `s-${hex(i * 40503, 8)}`,
    }),
  );
}

function records(count: number): SourceRecord[][] {
  const batches: SourceRecord[][] = [];
  for (let start = 0; start < count; start += BATCH) {
    const batch: SourceRecord[] = [];
    for (let i = start; i < Math.min(start + BATCH, count); i++) {
      batch.push({
        topic: 'events',
        partition: i % 6,
        offset: String(i),
        key: null,
        value: event(i),
        headers: {},
        timestamp: 1714564800000 + i,
      });
    }
    batches.push(batch);
  }
  return batches;
}

function run(stages: readonly Stage[], batches: SourceRecord[][]): { ms: number; out: number } {
  let out = 0;
  const start = performance.now();
  for (const records of batches) {
    let batch: Envelope[] = toEnvelopes(records);
    for (const stage of stages) batch = (stage.process(batch) as StageOutput).out;
    out += batch.length;
  }
  return { ms: performance.now() - start, out };
}

const parse = createParser(fields);
const chain = [parse, ...buildTransforms(transforms, schemaFields(fields))];
const data = records(RECORDS);
const bytes = data.flat().reduce((sum, r) => sum + (r.value?.length ?? 0), 0);

run(chain, records(50_000)); // warm-up: let V8 optimise the closures
const parsed = run([parse], data);
const full = run(chain, data);

const perRecord = (ms: number) => ((ms * 1000) / RECORDS).toFixed(2);
console.log(
  `${RECORDS} records, ${(bytes / RECORDS).toFixed(0)} bytes on average, batches of ${BATCH}`,
);
console.log(`parse only:          ${perRecord(parsed.ms)} µs/record`);
console.log(
  `parse + ${transforms.length} transforms: ${perRecord(full.ms)} µs/record ` +
    `(${Math.round(RECORDS / (full.ms / 1000)).toLocaleString('en')} records/s, ${full.out} kept)`,
);
