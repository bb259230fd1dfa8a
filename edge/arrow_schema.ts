/**
 * The Arrow form of a Delta schema as the edge sends it to the runner (docs/design.md section 4).
 * The edge keeps its own copy of the mapping so that it depends on nothing in `core` but the schema types;
 * the mapping is the one `core/schema` uses:
 *
 * | Delta | Arrow |
 * |---|---|
 * | string / binary | Utf8 / Binary |
 * | long, integer, short, byte | Int64, Int32, Int16, Int8 |
 * | float, double, boolean | Float32, Float64, Bool |
 * | date | DateDay |
 * | timestamp / timestamp_ntz | TimestampMicrosecond with zone "UTC" / without zone |
 * | decimal(p,s) | Decimal128(p, s) |
 * | struct / array / map | Struct / List (child "element") / Map (entries "key", "value") |
 *
 * @module
 */
import * as arrow from "apache-arrow";
import type { DataType, StructType } from "../core/schema/types.ts";

const DECIMAL_TYPE_RE = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

/** Largest precision of a Delta decimal (Decimal128). */
export const DECIMAL_PRECISION_MAX = 38;

/** Precision and scale of a Delta `decimal(p,s)` type name, or `undefined` for other names. */
export function decimalTypeParams(
  type: string,
): { precision: number; scale: number } | undefined {
  const m = DECIMAL_TYPE_RE.exec(type);
  if (m === null) return undefined;
  const precision = +m[1]!, scale = +m[2]!;
  if (precision < 1 || precision > DECIMAL_PRECISION_MAX || scale > precision) return undefined;
  return { precision, scale };
}

/**
 * Converts a Delta data type to the Arrow type the edge writes.
 *
 * @throws {TypeError} for a type name that is not a Delta type.
 *
 * @example
 * ```ts
 * import { edgeArrowType } from "./arrow_schema.ts";
 * if (String(edgeArrowType("timestamp")) !== "Timestamp<MICROSECOND, UTC>") throw new Error();
 * ```
 */
export function edgeArrowType(type: DataType): arrow.DataType {
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct":
        return new arrow.Struct(
          type.fields.map((f) => new arrow.Field(f.name, edgeArrowType(f.type), f.nullable)),
        );
      case "array":
        return new arrow.List(
          new arrow.Field("element", edgeArrowType(type.elementType), type.containsNull),
        );
      case "map": {
        const entries = new arrow.Struct([
          new arrow.Field("key", edgeArrowType(type.keyType), false),
          new arrow.Field("value", edgeArrowType(type.valueType), type.valueContainsNull),
        ]);
        return new arrow.Map_(new arrow.Field("entries", entries, false), false);
      }
    }
  }
  switch (type) {
    case "string":
      return new arrow.Utf8();
    case "binary":
      return new arrow.Binary();
    case "long":
      return new arrow.Int64();
    case "integer":
      return new arrow.Int32();
    case "short":
      return new arrow.Int16();
    case "byte":
      return new arrow.Int8();
    case "float":
      return new arrow.Float32();
    case "double":
      return new arrow.Float64();
    case "boolean":
      return new arrow.Bool();
    case "date":
      return new arrow.DateDay();
    case "timestamp":
      // Without the zone Parquet marks the column as not UTC-adjusted (docs/design.md, toolchain
      // note 3).
      return new arrow.TimestampMicrosecond("UTC");
    case "timestamp_ntz":
      return new arrow.TimestampMicrosecond();
  }
  const d = decimalTypeParams(type);
  if (d === undefined) throw new TypeError(`Cannot map type "${String(type)}": not a Delta type`);
  // Arrow JS takes (scale, precision, bitWidth).
  return new arrow.Decimal(d.scale, d.precision, 128);
}

/**
 * Converts a Delta schema to the Arrow schema of the batches the edge sends.
 *
 * @example
 * ```ts
 * import { edgeArrowSchema } from "./arrow_schema.ts";
 * const s = edgeArrowSchema({
 *   type: "struct",
 *   fields: [{ name: "n", type: "long", nullable: false, metadata: {} }],
 * });
 * if (String(s.fields[0]?.type) !== "Int64" || s.fields[0]?.nullable) throw new Error();
 * ```
 */
export function edgeArrowSchema(schema: StructType): arrow.Schema {
  return new arrow.Schema(
    schema.fields.map((f) => new arrow.Field(f.name, edgeArrowType(f.type), f.nullable)),
  );
}
