// Date and time text for ClickHouse inserts, from the internal epoch-millisecond representation.
// Pure arithmetic (no Date objects) on the hot path: one call per value at tens of thousands of rows/s.

export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a civil date (proleptic Gregorian). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `YYYY-MM-DD` for days since the epoch (years 1000..9999). */
export function formatDays(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

const pow10 = [
  1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
];

/**
 * Splits epoch milliseconds (possibly fractional) into whole seconds and the fraction as exactly
 * `precision` digits, truncating below the precision the way ClickHouse truncates extra digits.
 */
export function splitSeconds(ms: number, precision: number): { seconds: number; fraction: string } {
  let whole = Math.floor(ms);
  let sub = 0;
  if (precision > 3) {
    const scale = pow10[precision - 3] ?? 1;
    // Round, not truncate, below the millisecond: the fraction is a binary approximation.
    sub = Math.round((ms - whole) * scale);
    if (sub >= scale) {
      whole += 1;
      sub = 0;
    }
  }
  const seconds = Math.floor(whole / 1000);
  const millis = whole - seconds * 1000;
  if (precision === 0) return { seconds, fraction: '' };
  const msText = millis < 10 ? `00${millis}` : millis < 100 ? `0${millis}` : `${millis}`;
  if (precision <= 3) return { seconds, fraction: msText.slice(0, precision) };
  return { seconds, fraction: msText + String(sub).padStart(precision - 3, '0') };
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * `YYYY-MM-DD hh:mm:ss` wall-clock time of an instant in a time zone: the only text ClickHouse
 * DateTime64 accepts for instants before 1970 (its unix-seconds text form has no sign).
 * Throws a RangeError for a zone the JS runtime does not know.
 */
export function formatWallClock(seconds: number, timezone: string): string {
  let fmt = wallClockFormats.get(timezone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    wallClockFormats.set(timezone, fmt);
  }
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(new Date(seconds * 1000))) parts[p.type] = p.value;
  const year = (parts.year ?? '').padStart(4, '0');
  return `${year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}
