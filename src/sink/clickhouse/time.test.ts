import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysFromCivil, formatDays, formatWallClock, MS_PER_DAY, splitSeconds } from './time.ts';

test('civil dates and day numbers agree with Date.UTC across four centuries', () => {
  for (let days = daysFromCivil(1900, 1, 1); days <= daysFromCivil(2300, 1, 1); days += 17) {
    const iso = new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
    assert.equal(formatDays(days), iso);
    const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
    assert.equal(daysFromCivil(y, m, d), days);
  }
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(formatDays(65535), '2149-06-06');
  assert.equal(formatDays(-1), '1969-12-31');
});

test('seconds and fraction at each precision', () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5, 123);
  assert.deepEqual(splitSeconds(t, 0), { seconds: 1704164645, fraction: '' });
  assert.deepEqual(splitSeconds(t, 2), { seconds: 1704164645, fraction: '12' });
  assert.deepEqual(splitSeconds(t, 3), { seconds: 1704164645, fraction: '123' });
  assert.deepEqual(splitSeconds(t + 0.25, 6), { seconds: 1704164645, fraction: '123250' });
  assert.deepEqual(splitSeconds(7, 3), { seconds: 0, fraction: '007' });
  assert.deepEqual(splitSeconds(-1500, 3), { seconds: -2, fraction: '500' });
  assert.deepEqual(splitSeconds(999.9999999, 6), { seconds: 1, fraction: '000000' });
});

test('wall clock in a time zone', () => {
  assert.equal(formatWallClock(0, 'UTC'), '1970-01-01 00:00:00');
  assert.equal(formatWallClock(-1, 'Asia/Tokyo'), '1970-01-01 08:59:59');
  assert.equal(
    formatWallClock(Date.UTC(1960, 6, 1, 12) / 1000, 'Europe/Berlin'),
    '1960-07-01 13:00:00',
  );
  assert.throws(() => formatWallClock(0, 'Mars/Olympus'), RangeError);
});
