/**
 * Partition values as strings, as Delta PROTOCOL "Partition Value Serialization" specifies, read
 * straight from Arrow column buffers (so timestamps keep their microseconds and longs their 64 bits).
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { DataType } from "../schema/types.ts";
import { InvalidArgumentError } from "../errors.ts";

const MS_PER_DAY = 86_400_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function formatDate(epochDays: number): string {
  const d = new Date(epochDays * MS_PER_DAY);
  const y = d.getUTCFullYear();
  const year = y < 0 ? "-" + pad(-y, 4) : pad(y, 4);
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/**
 * Format epoch microseconds as `YYYY-MM-DD HH:MM:SS.ffffff` (`timestamp_ntz`) or as the ISO 8601
 * UTC form `YYYY-MM-DDTHH:MM:SS.ffffffZ` (`timestamp`), both allowed by Delta PROTOCOL.
 *
 * @example
 * ```ts
 * import { formatTimestampMicros } from "./partition_value.ts";
 * const s = formatTimestampMicros(1_000_000n * 86_400n + 123_456n, true);
 * if (s !== "1970-01-02T00:00:00.123456Z") throw new Error(s);
 * ```
 */
export function formatTimestampMicros(micros: bigint, utc: boolean): string {
  let days = micros / 86_400_000_000n;
  let rest = micros % 86_400_000_000n;
  if (rest < 0n) {
    rest += 86_400_000_000n;
    days -= 1n;
  }
  const us = Number(rest);
  const secs = Math.floor(us / 1_000_000);
  const fraction = pad(us % 1_000_000, 6);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${
    pad(secs % 60, 2)
  }.${fraction}`;
  const date = formatDate(Number(days));
  return utc ? `${date}T${time}Z` : `${date} ${time}`;
}

function readBigInt(values: ArrayLike<unknown>, index: number): bigint {
  const v = values[index];
  return typeof v === "bigint" ? v : BigInt(v as number);
}

function decimalToString(words: Uint32Array, scale: number): string {
  let unscaled = 0n;
  for (let i = words.length - 1; i >= 0; i--) unscaled = (unscaled << 32n) | BigInt(words[i]!);
  const bits = BigInt(words.length * 32);
  if (unscaled >> (bits - 1n)) unscaled -= 1n << bits;
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, "0");
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? "-" + digits : digits;
}

/**
 * The Delta partition value string of row `index` of one Arrow `Data` chunk of Delta type `type`,
 * or `null` for a null (an empty string is a null partition value too, Delta PROTOCOL).
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
  const values = data.values as ArrayLike<unknown>;
  switch (type) {
    case "string": {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      const start = Number(offsets[index]);
      const end = Number(offsets[index + 1]);
      const s = new TextDecoder().decode((data.values as Uint8Array).subarray(start, end));
      return s === "" ? null : s;
    }
    case "binary": {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      const bytes = (data.values as Uint8Array).subarray(
        Number(offsets[index]),
        Number(offsets[index + 1]),
      );
      if (bytes.length === 0) return null;
      let s = "";
      for (const b of bytes) s += String.fromCharCode(b);
      return s;
    }
    case "boolean": {
      const bit = data.offset + index;
      return ((data.values as Uint8Array)[bit >> 3]! >> (bit & 7)) & 1 ? "true" : "false";
    }
    case "byte":
    case "short":
    case "integer":
    case "long":
      return readBigInt(values, index).toString();
    case "float":
    case "double":
      return String(Number(values[index]));
    case "date":
      return formatDate(Number(values[index]));
    case "timestamp":
    case "timestamp_ntz":
      return formatTimestampMicros(readBigInt(values, index), type === "timestamp");
    default:
      break;
  }
  if (typeof type === "string" && type.startsWith("decimal(")) {
    const m = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
    const stride = (data as unknown as { stride: number }).stride;
    const words = (data.values as Uint32Array).subarray(stride * index, stride * (index + 1));
    return decimalToString(words, Number(m?.[2] ?? 0));
  }
  throw new InvalidArgumentError(
    `Cannot use a column of type ${
      JSON.stringify(type)
    } as a partition column: not a primitive type`,
  );
}
