/**
 * Partition values: strings in the log, typed values in rows (Delta PROTOCOL, "Partition Value
 * Serialization").
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { DataType } from "../schema/types.ts";
import { parseDate, parseTimestamp } from "../values/datetime_text.ts";
import { parseDecimal } from "../values/decimal_text.ts";
import { type LogicalValue, parseDecimalType } from "./logical_row.ts";

function fail(text: string, type: DataType, why: string): never {
  throw new InvalidArgumentError(
    `Cannot parse partition value ${JSON.stringify(text)} as ${JSON.stringify(type)}: ${why}`,
  );
}

/**
 * A `timestamp` partition value as microseconds since the epoch: without a zone it is UTC, a zone
 * is honoured. A `timestamp_ntz` (a wall clock) takes no zone but `Z`.
 */
function parseTimestampValue(text: string, type: "timestamp" | "timestamp_ntz"): bigint {
  const t = parseTimestamp(text.trim());
  if (t === undefined) fail(text, type, "not a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])");
  if (type === "timestamp_ntz" && (t.offsetMinutes ?? 0) !== 0) {
    fail(text, type, "a timestamp_ntz has no zone offset");
  }
  return BigInt(t.micros);
}

function parseInteger(text: string, type: DataType, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(text.trim())) fail(text, type, "not an integer");
  const n = Number(text);
  if (n < min || n > max) fail(text, type, "out of range");
  return n;
}

function parseFloating(text: string, type: DataType): number {
  const t = text.trim();
  if (t === "NaN") return NaN;
  if (t === "Infinity" || t === "+Infinity" || t === "Inf") return Infinity;
  if (t === "-Infinity" || t === "-Inf") return -Infinity;
  const n = Number(t);
  if (t === "" || Number.isNaN(n)) fail(text, type, "not a number");
  return n;
}

/**
 * Parse a partition value string of the log into a {@linkcode LogicalValue} of `type`.
 *
 * An empty string or `null` is `null` for every type; binary is the UTF-8 bytes of the string;
 * timestamps without an offset are taken as UTC.
 *
 * @example
 * ```ts
 * import { parsePartitionValue } from "./partition_value.ts";
 * if (parsePartitionValue("2021-09-08 11:11:11", "timestamp") !== 1631099471000000n) {
 *   throw new Error("bad timestamp");
 * }
 * if (parsePartitionValue("", "integer") !== null) throw new Error("empty must be null");
 * ```
 */
export function parsePartitionValue(
  text: string | null | undefined,
  type: DataType,
): LogicalValue {
  if (text === null || text === undefined || text === "") return null;
  if (typeof type !== "string") fail(text, type, "partition columns must be primitive");
  switch (type) {
    case "string":
      return text;
    case "byte":
      return parseInteger(text, type, -128, 127);
    case "short":
      return parseInteger(text, type, -32768, 32767);
    case "integer":
      return parseInteger(text, type, -2147483648, 2147483647);
    case "long":
      if (!/^[+-]?\d+$/.test(text.trim())) fail(text, type, "not an integer");
      return BigInt(text.trim());
    case "float":
      return Math.fround(parseFloating(text, type));
    case "double":
      return parseFloating(text, type);
    case "boolean": {
      const t = text.trim().toLowerCase();
      if (t === "true") return true;
      if (t === "false") return false;
      return fail(text, type, "not a boolean");
    }
    case "binary":
      return new TextEncoder().encode(text);
    case "date": {
      const days = parseDate(text.trim());
      return days === undefined ? fail(text, type, "not a date (YYYY-MM-DD)") : days;
    }
    case "timestamp":
    case "timestamp_ntz":
      return parseTimestampValue(text, type);
    default: {
      const decimal = parseDecimalType(type);
      if (!decimal) return fail(text, type, "unknown type");
      const unscaled = parseDecimal(text.trim(), decimal.precision, decimal.scale);
      if (typeof unscaled === "string") return fail(text, type, unscaled);
      return { unscaled: BigInt(unscaled), scale: decimal.scale };
    }
  }
}
