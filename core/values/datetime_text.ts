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

const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

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
  const m = DATETIME_RE.exec(text);
  if (m === null || m[4] !== undefined || m[8] !== undefined || m[9] !== undefined) {
    return undefined;
  }
  const year = +m[1]!, month = +m[2]!, day = +m[3]!;
  return isCivilDate(year, month, day) ? daysFromCivil(year, month, day) : undefined;
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
  const m = DATETIME_RE.exec(text);
  if (m === null) return undefined;
  const year = +m[1]!, month = +m[2]!, day = +m[3]!;
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (!isCivilDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const frac = m[7];
  const fraction = frac === undefined
    ? 0
    : +(frac.length >= 6 ? frac.slice(0, 6) : frac.padEnd(6, "0"));
  let offsetMinutes: number | undefined;
  if (m[8] !== undefined) offsetMinutes = 0;
  else if (m[9] !== undefined) {
    const oh = +m[10]!, om = +m[11]!;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
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
