/**
 * Partition values as strings, as Delta PROTOCOL "Partition Value Serialization" specifies, read
 * straight from Arrow column buffers (so timestamps keep their microseconds and longs their 64 bits).
 *
 * A value that has no faithful text is refused with an `InvalidArgumentError`, never written as
 * some text: dates and timestamps outside 0001-01-01 .. 9999-12-31 (the range of Spark and of the
 * `YYYY-MM-DD` form every reader parses; JavaScript's `Date` would print `0NaN-NaN-NaN` or a
 * five-digit year), a string that is not valid UTF-8, binary with bytes above 0x7F (readers
 * disagree: the PROTOCOL spells bytes as `\u00XX` characters, Spark reads the text as UTF-8), and a
 * row past the end of its buffers (ADR 0016).
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { DataType } from "../schema/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import { decimalParams } from "../schema/parse_schema.ts";
import {
  DATE_RANGE_TEXT,
  isDateDaysInRange,
  isTimestampMicrosInRange,
} from "../values/calendar.ts";
import { formatDate, formatTimestamp } from "../values/datetime_text.ts";
import { formatUnscaledDecimal } from "../values/decimal_text.ts";

/** A value that has no faithful partition text. */
export class PartitionTextError extends InvalidArgumentError {
  /** What is wrong, without the "Cannot" (e.g. `date 3000000 is outside ...`). */
  readonly reason: string;
  /** Create the error for a value description and why it has no text. */
  constructor(what: string, why: string) {
    super(`Cannot write ${what} as a partition value: ${why}`);
    this.name = "PartitionTextError";
    this.reason = `${what}: ${why}`;
  }
}

function refuse(what: string, why: string): never {
  throw new PartitionTextError(what, why);
}

/**
 * Format days since the epoch as `YYYY-MM-DD`.
 *
 * @throws {PartitionTextError} (an `InvalidArgumentError`) for a day outside 0001-01-01 .. 9999-12-31 or not an integer.
 *
 * @example
 * ```ts
 * import { formatDateDays } from "./partition_value.ts";
 * if (formatDateDays(-1) !== "1969-12-31") throw new Error("unexpected");
 * let refused = false;
 * try {
 *   formatDateDays(2_147_483_647);
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("a date past 9999-12-31 has no YYYY-MM-DD form");
 * ```
 */
export function formatDateDays(epochDays: number): string {
  if (!isDateDaysInRange(epochDays)) {
    refuse(`date ${epochDays} (days since 1970-01-01)`, `outside ${DATE_RANGE_TEXT}`);
  }
  return formatDate(epochDays);
}

/**
 * Format epoch microseconds as `YYYY-MM-DD HH:MM:SS.ffffff` (`timestamp_ntz`) or as the ISO 8601
 * UTC form `YYYY-MM-DDTHH:MM:SS.ffffffZ` (`timestamp`), both allowed by Delta PROTOCOL.
 *
 * @throws {PartitionTextError} (an `InvalidArgumentError`) for an instant outside 0001-01-01 .. 9999-12-31.
 *
 * @example
 * ```ts
 * import { formatTimestampMicros } from "./partition_value.ts";
 * const s = formatTimestampMicros(1_000_000n * 86_400n + 123_456n, true);
 * if (s !== "1970-01-02T00:00:00.123456Z") throw new Error(s);
 * ```
 */
