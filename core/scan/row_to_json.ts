/**
 * JSON form of scanned rows, for the NDJSON output of `deno task scan`.
 *
 * @module
 */
import type { DataType, StructType } from "../schema/types.ts";
import {
  type Decimal,
  formatDate,
  formatDecimal,
  formatTimestamp,
  isDecimal,
  type LogicalRow,
  type LogicalValue,
} from "./logical_row.ts";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function floatToJson(n: number): number | string {
  return Number.isFinite(n) ? n : String(n);
}

/** The JSON value of one logical value of `type`. */
export function valueToJson(value: LogicalValue, type: DataType): unknown {
  if (value === null) return null;
  if (typeof type === "string") {
    switch (type) {
      case "long":
        return String(value as bigint);
      case "float":
      case "double":
        return floatToJson(value as number);
      case "binary":
        return base64(value as Uint8Array);
      case "date":
        return formatDate(value as number);
      case "timestamp":
        return formatTimestamp(value as bigint, true);
      case "timestamp_ntz":
        return formatTimestamp(value as bigint, false);
      default:
        if (isDecimal(value)) return formatDecimal(value as Decimal);
        return value;
    }
  }
  switch (type.type) {
    case "struct": {
      const values = value as LogicalValue[];
      const out: Record<string, unknown> = {};
      type.fields.forEach((f, i) => {
        out[f.name] = valueToJson(values[i] ?? null, f.type);
      });
      return out;
    }
    case "array":
      return (value as LogicalValue[]).map((v) => valueToJson(v, type.elementType));
    case "map": {
      const entries = value as [LogicalValue, LogicalValue][];
      if (type.keyType === "string") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of entries) out[k as string] = valueToJson(v, type.valueType);
        return out;
      }
      return entries.map(([k, v]) => ({
        key: valueToJson(k, type.keyType),
        value: valueToJson(v, type.valueType),
      }));
    }
  }
}

/**
 * A row as a JSON object keyed by logical column name: timestamps as ISO-8601 strings with six
 * fraction digits (`Z` for timestamp, none for timestamp_ntz), dates `YYYY-MM-DD`, long and decimal
 * as strings, binary as base64, NaN and infinities as strings, structs as objects, maps as objects
 * when their keys are strings and as arrays of `{key, value}` otherwise.
 *
 * @example
 * ```ts
 * import { rowToJson } from "./row_to_json.ts";
 * import type { StructType } from "../schema/types.ts";
 * const schema: StructType = {
 *   type: "struct",
 *   fields: [
 *     { name: "id", type: "long", nullable: false, metadata: {} },
 *     { name: "at", type: "timestamp", nullable: true, metadata: {} },
 *     { name: "price", type: "decimal(5,2)", nullable: true, metadata: {} },
 *   ],
 * };
 * const json = rowToJson([7n, 1704164645123456n, { unscaled: 1999n, scale: 2 }], schema);
 * if (JSON.stringify(json) !== '{"id":"7","at":"2024-01-02T03:04:05.123456Z","price":"19.99"}') {
 *   throw new Error(JSON.stringify(json));
 * }
 * ```
 */
export function rowToJson(row: LogicalRow, schema: StructType): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  schema.fields.forEach((f, i) => {
    out[f.name] = valueToJson(row[i] ?? null, f.type);
  });
  return out;
}
