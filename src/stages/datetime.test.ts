import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDateTime, utcMidnight } from './datetime.ts';

const utc = (iso: string): number => Date.parse(iso);

describe('parseDateTime', () => {
  it('reads ISO-8601 with a zone', () => {
    assert.equal(parseDateTime('2024-05-01T12:00:00Z'), utc('2024-05-01T12:00:00Z'));
    assert.equal(parseDateTime('2024-05-01T12:00:00z'), utc('2024-05-01T12:00:00Z'));
    assert.equal(parseDateTime('2024-05-01T12:00:00+02:00'), utc('2024-05-01T10:00:00Z'));
    assert.equal(parseDateTime('2024-05-01T12:00:00-0530'), utc('2024-05-01T17:30:00Z'));
    assert.equal(parseDateTime('2024-05-01T12:00:00+02'), utc('2024-05-01T10:00:00Z'));
    assert.equal(parseDateTime('2024-05-01T00:30+01:00'), utc('2024-04-30T23:30:00Z'));
  });

  it('reads zone-less text as UTC, whatever the host zone', () => {
    assert.equal(parseDateTime('2024-05-01T12:00:00'), utc('2024-05-01T12:00:00Z'));
    assert.equal(parseDateTime('2024-05-01 12:00:00'), utc('2024-05-01T12:00:00Z'));
    assert.equal(parseDateTime('2024-05-01 12:00'), utc('2024-05-01T12:00:00Z'));
    assert.equal(parseDateTime('2024-05-01'), utc('2024-05-01T00:00:00Z'));
  });

  it('keeps fractional seconds, including sub-millisecond digits', () => {
    assert.equal(parseDateTime('2024-05-01T12:00:00.123Z'), utc('2024-05-01T12:00:00.123Z'));
    assert.equal(parseDateTime('2024-05-01 12:00:00.5'), utc('2024-05-01T12:00:00.500Z'));
    assert.equal(parseDateTime('2024-05-01T12:00:00,25Z'), utc('2024-05-01T12:00:00.250Z'));
    const micro = parseDateTime('2024-05-01T12:00:00.123456Z');
    assert.ok(Math.abs(micro - (utc('2024-05-01T12:00:00.123Z') + 0.456)) < 1e-3);
    assert.equal(
      parseDateTime('2024-05-01T12:00:00.123456789123Z'),
      parseDateTime('2024-05-01T12:00:00.123456789Z'),
    );
  });

  it('handles leap years and dates before 1970 and after 2100', () => {
    assert.equal(parseDateTime('2024-02-29'), utc('2024-02-29T00:00:00Z'));
    assert.equal(parseDateTime('2000-02-29'), utc('2000-02-29T00:00:00Z'));
    assert.equal(parseDateTime('1969-12-31T23:59:59Z'), -1000);
    assert.equal(parseDateTime('1900-01-01'), utc('1900-01-01T00:00:00Z'));
    assert.equal(parseDateTime('2299-12-31'), utc('2299-12-31T00:00:00Z'));
    const year50 = new Date(0);
    year50.setUTCFullYear(50, 5, 1);
    assert.equal(parseDateTime('0050-06-01'), year50.getTime());
  });

  it('rejects malformed or impossible values with NaN', () => {
    for (const s of [
      '',
      '2024',
      '2024-5-1',
      '2024/05/01',
      '2024-13-01',
      '2024-00-10',
      '2023-02-29',
      '2024-04-31',
      '2024-05-01T',
      '2024-05-01T24:00:00Z',
      '2024-05-01T12:60Z',
      '2024-05-01T12:00:60Z',
      '2024-05-01T12:00:00.Z',
      '2024-05-01T12:00:00+2',
      '2024-05-01T12:00:00+02:0',
      '2024-05-01T12:00:00ZZ',
      '2024-05-01T12:00:00 Z',
      '2024-05-01x12:00:00',
      'May 1, 2024',
    ]) {
      assert.ok(Number.isNaN(parseDateTime(s)), s);
    }
  });
});

describe('utcMidnight', () => {
  it('truncates to the UTC day, also before 1970', () => {
    assert.equal(utcMidnight(utc('2024-05-01T23:59:59.999Z')), utc('2024-05-01T00:00:00Z'));
    assert.equal(utcMidnight(-1), utc('1969-12-31T00:00:00Z'));
  });
});
