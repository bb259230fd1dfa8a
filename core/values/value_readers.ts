/**
 * Value coercions: what JavaScript value each Delta type accepts, and the reason a value is
 * refused. The column builders (`column_builder.ts`) call a reader once per value, so readers are
 * small, allocate little, and answer a refusal as a string instead of throwing.
 *
 * {@linkcode VALUE_READERS} are the library's (`createArrowTable`); the edge builds its JSON
 * readers from the same pieces and changes only what JSON spells differently (epoch milliseconds,
 * base64, the strings `"NaN"` and `"Infinity"` for numbers JSON cannot hold). One unit for numeric
 * timestamps throughout: **epoch microseconds** (ADR 0027), the unit of Delta and of the Arrow
 * `TimestampMicrosecond` columns; a caller with another unit converts at its own boundary.
 *
 * | Delta type | accepted value (`null` or `undefined` is a null) |
 * |---|---|
 * | string | a string with no lone surrogate (UTF-8 cannot hold one) |
 * | long | a safe-integer number, a bigint, or a decimal string, within 64 bits |
 * | integer, short, byte | an integer number within the type's range |
 * | float, double | a number (float: within ±3.4028234663852886e38, or ±Infinity, NaN), or `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | boolean | a boolean |
 * | binary | a Uint8Array |
 * | date | an integer number of days since 1970-01-01, `"YYYY-MM-DD"`, or a Date (its UTC day) |
 * | timestamp | an integer number or a bigint of epoch microseconds, a Date, or an ISO 8601 string (`datetime_text.ts`; without a zone it is UTC) |
 * | timestamp_ntz | the same, the string without a zone (its wall clock) |
 * | decimal(p,s) | a decimal string (exact), a number (its shortest round-trip spelling), or a bigint holding the unscaled value |
 *
 * Dates and timestamps must lie in 0001-01-01 .. 9999-12-31 (`calendar.ts`).
 *
 * @module
 */
import { DATE_RANGE_TEXT, isDateDaysInRange, isTimestampMicrosInRange } from "./calendar.ts";
import { parseDate, parseTimestamp } from "./datetime_text.ts";
import { parseDecimal } from "./decimal_text.ts";

/**
 * Readers of the Delta types whose accepted values depend on where they come from. Each returns
 * the value in the column's unit, or a string: the reason the value is refused.
 */
export interface ValueReaders {
  /** A 64-bit integer. */
  long(v: unknown): number | bigint | string;
  /** A float (`"float"`, stored as float32) or a double. */
  float(v: unknown, type: "float" | "double"): number | string;
  /** Days since 1970-01-01. */
  date(v: unknown): number | string;
  /** Microseconds since the epoch (of the wall clock for `ntz`). */
  timestamp(v: unknown, ntz: boolean): number | bigint | string;
  /** The unscaled value of a `decimal(precision, scale)`. */
  decimal(v: unknown, precision: number, scale: number): number | bigint | string;
  /** The bytes of a binary value. */
  binary(v: unknown): Uint8Array | string;
}

/**
 * A short description of a value for an error message: strings quoted and cut at 40 characters.
 *
 * @example
 * ```ts
 * import { describeValue } from "./value_readers.ts";
 * if (describeValue("x") !== '"x"' || describeValue([]) !== "an array") throw new Error();
 * ```
 */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "number":
    case "boolean":
    case "bigint":
      return String(v);
    case "object":
      return v instanceof Date && !Number.isNaN(v.getTime())
        ? `Date ${v.toISOString()}`
        : "an object";
    default:
      return typeof v;
  }
}

/**
 * The reason of a refusal: `expected <what>, got <value>`.
 *
 * @example
 * ```ts
 * import { expected } from "./value_readers.ts";
 * if (expected("integer", "a") !== 'expected integer, got "a"') throw new Error();
 * ```
 */
export function expected(what: string, v: unknown): string {
  return `expected ${what}, got ${describeValue(v)}`;
}

/** Ranges of the Delta integer types below 64 bits. */
export const INTEGER_RANGES = {
  byte: [-128, 127],
  short: [-32768, 32767],
  integer: [-2147483648, 2147483647],
} as const;

/**
 * Reads a byte, short or integer: an integer number within the type's range.
 *
 * @example
 * ```ts
 * import { readInteger } from "./value_readers.ts";
 * if (readInteger(-128, "byte") !== -128) throw new Error();
 * if (readInteger(128, "byte") !== "128 is out of range for byte") throw new Error();
 * ```
 */
export function readInteger(v: unknown, type: keyof typeof INTEGER_RANGES): number | string {
  if (typeof v !== "number" || !Number.isInteger(v)) return expected(type, v);
  const [min, max] = INTEGER_RANGES[type];
  if (v < min || v > max) return `${v} is out of range for ${type}`;
  return v;
}

const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;
const INT64_TEXT_RE = /^[+-]?\d{1,19}$/;

function readLong(v: unknown): number | bigint | string {
  if (typeof v === "number") {
    if (Number.isSafeInteger(v)) return v;
    return Number.isInteger(v)
      ? `${v} is not a safe integer: send longs beyond 2^53 as decimal strings`
      : expected("long", v);
  }
  if (typeof v === "string" && INT64_TEXT_RE.test(v)) v = BigInt(v);
  if (typeof v === "bigint") {
    return v >= INT64_MIN && v <= INT64_MAX ? v : `${describeValue(v)} is out of range for long`;
  }
  return expected("long (a safe integer or a decimal string)", v);
}

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The strings that spell the numbers JSON has no literal for. */
export const SPECIAL_FLOATS: Readonly<Record<string, number>> = {
  NaN: NaN,
  Infinity: Infinity,
  "-Infinity": -Infinity,
};

