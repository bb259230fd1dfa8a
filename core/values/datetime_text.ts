/**
 * Dates and timestamps as text: the one parser and the one formatter of the project. The edge reads
 * client values with them, `createArrowTable` reads library values, the scan and the retention
 * plugins read partition values, and the writer and the scan print with them.
 *
 * The grammar (ISO 8601 and the forms of Delta PROTOCOL, "Partition Value Serialization"):
 *
 * ```text
 * date      = YYYY "-" MM "-" DD
 * timestamp = date [ ("T" | "t" | " ") hh ":" mm [ ":" ss [ ("." | ",") 1*9DIGIT ] ] ] [ zone ]
 * zone      = "Z" | "z" | ("+" | "-") hh [":"] mm
 * ```
 *
 * Fields are checked (a month has its days, `hh` is at most 23, no leap second), never carried
 * into the next unit: `2023-02-29` is no date, not 2023-03-01. A date alone is its midnight.
 * Fraction digits beyond the microsecond (7 to 9) are truncated, as Delta stores microseconds.
 * Years are four digits, so every parsed date lies in 0000-01-01 .. 9999-12-31; whether it lies in
 * the range Delta readers accept is the caller's check (`calendar.ts`).
 *
 * The formatter writes `YYYY-MM-DD` and `YYYY-MM-DDThh:mm:ss.ffffff[Z]` (or a space for the `T`,
 * the PROTOCOL's partition form), and prints any integer day: a year outside 0 .. 9999 gets its
 * sign or a fifth digit, which no parser here reads back.
 *
 * @module
 */
import { civilFromDays, daysFromCivil, isCivilDate, MICROS_PER_DAY } from "./calendar.ts";

/**
 * The fields of a text of the grammar, as {@linkcode scanDateTime} read them. `hour` is -1 when the
 * text has no time; `zone` is 0 without a zone, 1 for `Z`, else the sign of the offset's text
 * (`+` 2, `-` 3).
 */
interface DateTimeFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** The fraction in microseconds (digits beyond the sixth dropped). */
  fraction: number;
  zone: 0 | 1 | 2 | 3;
  offsetHour: number;
  offsetMinute: number;
}

/** One reused result: the scanner runs for every timestamp a client sends and allocates nothing. */
const FIELDS: DateTimeFields = {
  year: 0,
  month: 0,
  day: 0,
  hour: -1,
  minute: 0,
  second: 0,
  fraction: 0,
  zone: 0,
  offsetHour: 0,
  offsetMinute: 0,
};

