/**
 * Partition values: strings in the log, typed values in rows (Delta PROTOCOL, "Partition Value
 * Serialization").
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { DataType } from "../schema/types.ts";
import {
  daysFromCivil,
  type LogicalValue,
  microsFromParts,
  parseDecimalType,
} from "./logical_row.ts";

const DATE_RE = /^(-?\d{4,})-(\d{1,2})-(\d{1,2})$/;
const TIMESTAMP_RE =
  /^(-?\d{4,})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function fail(text: string, type: DataType, why: string): never {
  throw new InvalidArgumentError(
    `Cannot parse partition value ${JSON.stringify(text)} as ${JSON.stringify(type)}: ${why}`,
  );
}

/** Parse `YYYY-MM-DD` into days since 1970-01-01, or `undefined`. */
export function parseDateText(text: string): number | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * Parse `YYYY-MM-DD HH:MM:SS[.ffffff]` into microseconds since the epoch, taken as UTC; an explicit
 * `Z` or `+HH:MM` offset is honoured when `allowOffset`.
 */
export function parseTimestampText(text: string, allowOffset: boolean): bigint | undefined {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) {
    const days = parseDateText(text);
    return days === undefined ? undefined : microsFromParts(days, 0, 0, 0, 0);
  }
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  const fraction = (m[7] ?? "").padEnd(6, "0").slice(0, 6);
  let micros = microsFromParts(
    days,
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
    Number(fraction),
  );
  const zone = m[8];
  if (zone && zone.toUpperCase() !== "Z") {
    if (!allowOffset) return undefined;
    const sign = zone.startsWith("-") ? -1n : 1n;
    const digits = zone.slice(1).replace(":", "");
    const offsetMinutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
    micros -= sign * offsetMinutes * 60_000_000n;
  }
  return micros;
}

/**
 * Parse an exact decimal string (`-12.5`, `1E+3`) into unscaled digits at `scale`.
 * Returns `undefined` when the text is not a number or needs more fraction digits than `scale`.
 */
export function parseDecimalText(text: string, scale: number): bigint | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
  const digits = (m[2] ?? "") + (m[3] ?? "");
  const exponent = Number(m[4] ?? 0) - (m[3] ?? "").length;
  let unscaled = BigInt(digits === "" ? "0" : digits);
  const shift = exponent + scale;
  if (shift >= 0) unscaled *= 10n ** BigInt(shift);
  else {
    const factor = 10n ** BigInt(-shift);
    if (unscaled % factor !== 0n) return undefined;
    unscaled /= factor;
  }
  return m[1] === "-" ? -unscaled : unscaled;
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
      const days = parseDateText(text);
      return days === undefined ? fail(text, type, "not a date (YYYY-MM-DD)") : days;
    }
    case "timestamp":
    case "timestamp_ntz": {
      const micros = parseTimestampText(text, type === "timestamp");
      return micros === undefined
        ? fail(text, type, "not a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])")
        : micros;
    }
    default: {
      const decimal = parseDecimalType(type);
      if (!decimal) return fail(text, type, "unknown type");
      const unscaled = parseDecimalText(text, decimal.scale);
      if (unscaled === undefined) return fail(text, type, "not a decimal of this scale");
      return { unscaled, scale: decimal.scale };
    }
  }
}
