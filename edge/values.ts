/**
 * Parsers for the JSON spellings of Delta values that JSON has no native form for: timestamps,
 * dates, decimals and binary. They are pure and allocation-light because the column builder
 * ({@linkcode ./convert.ts}) calls them once per value.
 *
 * Accepted spellings (the client API contract):
 *
 * | Delta type | JSON value |
 * |---|---|
 * | `timestamp` | ISO-8601 string (`2024-05-01T12:00:00.123456Z`, offset `±hh:mm` or `Z`; without an offset the value is read as UTC; a date alone means midnight) or a number of **epoch milliseconds** (a fraction keeps microseconds) |
 * | `timestamp_ntz` | ISO-8601 string without an offset, or a number of epoch milliseconds of the wall-clock time |
 * | `date` | `"YYYY-MM-DD"` or an integer number of epoch days |
 * | `decimal(p,s)` | a string (preferred, exact) or a number (read through its shortest round-trip spelling); at most `s` fractional digits (trailing zeros excepted) and at most `p - s` integer digits |
 * | `binary` | standard base64 with padding |
 *
 * Fractions of a second beyond microseconds (digits 7 to 9) are truncated, as Delta stores
 * microseconds. All functions return `undefined` for a value they cannot read.
 *
 * @module
 */
import { daysFromCivil } from "../core/scan/logical_row.ts";

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Microseconds per second. */
const MICROS_PER_SECOND = 1_000_000;
/** Seconds beyond which `seconds * 1e6` stops being a safe integer (about year 2255). */
const SAFE_SECONDS_MAX = Math.floor(Number.MAX_SAFE_INTEGER / MICROS_PER_SECOND) - 1;

/** Days since 1970-01-01 of a proleptic Gregorian date: the one of `core/scan` (pure). */
export { daysFromCivil };

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * Reads `"YYYY-MM-DD"` as days since the Unix epoch.
 *
 * @example
 * ```ts
 * import { parseDateDays } from "./values.ts";
 * if (parseDateDays("1970-01-11") !== 10) throw new Error("unexpected");
 * if (parseDateDays("2023-02-29") !== undefined) throw new Error("not a leap year");
 * ```
 */
export function parseDateDays(text: string): number | undefined {
  const m = DATE_RE.exec(text);
  if (m === null) return undefined;
  const year = +m[1]!, month = +m[2]!, day = +m[3]!;
  if (!validDate(year, month, day)) return undefined;
  return daysFromCivil(year, month, day);
}

/** A timestamp read from text: whole seconds since the epoch plus microseconds in `[0, 1e6)`. */
export interface ParsedTimestamp {
  /** Whole seconds since the Unix epoch (may be negative). */
  seconds: number;
  /** Microseconds within the second, `0 <= micros < 1e6`. */
  micros: number;
  /** Whether the text carried a zone (`Z` or `±hh:mm`). */
  hasOffset: boolean;
}

