import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, RecordError } from '../core/errors.ts';
import type { Row } from '../core/record.ts';
import { compileExpression } from './expr.ts';
import { expressionFunctions } from './functions.ts';
import { inCidr, parseCidr, parseIp } from './ip.ts';

const isIpv4 = expressionFunctions.is_ipv4!.fn;
const isIpv6 = expressionFunctions.is_ipv6!.fn;

/** in_cidr for one address against some ranges. */
const within = (ip: unknown, ...ranges: unknown[]): boolean | null => inCidr(ip, ...ranges);

describe('in_cidr', () => {
  it('matches IPv4 ranges, at their first and last address and not beyond', () => {
    const net = '192.168.1.0/24';
    assert.equal(within('192.168.1.0', net), true);
    assert.equal(within('192.168.1.255', net), true);
    assert.equal(within('192.168.0.255', net), false);
    assert.equal(within('192.168.2.0', net), false);
    assert.equal(within('10.200.3.4', '10.0.0.0/8'), true);
    assert.equal(within('11.0.0.0', '10.0.0.0/8'), false);
    // Odd prefixes split inside a byte.
    assert.equal(within('172.31.255.255', '172.16.0.0/12'), true);
    assert.equal(within('172.32.0.0', '172.16.0.0/12'), false);
    assert.equal(within('255.255.255.255', '255.255.255.254/31'), true);
    assert.equal(within('255.255.255.253', '255.255.255.254/31'), false);
  });

  it('treats /32 and a bare address as one host, /0 as every IPv4 address', () => {
    assert.equal(within('8.8.8.8', '8.8.8.8/32'), true);
    assert.equal(within('8.8.8.9', '8.8.8.8/32'), false);
    assert.equal(within('8.8.8.8', '8.8.8.8'), true);
    assert.equal(within('8.8.4.4', '8.8.8.8'), false);
    for (const ip of ['0.0.0.0', '255.255.255.255', '127.0.0.1', '::ffff:10.1.2.3'])
      assert.equal(within(ip, '0.0.0.0/0'), true, ip);
    assert.equal(within('2001:db8::1', '0.0.0.0/0'), false, 'an IPv4 range holds no IPv6 address');
  });

  it('matches IPv6 ranges, /128 as one host and ::/0 as every IPv6 address', () => {
    const net = '2001:db8::/32';
    assert.equal(within('2001:db8::1', net), true);
    assert.equal(within('2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff', net), true);
    assert.equal(within('2001:db9::', net), false);
    assert.equal(within('2001:DB8:0:0:0:0:0:7', net), true, 'upper case and no ::');
    assert.equal(within('fe80::1%eth0', 'fe80::/10'), true, 'a zone id is not part of the address');
    assert.equal(within('febf:ffff::', 'fe80::/10'), true);
    assert.equal(within('fec0::', 'fe80::/10'), false);
    assert.equal(within('::1', '::1/128'), true);
    assert.equal(within('::1', '::1'), true);
    assert.equal(within('::2', '::1/128'), false);
    assert.equal(within('2001:db8::1', '::/0'), true);
    assert.equal(within('::', '::/0'), true);
    assert.equal(within('10.0.0.1', '::/0'), false, 'an IPv6 range holds no IPv4 address');
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 ranges, and as IPv6 against IPv6 ranges', () => {
    assert.equal(within('::ffff:192.168.1.7', '192.168.1.0/24'), true);
    assert.equal(within('::FFFF:c0a8:0107', '192.168.1.0/24'), true, 'mapped, in hex words');
    assert.equal(within('::ffff:192.168.2.7', '192.168.1.0/24'), false);
    assert.equal(within('::ffff:192.168.1.7', '::ffff:0:0/96'), true);
    // Only ::ffff:0:0/96 is mapped: the old IPv4-compatible form and others are not.
    assert.equal(within('::192.168.1.7', '192.168.1.0/24'), false);
    assert.equal(within('::fffe:192.168.1.7', '192.168.1.0/24'), false);
    assert.equal(within('1::ffff:192.168.1.7', '192.168.1.0/24'), false);
  });

  it('takes several ranges, as arguments or lists, of both families', () => {
    const ranges = ['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32'];
    assert.equal(within('192.168.1.9', ranges), true);
    assert.equal(within('2001:db8:1::', ranges), true);
    assert.equal(within('10.9.9.9', ranges), true);
    assert.equal(within('8.8.8.8', ranges), false);
    assert.equal(within('8.8.8.8', '10.0.0.0/8', ['1.0.0.0/8', '8.0.0.0/8']), true);
    assert.equal(within('8.8.8.8', []), false);
  });

  it('gives false for anything that is not an address, and null for null', () => {
    for (const bad of [
      '',
      'localhost',
      '192.168.1',
      '192.168.1.256',
      '192.168.01.1',
      ' 192.168.1.1',
      '192.168.1.1/32',
      '[::1]',
      '1::2::3',
      '2001:db8::g',
      42,
      3232235777,
      true,
      {},
      ['192.168.1.1'],
    ])
      assert.equal(within(bad, '0.0.0.0/0', '::/0'), false, JSON.stringify(bad));
    assert.equal(within(null, '10.0.0.0/8'), null);
    assert.equal(within(undefined, '10.0.0.0/8'), null);
    assert.equal(within('10.0.0.1', null), null);
  });

  it('throws a TypeError for a bad range read from a record (a dead letter, not a crash)', () => {
    assert.throws(() => within('10.0.0.1', '10.0.0.0/33'), /in_cidr\(\) range "10.0.0.0\/33"/);
    assert.throws(() => within('not an ip', 'nope'), TypeError, 'checked even for a non-address');
    assert.throws(() => within('10.0.0.1', [5]), /ranges must be text/);
  });
});

