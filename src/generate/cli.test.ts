import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { describeError } from '../core/errors.ts';
import {
  generateFlags,
  generateHelp,
  generateMain,
  parseGenerateArgs,
  PASSWORD_ENV,
} from './cli.ts';

const env = {};

function parseError(argv: string[], environment: NodeJS.ProcessEnv = env): string {
  try {
    parseGenerateArgs(argv, environment);
  } catch (err) {
    return describeError(err);
  }
  assert.fail(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseGenerateArgs', () => {
  it('applies the documented defaults', () => {
    const o = parseGenerateArgs([], env);
    assert.deepEqual(o.brokers, ['127.0.0.1:9092']);
    assert.equal(o.topic, 'weir-demo-orders');
    assert.equal(o.joinTopic, undefined);
    assert.equal(o.count, 100_000);
    assert.equal(o.rate, 0);
    assert.equal(o.dupRate, 0.1);
    assert.equal(o.badRate, 0);
    assert.equal(o.keySpread, 10_000);
    assert.equal(o.partitions, 4);
    assert.equal(o.keyed, true);
    assert.equal(o.seed, 1);
    assert.equal(o.traceparentRate, 0);
    assert.equal(o.sasl, undefined);
  });

  it('reads every flag, with spaces or =', () => {
    const o = parseGenerateArgs(
      [
        '--brokers=a:1,b:2',
        '--brokers',
        'c:3',
        '--topic',
        'orders',
        '--join-topic=payments',
        '--count',
        '1_000',
        '--rate',
        '2500.5',
        '--dup-rate',
        '0.2',
        '--bad-rate=0.01',
        '--key-spread',
        '50',
        '--partitions',
        '6',
        '--no-keyed',
        '--seed',
        '-7',
        '--traceparent-rate',
        '0.5',
        '--join-rate',
        '0.9',
        '--join-delay-ms',
        '100',
        '--orphan-rate',
        '0',
        '--jitter-ms',
        '20',
        '--interval-ms',
        '2',
        '--base-time',
        '1700000000000',
        '--batch-size',
        '500',
        '--max-in-flight',
        '2',
        '--dup-window',
        '10',
        '--client-id',
        'gen',
        '--ssl',
      ],
      env,
    );
    assert.deepEqual(o.brokers, ['a:1', 'b:2', 'c:3']);
    assert.equal(o.topic, 'orders');
    assert.equal(o.joinTopic, 'payments');
    assert.equal(o.count, 1000);
    assert.equal(o.rate, 2500.5);
    assert.equal(o.dupRate, 0.2);
    assert.equal(o.badRate, 0.01);
    assert.equal(o.keySpread, 50);
    assert.equal(o.partitions, 6);
    assert.equal(o.keyed, false);
    assert.equal(o.seed, -7);
    assert.equal(o.traceparentRate, 0.5);
    assert.equal(o.joinRate, 0.9);
    assert.equal(o.joinDelayMs, 100);
    assert.equal(o.orphanRate, 0);
    assert.equal(o.jitterMs, 20);
    assert.equal(o.intervalMs, 2);
    assert.equal(o.baseTime, 1_700_000_000_000);
    assert.equal(o.batchSize, 500);
    assert.equal(o.maxInFlight, 2);
    assert.equal(o.dupWindow, 10);
    assert.equal(o.clientId, 'gen');
    assert.equal(o.ssl, true);
  });

  it('lets the last of --keyed / --no-keyed win, and accepts --keyed=false', () => {
    assert.equal(parseGenerateArgs(['--no-keyed', '--keyed'], env).keyed, true);
    assert.equal(parseGenerateArgs(['--keyed', '--no-keyed'], env).keyed, false);
    assert.equal(parseGenerateArgs(['--keyed=false'], env).keyed, false);
  });

  it('names the flag and the fix in every error', () => {
    assert.match(
      parseError(['--dup-rat', '0.1']),
      /unknown flag --dup-rat \(did you mean --dup-rate\?\).*--help/,
    );
    assert.match(parseError(['--count']), /--count needs a value/);
    assert.match(parseError(['--count', '--rate', '5']), /--count needs a value/);
    assert.match(parseError(['--count', 'lots']), /--count: expected a number, got "lots"/);
    assert.match(parseError(['--dup-rate', '1.5']), /--dup-rate: must be between 0 and 1/);
    assert.match(parseError(['--partitions', '0']), /--partitions: must be at least 1/);
    assert.match(parseError(['--count', '1.5']), /--count: must be a whole number/);
    assert.match(parseError(['--brokers', 'localhost']), /--brokers: expected host:port/);
    assert.match(parseError(['--topic', 'a b']), /--topic: invalid Kafka topic name/);
    assert.match(parseError(['--keyed=maybe']), /--keyed: expected true or false/);
    assert.match(
      parseError(['--dup-rate', '0.7', '--bad-rate', '0.5']),
      /--dup-rate: dupRate \+ badRate must be ≤ 1/,
    );
    assert.match(parseError(['orders']), /unexpected argument "orders"/);
  });

  it('takes SASL user and mechanism from flags and the password only from the environment', () => {
    const o = parseGenerateArgs(['--sasl-mechanism', 'scram-sha-256', '--sasl-username', 'weir'], {
      [PASSWORD_ENV]: 'pw',
    });
    assert.deepEqual(o.sasl, { mechanism: 'scram-sha-256', username: 'weir', password: 'pw' });
    assert.match(
      parseError(['--sasl-mechanism', 'plain', '--sasl-username', 'weir']),
      new RegExp(PASSWORD_ENV),
    );
    assert.match(parseError(['--sasl-username', 'weir']), /needs --sasl-mechanism/);
    const bad = parseError(['--sasl-mechanism', 'md5', '--sasl-username', 'weir'], {
      [PASSWORD_ENV]: 'topsecret',
    });
    assert.match(bad, /--sasl-mechanism: /);
    assert.ok(!bad.includes('topsecret'));
    assert.equal(
      generateFlags.some((f) => f.flag.includes('password')),
      false,
    );
  });
});

describe('generateHelp', () => {
  it('lists every flag with its default', () => {
    const help = generateHelp();
    for (const f of generateFlags) assert.ok(help.includes(`--${f.flag}`), f.flag);
    assert.match(help, /--dup-rate <n> +.*\(default 0\.1\)/);
  });

  it('is mirrored by docs/generator.md', () => {
    const docs = readFileSync(new URL('../../docs/generator.md', import.meta.url), 'utf8');
    for (const f of generateFlags)
      assert.ok(docs.includes(`--${f.flag}`), `docs/generator.md lacks --${f.flag}`);
  });
});

describe('generateMain', () => {
  it('prints help and exits 0, or exits 2 on bad flags without touching Kafka', async () => {
    let out = '';
    let err = '';
    const io = {
      stdout: (s: string) => void (out += s),
      stderr: (s: string) => void (err += s),
      env,
    };
    assert.equal(await generateMain(['--help'], io), 0);
    assert.match(out, /^Usage: weir generate/);
    assert.equal(await generateMain(['--rate', '-1'], io), 2);
    assert.match(err, /weir generate: error: --rate: must be 0 \(unlimited\) or more/);
  });
});
