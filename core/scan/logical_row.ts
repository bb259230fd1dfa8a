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
import { MICROS_PER_DAY } from "../values/calendar.ts";
import { formatUnscaledDecimal } from "../values/decimal_text.ts";

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
  return formatUnscaledDecimal(d.unscaled, d.scale);
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

/** Floor division of bigints (rounds toward negative infinity). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

// The scan prints dates and timestamps with the project's one formatter (`core/values`); they are
// part of the public API under these names.
export { formatDate, formatTimestamp } from "../values/datetime_text.ts";

/** Microseconds in one day. */
export const MICROS_PER_DAY_BIGINT: bigint = MICROS_PER_DAY;
