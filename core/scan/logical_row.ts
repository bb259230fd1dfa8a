/**
 * The in-memory representation of rows that a scan yields.
 *
 * A {@linkcode LogicalRow} is an array with one {@linkcode LogicalValue} per top-level field of the
 * snapshot's logical schema, in schema order (partition columns where the schema puts them). The
 * value of a field depends on its Delta type:
 *
 * | Delta type | value |
 * |---|---|
 * | any, when null | `null` |
 * | byte, short, integer | `number` |
 * | long | `bigint` |
 * | float, double | `number` (a float is the float32 value widened exactly) |
 * | decimal(p,s) | {@linkcode Decimal} `{ unscaled: bigint, scale: s }` (exact) |
 * | boolean | `boolean` |
 * | string | `string` |
 * | binary | `Uint8Array` |
 * | date | `number`, days since 1970-01-01 |
 * | timestamp, timestamp_ntz | `bigint`, microseconds since 1970-01-01T00:00:00 (UTC for timestamp) |
 * | struct | `LogicalValue[]`, the children in schema order |
 * | array | `LogicalValue[]`, the elements |
 * | map | `[key, value][]`, the entries in file order |
 *
 * @module
 */

/** An exact decimal: the value is `unscaled * 10^-scale`. */
export interface Decimal {
  /** The digits of the value without the decimal point. */
  unscaled: bigint;
  /** Number of fraction digits (the `s` of `decimal(p,s)`). */
  scale: number;
}

/** One value of a row; see the module documentation for the representation of each Delta type. */
export type LogicalValue =
  | null
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | Decimal
  | LogicalValue[]
  | [LogicalValue, LogicalValue][];

/** One row: a value per top-level field of the logical schema, in schema order. */
export type LogicalRow = LogicalValue[];

/** Returns true when `v` is a {@linkcode Decimal}. */
export function isDecimal(v: unknown): v is Decimal {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) &&
    typeof (v as Decimal).unscaled === "bigint";
}

/**
 * Format a decimal as a plain string with exactly `scale` fraction digits.
 *
 * @example
 * ```ts
 * import { formatDecimal } from "./logical_row.ts";
 * if (formatDecimal({ unscaled: -12345n, scale: 3 }) !== "-12.345") throw new Error("bad");
 * if (formatDecimal({ unscaled: 5n, scale: 2 }) !== "0.05") throw new Error("bad");
 * ```
 */
export function formatDecimal(d: Decimal): string {
  const negative = d.unscaled < 0n;
  const digits = (negative ? -d.unscaled : d.unscaled).toString();
  if (d.scale <= 0) return (negative ? "-" : "") + digits + "0".repeat(-d.scale);
  const padded = digits.padStart(d.scale + 1, "0");
  const intPart = padded.slice(0, padded.length - d.scale);
  const fracPart = padded.slice(padded.length - d.scale);
  return `${negative ? "-" : ""}${intPart}.${fracPart}`;
}

/** Parse a `decimal(p,s)` type name into its precision and scale, or `undefined`. */
export function parseDecimalType(type: string): { precision: number; scale: number } | undefined {
  const m = /^decimal\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$/.exec(type);
  if (!m) return undefined;
  return { precision: Number(m[1]), scale: Number(m[2]) };
}

/** Change the scale of an exact decimal; refuses to drop non-zero digits. */
export function rescaleDecimal(d: Decimal, scale: number): Decimal | undefined {
  if (scale === d.scale) return d;
  if (scale > d.scale) return { unscaled: d.unscaled * 10n ** BigInt(scale - d.scale), scale };
  const factor = 10n ** BigInt(d.scale - scale);
  if (d.unscaled % factor !== 0n) return undefined;
  return { unscaled: d.unscaled / factor, scale };
}

const MICROS_PER_DAY = 86_400_000_000n;

/** Floor division of bigints (rounds toward negative infinity). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian calendar date (H. Hinnant's `days_from_civil`).
 *
 * @example
 * ```ts
 * import { daysFromCivil } from "./logical_row.ts";
 * if (daysFromCivil(1970, 1, 2) !== 1) throw new Error("unexpected");
 * if (daysFromCivil(2000, 3, 1) !== 11017) throw new Error("unexpected");
 * ```
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Shift the year so that it starts in March: leap days fall at the end of a cycle year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The calendar date of a day count since 1970-01-01 (proleptic Gregorian). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
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
  return { year, month, day };
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, "0");
  return n < 0 ? `-${s}` : s;
}

/**
 * Format days since the epoch as `YYYY-MM-DD`.
 *
 * @example
 * ```ts
 * import { formatDate } from "./logical_row.ts";
 * if (formatDate(19358) !== "2023-01-01") throw new Error("bad");
 * ```
 */
export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/**
 * Format microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffff`, with a `Z` when `utc`.
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./logical_row.ts";
 * const s = formatTimestamp(1704164645123456n, true);
 * if (s !== "2024-01-02T03:04:05.123456Z") throw new Error(s);
 * ```
 */
export function formatTimestamp(micros: bigint, utc: boolean): string {
  const days = floorDiv(micros, MICROS_PER_DAY);
  let rest = micros - days * MICROS_PER_DAY;
  const frac = rest % 1_000_000n;
  rest /= 1_000_000n;
  const secs = Number(rest);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${
    pad(secs % 60, 2)
  }`;
  return `${formatDate(Number(days))}T${time}.${frac.toString().padStart(6, "0")}${utc ? "Z" : ""}`;
}

/** Microseconds since the epoch of a date and time of day (UTC). */
export function microsFromParts(
  days: number,
  hour: number,
  minute: number,
  second: number,
  micros: number,
): bigint {
  return BigInt(days) * MICROS_PER_DAY +
    BigInt((hour * 60 + minute) * 60 + second) * 1_000_000n + BigInt(micros);
}

/** Microseconds in one day. */
export const MICROS_PER_DAY_BIGINT: bigint = MICROS_PER_DAY;