function readFloat(v: unknown, type: "float" | "double"): number | string {
  if (typeof v === "number") {
    // Beyond the largest float32 a float would silently become Infinity.
    if (type === "float" && Number.isFinite(v) && (v > FLOAT32_MAX || v < -FLOAT32_MAX)) {
      return `${v} is out of range for float`;
    }
    return v;
  }
  if (typeof v === "string" && Object.hasOwn(SPECIAL_FLOATS, v)) return SPECIAL_FLOATS[v]!;
  return expected(`${type} (a number, or "NaN", "Infinity", "-Infinity")`, v);
}

const MS_PER_DAY = 86_400_000;

function readDate(v: unknown): number | string {
  let days: number;
  if (typeof v === "string") {
    const parsed = parseDate(v);
    if (parsed === undefined) return expected('date "YYYY-MM-DD"', v);
    days = parsed;
  } else if (typeof v === "number" && Number.isInteger(v)) days = v;
  else if (v instanceof Date && !Number.isNaN(v.getTime())) {
    days = Math.floor(v.getTime() / MS_PER_DAY);
  } else return expected('date ("YYYY-MM-DD" or epoch days)', v);
  if (!isDateDaysInRange(days)) return `date ${describeValue(v)} is outside ${DATE_RANGE_TEXT}`;
  return days;
}

/**
 * `micros`, or the reason it is refused when it lies outside 0001-01-01 .. 9999-12-31; `v` is the
 * value as the caller received it, for the message.
 *
 * @example
 * ```ts
 * import { timestampInRange } from "./value_readers.ts";
 * if (timestampInRange(0, "1970", false) !== 0) throw new Error();
 * if (typeof timestampInRange(9e18, 9e18, false) !== "string") throw new Error();
 * ```
 */
export function timestampInRange(
  micros: number | bigint,
  v: unknown,
  ntz: boolean,
): number | bigint | string {
  if (isTimestampMicrosInRange(micros)) return micros;
  return `timestamp ${describeValue(v)} is outside ${DATE_RANGE_TEXT}${ntz ? "" : " (UTC)"}`;
}

/**
 * Reads an ISO 8601 timestamp (`datetime_text.ts`) to epoch microseconds: UTC without a zone, and
 * for `ntz` (a wall clock) only without a zone. Returns the reason of a refusal as a string.
 *
 * @example
 * ```ts
 * import { readTimestampText } from "./value_readers.ts";
 * if (readTimestampText("1970-01-01T00:00:01Z", false) !== 1_000_000) throw new Error();
 * if (typeof readTimestampText("1970-01-01T00:00:01Z", true) !== "string") throw new Error();
 * ```
 */
export function readTimestampText(text: string, ntz: boolean): number | bigint | string {
  const t = parseTimestamp(text);
  if (t === undefined) return expected("ISO-8601 timestamp", text);
  if (ntz && t.offsetMinutes !== undefined) {
    return expected("timestamp_ntz without a zone offset", text);
  }
  return timestampInRange(t.micros, text, ntz);
}

function readTimestamp(v: unknown, ntz: boolean): number | bigint | string {
  if (typeof v === "string") return readTimestampText(v, ntz);
  if (typeof v === "bigint") return timestampInRange(v, v, ntz);
  if (typeof v === "number" && Number.isSafeInteger(v)) return v; // always within the range
  if (v instanceof Date && !Number.isNaN(v.getTime())) {
    const micros = v.getTime() * 1000;
    return timestampInRange(
      Number.isSafeInteger(micros) ? micros : BigInt(v.getTime()) * 1000n,
      v,
      ntz,
    );
  }
  return expected("timestamp (ISO-8601 string, epoch microseconds or a Date)", v);
}

function readDecimal(v: unknown, precision: number, scale: number): number | bigint | string {
  const type = `decimal(${precision},${scale})`;
  let unscaled: number | bigint | string;
  if (typeof v === "string") unscaled = parseDecimal(v, precision, scale);
  else if (typeof v === "number" && Number.isFinite(v)) {
    unscaled = parseDecimal(String(v), precision, scale);
  } else if (typeof v === "bigint") {
    const limit = 10n ** BigInt(precision);
    unscaled = v < limit && v > -limit ? v : `more than ${precision} digits`;
  } else return expected(`${type} as a string or number`, v);
  if (typeof unscaled === "string") return `${describeValue(v)} does not fit ${type}: ${unscaled}`;
  return unscaled;
}

function readBinary(v: unknown): Uint8Array | string {
  return v instanceof Uint8Array ? v : expected("binary (a Uint8Array)", v);
}

/**
 * The library's readers (`createArrowTable`), per the table of the module documentation.
 *
 * @example
 * ```ts
 * import { VALUE_READERS } from "./value_readers.ts";
 * if (VALUE_READERS.timestamp(1_500_000, false) !== 1_500_000) throw new Error("microseconds");
 * if (VALUE_READERS.timestamp(new Date(1), false) !== 1000) throw new Error("a Date");
 * if (VALUE_READERS.decimal("1.5", 5, 2) !== 150) throw new Error("a decimal");
 * ```
 */
export const VALUE_READERS: ValueReaders = {
  long: readLong,
  float: readFloat,
  date: readDate,
  timestamp: readTimestamp,
  decimal: readDecimal,
  binary: readBinary,
};
