import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionError } from '../core/errors.ts';
import { explainKafkaError, type KafkaTarget } from './kafka.ts';

const target: KafkaTarget = {
  brokers: ['127.0.0.1:9094'],
  clientId: 'test',
  ssl: false,
  connectionTimeoutMs: 1000,
  retries: 0,
};
const withSasl: KafkaTarget = {
  ...target,
  sasl: { mechanism: 'plain', username: 'weir', password: 's3cret-pw' },
};

/** A stand-in for a kafkajs error: the classifier reads name, type, broker and cause. */
function kafkaError(name: string, message: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, ...extra });
}

describe('explainKafkaError', () => {
  it('explains an unreachable broker through the retry wrapper', () => {
    const inner = kafkaError(
      'KafkaJSConnectionError',
      'Connection error: connect ECONNREFUSED 127.0.0.1:1',
      {
        broker: '127.0.0.1:1',
      },
    );
    const outer = kafkaError('KafkaJSNumberOfRetriesExceeded', inner.message, { cause: inner });
    const e = explainKafkaError(outer, { ...target, brokers: ['127.0.0.1:1'] });
    assert.ok(e instanceof ConnectionError);
    assert.equal(e.retriable, true);
    assert.match(
      e.describe(),
      /cannot reach Kafka broker 127\.0\.0\.1:1: .*ECONNREFUSED.*fix: check --brokers/,
    );
  });

  it('explains rejected credentials, naming the user but never the password', () => {
    const err = kafkaError(
      'KafkaJSSASLAuthenticationError',
      'SASL PLAIN authentication failed: bad password s3cret-pw',
    );
    const text = explainKafkaError(err, withSasl).describe();
    assert.match(text, /rejected the SASL credentials of user "weir" \(plain\)/);
    assert.match(text, /WEIR_SASL_PASSWORD/);
    assert.ok(!text.includes('s3cret-pw'));
  });

  it('explains SASL against a PLAINTEXT listener', () => {
    const err = kafkaError(
      'KafkaJSProtocolError',
      'Request is not valid given the current SASL state',
      {
        type: 'ILLEGAL_SASL_STATE',
      },
    );
    assert.match(
      explainKafkaError(err, withSasl).describe(),
      /does not expect SASL.*fix: point --brokers/,
    );
  });

  it('explains a listener that closes a plain connection (SASL or TLS required)', () => {
    const err = kafkaError('KafkaJSConnectionClosedError', 'Closed connection', {
      broker: '127.0.0.1:9094',
    });
    assert.match(
      explainKafkaError(err, target).describe(),
      /closed the connection.*--sasl-mechanism/,
    );
  });

  it('names the topic on authorization failures', () => {
    const err = kafkaError('KafkaJSProtocolError', 'Not authorized to access topics', {
      type: 'TOPIC_AUTHORIZATION_FAILED',
    });
    assert.match(
      explainKafkaError(err, withSasl, 'orders').describe(),
      /refused access to topic orders/,
    );
  });

  it('falls back to the raw message for anything else', () => {
    assert.match(
      explainKafkaError(new Error('boom'), target).describe(),
      /Kafka at 127\.0\.0\.1:9094 failed: boom/,
    );
    assert.match(explainKafkaError('weird', target).describe(), /failed: weird/);
  });
});