export function formatTimestampMicros(micros: bigint, utc: boolean): string {
  if (!isTimestampMicrosInRange(micros)) {
    refuse(`timestamp ${micros} (microseconds since the epoch)`, `outside ${DATE_RANGE_TEXT}`);
  }
  return formatTimestamp(micros, utc, { separator: utc ? "T" : " " });
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The value at `index` of a fixed-width buffer of `stride` elements per row, bounds-checked. */
function fixed(data: arrow.Data, index: number): ArrayLike<unknown> {
  const values = data.values as ArrayLike<unknown> | undefined;
  if (!Number.isInteger(index) || index < 0 || (index + 1) * data.stride > (values?.length ?? 0)) {
    refuse(`row ${index}`, "past the end of its column's values buffer");
  }
  return values!;
}

function readBigInt(data: arrow.Data, index: number): bigint {
  const v = fixed(data, index)[index];
  return typeof v === "bigint" ? v : BigInt(v as number);
}

/** The bytes of row `index` of a variable-width column, bounds-checked. */
function variableBytes(data: arrow.Data, index: number): Uint8Array {
  const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  const bytes = data.values as Uint8Array | undefined;
  const start = Number(offsets?.[index]);
  const end = Number(offsets?.[index + 1]);
  if (!(start >= 0 && start <= end && end <= (bytes?.length ?? 0))) {
    refuse(`row ${index}`, "its offsets are out of bounds");
  }
  return bytes!.subarray(start, end);
}

function unscaledDecimal(words: Uint32Array): bigint {
  let unscaled = 0n;
  for (let i = words.length - 1; i >= 0; i--) unscaled = (unscaled << 32n) | BigInt(words[i]!);
  return BigInt.asIntN(words.length * 32, unscaled);
}

/**
 * The Delta partition value string of row `index` of one Arrow `Data` chunk of Delta type `type`,
 * or `null` for a null (an empty string is a null partition value too, Delta PROTOCOL).
 *
 * @throws {PartitionTextError} (an `InvalidArgumentError`) for a value without a faithful text
 * (see the module doc); {@linkcode InvalidArgumentError} for a nested type.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { serializePartitionValue } from "./partition_value.ts";
 * const v = arrow.vectorFromArray([19_000 * 86_400_000], new arrow.DateDay());
 * const s = serializePartitionValue(v.data[0]!, 0, "date");
 * if (s !== "2022-01-08") throw new Error(String(s));
 * ```
 */
export function serializePartitionValue(
  data: arrow.Data,
  index: number,
  type: DataType,
): string | null {
  const validity = data.nullBitmap;
  if (data.nullCount > 0 && validity && validity.length > 0) {
    const bit = data.offset + index;
    if (((validity[bit >> 3]! >> (bit & 7)) & 1) === 0) return null;
  }
  switch (type) {
    case "string": {
      let s: string;
      try {
        s = fatalUtf8.decode(variableBytes(data, index));
      } catch {
        return refuse(`string row ${index}`, "not valid UTF-8");
      }
      return s === "" ? null : s;
    }
    case "binary": {
      const bytes = variableBytes(data, index);
      if (bytes.length === 0) return null;
      let s = "";
      for (const b of bytes) {
        if (b > 0x7f) {
          refuse(
            `binary row ${index}`,
            "a byte above 0x7F has no text that every reader agrees on",
          );
        }
        s += String.fromCharCode(b);
      }
      return s;
    }
    case "boolean": {
      const bit = data.offset + index;
      const bits = data.values as Uint8Array | undefined;
      if ((bit >> 3) >= (bits?.length ?? 0)) refuse(`row ${index}`, "past the end of its column");
      return (bits![bit >> 3]! >> (bit & 7)) & 1 ? "true" : "false";
    }
    case "byte":
    case "short":
    case "integer":
    case "long":
      return readBigInt(data, index).toString();
    case "float":
    case "double":
      return String(Number(fixed(data, index)[index]));
    case "date":
      return formatDateDays(Number(fixed(data, index)[index]));
    case "timestamp":
    case "timestamp_ntz":
      return formatTimestampMicros(readBigInt(data, index), type === "timestamp");
    default:
      break;
  }
  const decimal = decimalParams(type);
  if (decimal !== undefined) {
    const stride = data.stride;
    fixed(data, index);
    const words = (data.values as Uint32Array).subarray(stride * index, stride * (index + 1));
    return formatUnscaledDecimal(unscaledDecimal(words), decimal.scale);
  }
  throw new InvalidArgumentError(
    `Cannot use a column of type ${
      JSON.stringify(type)
    } as a partition column: not a primitive type`,
  );
}