describe('parseCidr', () => {
  it('rejects bad ranges with the problem and the fix', () => {
    const bad = (text: string) => {
      const p = parseCidr(text);
      assert.equal(p.ok, false, text);
      return p as { problem: string; fix: string };
    };
    assert.match(
      bad('10.0.0.0/33').problem,
      /prefix length "33" is not a whole number from 0 to 32/,
    );
    assert.match(bad('2001:db8::/129').problem, /0 to 128/);
    assert.match(bad('10.0.0.0/').problem, /prefix length ""/);
    assert.match(bad('10.0.0.0/08').problem, /prefix length "08"/);
    assert.match(bad('10.0.0.0/-1').problem, /prefix length "-1"/);
    assert.match(bad('10.0.0.0/8/8').problem, /prefix length "8\/8"/);
    assert.match(bad('10.0.0/8').problem, /"10.0.0" is not an IPv4 or IPv6 address/);
    assert.match(bad('fe80::1%eth0/64').problem, /not an IPv4 or IPv6 address/);
    assert.match(bad('').fix, /e\.g\. "192\.168\.1\.0\/24"/);
    const host = bad('192.168.1.5/24');
    assert.match(host.problem, /host bits are set after the first 24/);
    assert.match(host.fix, /"192\.168\.1\.0\/24", or "192\.168\.1\.5" alone/);
    assert.match(bad('2001:db8::1/32').fix, /"2001:db8::\/32"/);
    assert.match(bad('2001:db8:0:1:0:0:0:1/48').fix, /"2001:db8::\/48"/);
  });

  it('parses the edges: /0, /32, /128, bare addresses', () => {
    assert.deepEqual(parseCidr('0.0.0.0/0'), {
      ok: true,
      range: { family: 4, base: 0, mask: 0, prefix: 0 },
    });
    assert.deepEqual(parseCidr('1.2.3.4'), {
      ok: true,
      range: { family: 4, base: 0x01020304, mask: 0xffffffff, prefix: 32 },
    });
    const v6 = parseCidr('::1');
    assert.ok(v6.ok && v6.range.family === 6 && v6.range.prefix === 128);
  });

  it('reads IPv6 text into the same bits whatever its form', () => {
    const bytes = (ip: string) => Buffer.from(parseIp(ip)!.v6!).toString('hex');
    const full = '20010db8000000000000000000000001';
    for (const form of [
      '2001:db8::1',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '2001:DB8:0::0:1',
    ])
      assert.equal(bytes(form), full, form);
    assert.equal(bytes('::'), '0'.repeat(32));
    assert.equal(bytes('1::'), `0001${'0'.repeat(28)}`);
    assert.equal(bytes('::ffff:1.2.3.4'), `${'0'.repeat(20)}ffff01020304`);
    assert.equal(parseIp('::ffff:1.2.3.4')!.v4, 0x01020304);
    assert.equal(parseIp('::1')!.v4, undefined);
  });
});

