// Real clients for the local stack, and random names so tests never share a topic, table or bucket.
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { stackContext } from '../../scripts/stack/context.ts';
import { postgresUrl } from '../../scripts/stack/postgres.ts';
import { tlsFiles, type TlsFiles } from '../../scripts/stack/tls.ts';

export const endpoints = {
  kafka: process.env.WEIR_TEST_KAFKA ?? '127.0.0.1:9092',
  kafkaSasl: process.env.WEIR_TEST_KAFKA_SASL ?? '127.0.0.1:9094',
  /** TLS listener requiring a client certificate signed by the stack's CA. */
  kafkaTls: process.env.WEIR_TEST_KAFKA_TLS ?? '127.0.0.1:9095',
  clickhouse: process.env.WEIR_TEST_CLICKHOUSE ?? 'http://127.0.0.1:8123',
  clickhouseTls: process.env.WEIR_TEST_CLICKHOUSE_TLS ?? 'https://127.0.0.1:8443',
  nats: process.env.WEIR_TEST_NATS ?? '127.0.0.1:4222',
  /** The TLS-only NATS server (nats-tls), requiring a client certificate. */
  natsTls: process.env.WEIR_TEST_NATS_TLS ?? '127.0.0.1:4223',
  /** PostgreSQL as role weir (password weir), database weir; scram-sha-256 over TCP. */
  postgres: process.env.WEIR_TEST_POSTGRES_URL ?? postgresUrl(),
};

/** The stack's certificates (scripts/stack/tls.ts): CA, server, client, and the bad ones. */
export function stackTls(): TlsFiles {
  return tlsFiles(stackContext().root);
}

/** A connection to the TLS-only NATS server, with the stack's client certificate. */
export function natsTlsConnect(): Promise<NatsConnection> {
  const f = stackTls();
  return connect({
    servers: endpoints.natsTls,
    name: randomName('weir-test'),
    tls: {
      ca: readFileSync(f.ca, 'utf8'),
      cert: readFileSync(f.clientCert, 'utf8'),
      key: readFileSync(f.clientKey, 'utf8'),
    },
  });
}

/** A short random name safe for Kafka topics, ClickHouse tables and NATS buckets. */
export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function kafka(clientId = randomName('test')): Kafka {
  return new Kafka({ clientId, brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
}

/** Creates a topic and returns its name; call the returned cleanup to delete it. */
export async function createTopic(
  prefix = 'weir-test',
  partitions = 1,
): Promise<{ topic: string; admin: Admin; cleanup: () => Promise<void> }> {
  const topic = randomName(prefix);
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions }],
    waitForLeaders: true,
  });
  return {
    topic,
    admin,
    cleanup: async () => {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export function clickhouse(): ClickHouseClient {
  return createClient({ url: endpoints.clickhouse, request_timeout: 30_000 });
}

/** A connected PostgreSQL client (endpoints.postgres unless another URL is given); end() it. */
export async function postgres(url = endpoints.postgres): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  return client;
}

export function natsConnect(): Promise<NatsConnection> {
  return connect({ servers: endpoints.nats, name: randomName('weir-test') });
}

/** Deletes NATS KV buckets a test made (missing ones are fine). */
export async function deleteBuckets(names: readonly string[]): Promise<void> {
  const nc = await natsConnect();
  const jsm = await nc.jetstreamManager();
  for (const b of names) await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
  await nc.close();
}