/**
 * Reads an ISO-8601 timestamp. Without an offset the wall-clock time is returned as is (UTC for
 * `timestamp`, the local time for `timestamp_ntz`).
 *
 * @example
 * ```ts
 * import { parseTimestamp } from "./values.ts";
 * const t = parseTimestamp("1970-01-01T01:00:00.000250+01:00");
 * if (t?.seconds !== 0 || t.micros !== 250 || !t.hasOffset) throw new Error("unexpected");
 * ```
 */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_RE.exec(text);
  if (m === null) return undefined;
  const year = +m[1]!, month = +m[2]!, day = +m[3]!;
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const frac = m[7];
  const micros = frac === undefined
    ? 0
    : +(frac.length >= 6 ? frac.slice(0, 6) : frac.padEnd(6, "0"));
  let offsetSeconds = 0;
  const hasOffset = m[8] !== undefined || m[9] !== undefined;
  if (m[9] !== undefined) {
    const oh = +m[10]!, om = +m[11]!;
    if (oh > 23 || om > 59) return undefined;
    offsetSeconds = (m[9] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
    offsetSeconds;
  return { seconds, micros, hasOffset };
}

/**
 * Microseconds since the epoch as a number when it is a safe integer, otherwise as a bigint.
 *
 * @example
 * ```ts
 * import { timestampMicros } from "./values.ts";
 * if (timestampMicros({ seconds: 2, micros: 5, hasOffset: true }) !== 2_000_005) throw new Error();
 * ```
 */
export function timestampMicros(t: ParsedTimestamp): number | bigint {
  if (Math.abs(t.seconds) <= SAFE_SECONDS_MAX) return t.seconds * MICROS_PER_SECOND + t.micros;
  return BigInt(t.seconds) * 1_000_000n + BigInt(t.micros);
}

/**
 * Converts epoch milliseconds (possibly fractional) to whole epoch microseconds, or `undefined`
 * when the number is not finite or the result is not a safe integer.
 *
 * A fraction is read from the number's shortest round-trip spelling (what the client wrote), not
 * by multiplying the double, so `1704067200000.123` gives exactly `1704067200000123` for every
 * time before the year 2248 (|ms| < 2^43, where doubles still tell 0.001 apart). Digits beyond
 * the microsecond are rounded.
 *
 * @example
 * ```ts
 * import { epochMillisToMicros } from "./values.ts";
 * if (epochMillisToMicros(1.5) !== 1500) throw new Error("unexpected");
 * if (epochMillisToMicros(-4404866833042.011) !== -4404866833042011) throw new Error("unexpected");
 * ```
 */
export function epochMillisToMicros(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  if (Number.isInteger(ms)) {
    const micros = ms * 1000;
    return Number.isSafeInteger(micros) ? micros : undefined;
  }
  const exact = parseDecimal(String(ms), 18, 3);
  const micros = typeof exact === "string" ? Math.round(ms * 1000) : Number(exact);
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/** A decimal read from text: its unscaled value at the column's scale. */
export type UnscaledDecimal = number | bigint;

/**
 * Reads a decimal for a `decimal(precision, scale)` column and returns its unscaled value (the
 * value times `10^scale`): a number when it has at most 15 digits, else a bigint. Returns a string
 * naming the problem when the value does not fit (so the caller can report it).
 *
 * @example
 * ```ts
 * import { parseDecimal } from "./values.ts";
 * if (parseDecimal("-12.30", 5, 2) !== -1230) throw new Error("unexpected");
 * if (typeof parseDecimal("1.234", 5, 2) !== "string") throw new Error("scale not checked");
 * if (typeof parseDecimal("1234", 5, 2) !== "string") throw new Error("precision not checked");
 * ```
 */
export function parseDecimal(
  text: string,
  precision: number,
  scale: number,
): UnscaledDecimal | string {
  if (text.length > 2 * precision + 16) return "too many characters";
  const m = DECIMAL_RE.exec(text);
  if (m === null) return "not a decimal number";
  const intPart = m[2] ?? "";
  const fracPart = m[3] ?? "";
  if (intPart.length + fracPart.length === 0) return "not a decimal number";
  const exponent = m[4] === undefined ? 0 : +m[4];
  // value = digits * 10^-(fractionDigits)
  let digits = intPart + fracPart;
  let fractionDigits = fracPart.length - exponent;
  if (fractionDigits > scale) {
    const extra = fractionDigits - scale;
    if (extra > digits.length) {
      if (!/^0*$/.test(digits)) return `more than ${scale} fractional digits`;
      digits = "0";
    } else {
      if (!/^0*$/.test(digits.slice(digits.length - extra))) {
        return `more than ${scale} fractional digits`;
      }
      digits = digits.slice(0, digits.length - extra);
    }
    fractionDigits = scale;
  }
  const pad = scale - fractionDigits;
  if (pad > precision) {
    if (!/^0*$/.test(digits)) return `more than ${precision - scale} integer digits`;
    return 0;
  }
  digits = digits + "0".repeat(pad);
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 48) start++;
  digits = digits.slice(start);
  if (digits.length > precision) {
    return `more than ${precision - scale} integer digits`;
  }
  const negative = m[1] === "-";
  if (digits.length <= 15) {
    const n = +digits;
    return negative && n !== 0 ? -n : n;
  }
  const b = BigInt(digits);
  return negative ? -b : b;
}

/**
 * Decodes standard base64 (with padding); `undefined` when the text is not base64.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./values.ts";
 * const bytes = decodeBase64("AQID");
 * if (bytes?.join(",") !== "1,2,3") throw new Error("unexpected");
 * ```
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) return undefined;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
