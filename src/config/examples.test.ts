import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { typeToString } from '../core/fields.ts';
import { loadConfig } from './load.ts';
import { outputFields, sinkFields } from './schema.ts';

const demo = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));

test('examples/demo.yaml loads with its defaults', () => {
  const config = loadConfig(demo, {});
  assert.equal(config.pipelines.length, 1);
  const [orders] = config.pipelines;
  assert.ok(orders);
  assert.equal(orders.name, 'orders');
  assert.deepEqual(orders.source.topics, ['weir-demo-orders']);
  assert.deepEqual(orders.source.brokers, ['127.0.0.1:9092']);
  assert.equal(orders.sink.clickhouse.table, 'demo_orders');
  assert.deepEqual(orders.sink.clickhouse.create_table?.order_by, ['created_at', 'order_id']);
  assert.equal(config.agent.http.port, 8090);
  assert.deepEqual(
    outputFields(orders).map((f) => `${f.name}:${typeToString(f.type)}`),
    [
      'order_id:uuid',
      'user_id:string',
      'amount:number',
      'currency:string',
      'status:string',
      'created_at:datetime',
      'items:json',
      'is_mobile:boolean',
      'item_count:integer',
    ],
  );
});

test('examples/demo.yaml takes its endpoints from the environment', () => {
  const config = loadConfig(demo, {
    KAFKA_BROKER: 'kafka:29092',
    CLICKHOUSE_URL: 'http://clickhouse:8123',
    CLICKHOUSE_PASSWORD: 's3cret',
    WEIR_HTTP_PORT: '9100',
  });
  const [orders] = config.pipelines;
  assert.deepEqual(orders?.source.brokers, ['kafka:29092']);
  assert.equal(orders?.sink.clickhouse.url, 'http://clickhouse:8123');
  assert.equal(orders?.sink.clickhouse.password, 's3cret');
  assert.equal(config.agent.http.port, 9100);
});

test('examples/join.yaml loads: dedup, then a left join whose right fields are nullable', () => {
  const path = fileURLToPath(new URL('../../examples/join.yaml', import.meta.url));
  const [p] = loadConfig(path, {}).pipelines;
  assert.ok(p?.join && p.dedup);
  assert.equal(p.join.type, 'left');
  assert.equal(p.join.right.topic, 'weir-demo-payments');
  assert.equal(p.join.nats.bucket, 'weir_join_paid_orders');
  assert.deepEqual(
    sinkFields(p)
      .filter((f) => f.nullable)
      .map((f) => f.name),
    ['payment_id', 'paid_amount', 'method', 'paid_at'],
  );
});

test('examples/exactly-once.yaml: exactly-once required, into a Replicated table it can create', () => {
  const path = fileURLToPath(new URL('../../examples/exactly-once.yaml', import.meta.url));
  const [p] = loadConfig(path, {}).pipelines;
  assert.ok(p);
  assert.equal(p.sink.clickhouse.exactly_once.mode, 'required');
  assert.match(
    p.sink.clickhouse.create_table?.engine ?? '',
    /^ReplicatedMergeTree\('.+', '\{replica\}'\)$/,
  );
  assert.deepEqual(p.sink.clickhouse.create_table?.order_by, ['created_at', 'order_id']);
});

test('every example config loads', () => {
  const dir = new URL('../../examples/', import.meta.url);
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 3, files.join(', '));
  for (const file of files) assert.ok(loadConfig(fileURLToPath(new URL(file, dir)), {}), file);
});

test('examples/tls.yaml: Kafka, ClickHouse and both NATS sections over TLS', () => {
  const path = fileURLToPath(new URL('../../examples/tls.yaml', import.meta.url));
  const [p] = loadConfig(path, {}).pipelines;
  assert.ok(p?.dedup);
  const mtls = {
    ca_file: '.weir/stack/tls/ca.pem',
    cert_file: '.weir/stack/tls/client.pem',
    key_file: '.weir/stack/tls/client.key',
  };
  assert.deepEqual(p.source.tls, { enabled: true, reject_unauthorized: true, ...mtls });
  assert.deepEqual(p.dedup.nats.tls, mtls);
  assert.deepEqual(p.sink.clickhouse.exactly_once.nats.tls, mtls);
  assert.equal(p.sink.clickhouse.url, 'https://127.0.0.1:8443');
  assert.deepEqual(p.sink.clickhouse.tls, { ca_file: mtls.ca_file });
});