/** The two decimal digits at `i`, or -1. */
function digits2(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48, b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Reads `text` by the grammar above into {@linkcode FIELDS} (overwritten by the next call), or
 * `undefined`. A hand-written scanner: a regular expression with eleven groups cost the edge
 * about half a microsecond per value, a fifth of its work on a typical event.
 */
function scanDateTime(text: string): DateTimeFields | undefined {
  const n = text.length;
  if (n < 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const y1 = digits2(text, 0), y2 = digits2(text, 2);
  const month = digits2(text, 5), day = digits2(text, 8);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0) return undefined;
  const f = FIELDS;
  f.year = y1 * 100 + y2;
  f.month = month;
  f.day = day;
  f.hour = -1;
  f.minute = 0;
  f.second = 0;
  f.fraction = 0;
  f.zone = 0;
  let i = 10;
  let c = text.charCodeAt(i);
  if ((c === 84 || c === 116 || c === 32) && n >= i + 6 && text.charCodeAt(i + 3) === 58) {
    // "T" | "t" | " ", then hh ":" mm
    const hour = digits2(text, i + 1), minute = digits2(text, i + 4);
    if (hour < 0 || minute < 0) return undefined;
    f.hour = hour;
    f.minute = minute;
    i += 6;
    if (text.charCodeAt(i) === 58) {
      const second = digits2(text, i + 1);
      if (second < 0) return undefined;
      f.second = second;
      i += 3;
      c = text.charCodeAt(i);
      if (c === 46 || c === 44) {
        // "." | ",", then 1 to 9 digits; microseconds keep the first six
        let fraction = 0, count = 0;
        for (i++; i < n && count < 10; i++, count++) {
          const d = text.charCodeAt(i) - 48;
          if (d < 0 || d > 9) break;
          if (count < 6) fraction = fraction * 10 + d;
        }
        if (count === 0 || count > 9) return undefined;
        for (let k = count; k < 6; k++) fraction *= 10;
        f.fraction = fraction;
      }
    }
  }
  if (i === n) return f;
  c = text.charCodeAt(i);
  if (c === 90 || c === 122) {
    f.zone = 1;
    return i + 1 === n ? f : undefined;
  }
  if (c !== 43 && c !== 45) return undefined;
  const offsetHour = digits2(text, i + 1);
  if (offsetHour < 0) return undefined;
  i += 3;
  if (text.charCodeAt(i) === 58) i++;
  const offsetMinute = digits2(text, i);
  if (offsetMinute < 0 || i + 2 !== n) return undefined;
  f.zone = c === 43 ? 2 : 3;
  f.offsetHour = offsetHour;
  f.offsetMinute = offsetMinute;
  return f;
}

/** Microseconds per second. */
const MICROS_PER_SECOND = 1_000_000;
/** Seconds beyond which `seconds * 1e6` stops being a safe integer (about year 2255). */
const SAFE_SECONDS_MAX = Math.floor(Number.MAX_SAFE_INTEGER / MICROS_PER_SECOND) - 1;

/**
 * Reads `YYYY-MM-DD` as days since 1970-01-01, or `undefined` when the text is not a date of the
 * grammar (a time or a zone included).
 *
 * @example
 * ```ts
 * import { parseDate } from "./datetime_text.ts";
 * if (parseDate("1970-01-11") !== 10) throw new Error("unexpected");
 * if (parseDate("2023-02-29") !== undefined) throw new Error("not a leap year");
 * ```
 */
export function parseDate(text: string): number | undefined {
  const f = text.length === 10 ? scanDateTime(text) : undefined;
  if (f === undefined) return undefined;
  return isCivilDate(f.year, f.month, f.day) ? daysFromCivil(f.year, f.month, f.day) : undefined;
}

/** A timestamp read from text. */
export interface ParsedTimestamp {
  /**
   * Microseconds since 1970-01-01T00:00:00: the wall clock minus the zone offset, or the wall
   * clock itself when the text has no zone. A number when it is a safe integer, else a bigint.
   */
  micros: number | bigint;
  /** The zone offset the text gives, in minutes east of UTC (0 for `Z`); `undefined`: none. */
  offsetMinutes: number | undefined;
}

/**
 * Reads a timestamp of the grammar, or `undefined`. What a text without a zone means (UTC, or the
 * wall clock of a `timestamp_ntz`) is the caller's choice; `offsetMinutes` says whether it had one.
 *
 * @example
 * ```ts
 * import { parseTimestamp } from "./datetime_text.ts";
 * const t = parseTimestamp("1970-01-01T01:00:00.000250+01:00");
 * if (t?.micros !== 250 || t.offsetMinutes !== 60) throw new Error("unexpected");
 * if (parseTimestamp("2024-01-01T24:00:00Z") !== undefined) throw new Error("no hour 24");
 * ```
 */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const f = scanDateTime(text);
  if (f === undefined) return undefined;
  const { year, month, day, minute, second, fraction } = f;
  const hour = f.hour < 0 ? 0 : f.hour;
  if (!isCivilDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes: number | undefined;
  if (f.zone === 1) offsetMinutes = 0;
  else if (f.zone !== 0) {
    if (f.offsetHour > 23 || f.offsetMinute > 59) return undefined;
    offsetMinutes = (f.zone === 3 ? -1 : 1) * (f.offsetHour * 60 + f.offsetMinute);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
    (offsetMinutes ?? 0) * 60;
  const micros = Math.abs(seconds) <= SAFE_SECONDS_MAX
    ? seconds * MICROS_PER_SECOND + fraction
    : BigInt(seconds) * 1_000_000n + BigInt(fraction);
  return { micros, offsetMinutes };
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, "0");
  return n < 0 ? `-${s}` : s;
}

/**
 * Formats days since 1970-01-01 as `YYYY-MM-DD`.
 *
 * @example
 * ```ts
 * import { formatDate } from "./datetime_text.ts";
 * if (formatDate(19358) !== "2023-01-01") throw new Error("bad");
 * if (formatDate(-1) !== "1969-12-31") throw new Error("bad");
 * ```
 */
export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** Options of {@linkcode formatTimestamp}. */
export interface FormatTimestampOptions {
  /** What stands between the date and the time: `"T"` (ISO 8601, default) or `" "`. */
  separator?: "T" | " ";
}

/**
 * Formats microseconds since the epoch as `YYYY-MM-DDThh:mm:ss.ffffff`, with a `Z` when `utc`.
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./datetime_text.ts";
 * const s = formatTimestamp(1704164645123456n, true);
 * if (s !== "2024-01-02T03:04:05.123456Z") throw new Error(s);
 * const ntz = formatTimestamp(-1n, false, { separator: " " });
 * if (ntz !== "1969-12-31 23:59:59.999999") throw new Error(ntz);
 * ```
 */
export function formatTimestamp(
  micros: bigint,
  utc: boolean,
  options: FormatTimestampOptions = {},
): string {
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const us = Number(rest);
  const secs = Math.floor(us / 1_000_000);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${
    pad(secs % 60, 2)
  }.${pad(us % 1_000_000, 6)}`;
  return `${formatDate(Number(days))}${options.separator ?? "T"}${time}${utc ? "Z" : ""}`;
}
