// Date-time text to epoch milliseconds without Date.parse: Date.parse reads zone-less text as
// local time, which would make a record's value depend on the host. Hand-scanned with charCodeAt
// because this runs once per timestamp on the hot path and must not allocate.

const MS_PER_DAY = 86_400_000;

/**
 * Parses `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff…]]` (or a space instead of `T`) with an
 * optional zone `Z`, `±hh`, `±hhmm` or `±hh:mm`; no zone means UTC. Fractions finer than a
 * millisecond are kept as a fraction. Returns epoch milliseconds, or NaN if the text is not one.
 */
export function parseDateTime(s: string): number {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45) return NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  const midnight = daysFromCivil(year, month, day) * MS_PER_DAY;
  if (n === 10) return midnight;

  const sep = s.charCodeAt(10);
  if (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== 32 /* space */) return NaN;
  if (s.charCodeAt(13) !== 58 /* : */) return NaN;
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return NaN;
  let ms = midnight + hour * 3_600_000 + minute * 60_000;
  let i = 16;

  if (i < n && s.charCodeAt(i) === 58) {
    const second = digits(s, i + 1, 2);
    if (second < 0 || second > 59) return NaN;
    ms += second * 1000;
    i += 3;
    const c = s.charCodeAt(i);
    if (c === 46 /* . */ || c === 44 /* , */) {
      i++;
      let fraction = 0;
      let scale = 1;
      const start = i;
      for (; i < n; i++) {
        const d = s.charCodeAt(i) - 48;
        if (!(d >= 0 && d <= 9)) break;
        // Digits past nanoseconds cannot change a double's value here; skip them.
        if (scale < 1e9) {
          fraction = fraction * 10 + d;
          scale *= 10;
        }
      }
      if (i === start) return NaN;
      ms += (fraction * 1000) / scale;
    }
  }

  if (i === n) return ms;
  const zone = s.charCodeAt(i);
  if (zone === 90 /* Z */ || zone === 122 /* z */) return i + 1 === n ? ms : NaN;
  if (zone !== 43 /* + */ && zone !== 45 /* - */) return NaN;
  const offsetHours = digits(s, i + 1, 2);
  let offsetMinutes = 0;
  i += 3;
  if (i < n) {
    if (s.charCodeAt(i) === 58) i++;
    offsetMinutes = digits(s, i, 2);
    i += 2;
  }
  if (i !== n || offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) {
    return NaN;
  }
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  return zone === 43 ? ms - offset : ms + offset;
}

/** Epoch milliseconds of the UTC midnight starting the day that contains `ms`. */
export function utcMidnight(ms: number): number {
  return Math.floor(ms / MS_PER_DAY) * MS_PER_DAY;
}

/** The value of `count` decimal digits at `at`, or -1 if any is not a digit (or is missing). */
function digits(s: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
