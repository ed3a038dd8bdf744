import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { weirConfigSchema } from '../config/schema.ts';
import { minimalConfig, minimalPipeline } from '../config/testing.ts';
import { main } from './main.ts';
import { windowLatencyLines } from './window-latency.ts';

const joined = minimalPipeline({
  schema: { fields: { id: 'uuid', at: 'datetime' } },
  join: {
    type: 'left',
    within: '30s',
    left: { key: 'id', time: 'at' },
    right: {
      topic: 'payments',
      schema: { fields: { order_id: 'string', paid_at: 'datetime' } },
      key: 'order_id',
      time: 'paid_at',
    },
  },
  dedup: { key: 'id', window: '1h', time: { field: 'at' } },
});
const plain = minimalPipeline({ name: 'plain' });

test('one line per pipeline with a join or an event-time dedup, naming what it adds', () => {
  const cfg = weirConfigSchema.parse(minimalConfig(joined, plain));
  assert.deepEqual(windowLatencyLines(cfg), [
    '  orders: the left join adds up to 35s of event time (within 30s + allowed_lateness 5s; up to idle_timeout 10s more while a right partition is idle); later left events land unmatched at once',
    "  orders: dedup adds no delay (decided at once); records more than 1h behind their partition's newest time are late: kept, unremembered (counted, logged)",
  ]);
});

test('weir validate --offline prints the lines after its OK line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-validate-'));
  const path = join(dir, 'weir.json');
  writeFileSync(path, JSON.stringify(minimalConfig(joined, plain)));
  let out = '';
  t.mock.method(process.stdout, 'write', (chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  assert.equal(await main(['validate', '--offline', '-c', path]), 0);
  t.mock.restoreAll();
  const lines = out.trim().split('\n');
  assert.match(lines[0]!, /: OK \(2 pipelines: orders, plain; connections not checked\)$/);
  assert.match(lines[1]!, /^ {2}orders: the left join adds up to 35s/);
  assert.equal(lines.length, 3);
});