describe('is_ipv4 / is_ipv6', () => {
  it('tell the families apart, false for anything else, null for null', () => {
    assert.equal(isIpv4('10.0.0.1'), true);
    assert.equal(isIpv4('::ffff:10.0.0.1'), false);
    assert.equal(isIpv6('::ffff:10.0.0.1'), true);
    assert.equal(isIpv6('2001:db8::1'), true);
    assert.equal(isIpv6('fe80::1%eth0'), true);
    assert.equal(isIpv6('10.0.0.1'), false);
    for (const bad of ['', '10.0.0.256', '10.0.0.1/32', ':::', 'x', 7, {}, []]) {
      assert.equal(isIpv4(bad), false, JSON.stringify(bad));
      assert.equal(isIpv6(bad), false, JSON.stringify(bad));
    }
    assert.equal(isIpv4(null), null);
    assert.equal(isIpv6(null), null);
  });
});

describe('IP functions in expressions', () => {
  const fields = ['ip', 'ranges', 'n'];
  const run = (src: string, r: Row) => compileExpression(src, fields)(r);

  it('take ranges as text, several arguments or a list literal', () => {
    const src = 'in_cidr(ip, ("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"))';
    assert.equal(run(src, { ip: '192.168.1.20' }), true);
    assert.equal(run(src, { ip: '2001:db8::5' }), true);
    assert.equal(run(src, { ip: '::ffff:10.1.1.1' }), true);
    assert.equal(run(src, { ip: '172.16.0.1' }), false);
    assert.equal(run(src, { ip: 'garbage' }), false);
    assert.equal(run(src, { ip: null }), null);
    assert.equal(run('in_cidr(ip, "10.0.0.0/8", "172.16.0.0/12")', { ip: '172.20.0.1' }), true);
    assert.equal(run('in_cidr(ip, ranges)', { ip: '10.1.1.1', ranges: ['10.0.0.0/8'] }), true);
    assert.equal(run('is_ipv4(ip) and not in_cidr(ip, "10.0.0.0/8")', { ip: '8.8.8.8' }), true);
    assert.equal(run('is_ipv6(ip)', { ip: 'fe80::1' }), true);
  });

  it('reject a bad constant range at startup, naming the function and the fix', () => {
    const cases: [string, RegExp, RegExp][] = [
      [
        'in_cidr(ip, "10.0.0.0/33")',
        /in_cidr\(\) argument 2 "10.0.0.0\/33" is not valid: the prefix length "33"/,
        /address\/prefix, e\.g\./,
      ],
      [
        'in_cidr(ip, ("10.0.0.0/8", "192.168.1.5/24"))',
        /in_cidr\(\) argument 2 "192.168.1.5\/24" is not valid: host bits are set/,
        /"192\.168\.1\.0\/24"/,
      ],
      [
        'n > 1 and in_cidr(ip, "10.0.0.0/8", "fe80::1%eth0/64")',
        /argument 3 "fe80::1%eth0\/64" is not valid/,
        /address\/prefix/,
      ],
    ];
    for (const [src, message, hint] of cases)
      assert.throws(
        () => compileExpression(src, fields),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.match(err.message, message);
          assert.match(
            err.message,
            new RegExp(`expression \`${src.replace(/[()."/]/g, '\\$&')}\``),
          );
          assert.match(err.hint ?? '', hint);
          return true;
        },
        src,
      );
    // The address argument is not a range: a text literal there is not checked as one.
    assert.equal(run('in_cidr("10.1.2.3", "10.0.0.0/8")', {}), true);
  });

  it('dead-letter a record whose range field is bad, with expression_error', () => {
    assert.throws(
      () => run('in_cidr(ip, ranges)', { ip: '10.1.1.1', ranges: ['10.0.0.0/99'] }),
      (err: unknown) =>
        err instanceof RecordError &&
        err.reason === 'expression_error' &&
        /in_cidr\(\) range "10.0.0.0\/99" is not valid/.test(err.message),
    );
  });
});
