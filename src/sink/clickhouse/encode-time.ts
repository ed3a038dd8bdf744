// Encoders for Date, Date32, DateTime and DateTime64 columns, from epoch milliseconds.
import type { ChType } from './types.ts';
import { failer, type Ctx, type Encoder } from './encode-context.ts';
import { daysFromCivil, formatDays, formatWallClock, MS_PER_DAY, splitSeconds } from './time.ts';

const toMillis = (v: unknown): number | undefined =>
  typeof v === 'number'
    ? Number.isFinite(v)
      ? v
      : undefined
    : v instanceof Date
      ? v.getTime()
      : undefined;

const DATE_MIN = 0;
const DATE_MAX = 65535; // 2149-06-06
const DATE_MAX_LEGACY = daysFromCivil(2105, 12, 31);
const DATE32_MIN = daysFromCivil(1900, 1, 1);
const DATE32_MAX = daysFromCivil(2299, 12, 31);

export function dateEncoder(t: Extract<ChType, { kind: 'Date' | 'Date32' }>, ctx: Ctx): Encoder {
  const min = t.kind === 'Date' ? DATE_MIN : DATE32_MIN;
  const max =
    t.kind === 'Date32' ? DATE32_MAX : ctx.features.legacyDateRange ? DATE_MAX_LEGACY : DATE_MAX;
  const range = `${formatDays(min)}..${formatDays(max)}`;
  const fail = failer(ctx, t);
  // Rows of a batch mostly share a day: remember the last one.
  let lastDays = NaN;
  let lastText = '';
  // Date text, not a day number: 18.16 reads only "YYYY-MM-DD" (the UTC day of the instant).
  return (v) => {
    const ms = toMillis(v);
    if (ms === undefined) return fail(v, 'type_mismatch', 'expected epoch milliseconds');
    const days = Math.floor(ms / MS_PER_DAY);
    if (days === lastDays) return lastText;
    if (days < min || days > max) return fail(v, 'out_of_range', `outside ${range}`);
    lastDays = days;
    lastText = `"${formatDays(days)}"`;
    return lastText;
  };
}

const DATETIME_MAX = 4294967295; // 2106-02-07 06:28:15

export function dateTimeEncoder(t: ChType, ctx: Ctx): Encoder {
  const fail = failer(ctx, t);
  // Unix seconds as a JSON number: an instant, read the same whatever the column's time zone,
  // by 18.16 and by current servers (a "YYYY-MM-DD hh:mm:ss" text would be read in that zone).
  return (v) => {
    const ms = toMillis(v);
    if (ms === undefined) return fail(v, 'type_mismatch', 'expected epoch milliseconds');
    const s = Math.floor(ms / 1000);
    return s >= 0 && s <= DATETIME_MAX
      ? String(s)
      : fail(v, 'out_of_range', 'outside 1970-01-01..2106-02-07 UTC');
  };
}

const DT64_MIN_S = daysFromCivil(1900, 1, 1) * 86400;
const DT64_MAX_S = daysFromCivil(2300, 1, 1) * 86400; // exclusive
const DT64_NANO_MAX_S = 9223372036; // Int64 nanoseconds end on 2262-04-11

export function dateTime64Encoder(t: Extract<ChType, { kind: 'DateTime64' }>, ctx: Ctx): Encoder {
  const precision = t.precision;
  const maxS = precision >= 9 ? DT64_NANO_MAX_S : DT64_MAX_S;
  const timezone = t.timezone ?? ctx.features.timezone;
  const fail = failer(ctx, t);
  // A quoted "SSSSSSSSSS.fff" (unix seconds padded to ten digits, fraction at the column
  // precision) is read as an instant by every server with DateTime64, whatever the
  // date_time_input_format. Bare JSON integers are not: older servers read them as ticks, newer
  // ones as seconds. The padded form has no sign, so instants before 1970 (and after 2286) go as
  // wall-clock text in the column's zone.
  return (v) => {
    const ms = toMillis(v);
    if (ms === undefined) return fail(v, 'type_mismatch', 'expected epoch milliseconds');
    const { seconds, fraction } = splitSeconds(ms, precision);
    if (seconds < DT64_MIN_S || seconds >= maxS)
      return fail(v, 'out_of_range', 'outside the DateTime64 range');
    const dot = precision === 0 ? '' : '.';
    if (seconds >= 0 && seconds < 1e10)
      return `"${String(seconds).padStart(10, '0')}${dot}${fraction}"`;
    let wall: string;
    try {
      wall = formatWallClock(seconds, timezone);
    } catch {
      return fail(
        v,
        'unsupported_value',
        `time zone ${timezone} is unknown to Node, needed before 1970`,
      );
    }
    return `"${wall}${dot}${fraction}"`;
  };
}
