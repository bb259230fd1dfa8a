/**
 * Mapping between Delta types and Apache Arrow (JS) types.
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
import { InvalidArgumentError } from "../errors.ts";
import { fieldId, physicalName } from "./column_mapping.ts";
import { decimalParams } from "./parse_schema.ts";
import type { DataType, PrimitiveTypeName, StructField, StructType } from "./types.ts";

/** Options of {@linkcode deltaSchemaToArrow}. */
export interface DeltaSchemaToArrowOptions {
  /**
   * Name the Arrow fields by their column mapping physical name (and attach the field id as
   * `PARQUET:field_id` metadata, which the Parquet writer stores as the Parquet field id).
   */
  physicalNames?: boolean;
}

/** Arrow field metadata key the Parquet writer turns into the Parquet `field_id`. */
export const PARQUET_FIELD_ID_KEY = "PARQUET:field_id";

/**
 * Converts a Delta data type to an Arrow data type.
 *
 * @example
 * ```ts
 * import { deltaTypeToArrow } from "./delta_schema_to_arrow.ts";
 * const t = deltaTypeToArrow("decimal(10,2)");
 * if (t.toString() !== "Decimal[10e+2]") throw new Error(t.toString());
 * ```
 */
export function deltaTypeToArrow(
  type: DataType,
  options: DeltaSchemaToArrowOptions = {},
): arrow.DataType {
  if (typeof type === "string") return primitiveToArrow(type);
  switch (type.type) {
    case "struct":
      return new arrow.Struct(type.fields.map((f) => deltaFieldToArrow(f, options)));
    case "array":
      return new arrow.List(
        new arrow.Field("element", deltaTypeToArrow(type.elementType, options), type.containsNull),
      );
    case "map": {
      const entries = new arrow.Struct([
        new arrow.Field("key", deltaTypeToArrow(type.keyType, options), false),
        new arrow.Field("value", deltaTypeToArrow(type.valueType, options), type.valueContainsNull),
      ]);
      return new arrow.Map_(new arrow.Field("entries", entries, false), false);
    }
  }
}

function primitiveToArrow(type: PrimitiveTypeName): arrow.DataType {
  switch (type) {
    case "string":
      return new arrow.Utf8();
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
    case "binary":
      return new arrow.Binary();
    case "date":
      return new arrow.DateDay();
    case "timestamp":
      // Without the zone Parquet marks the column as not UTC-adjusted (docs/design.md, toolchain
      // note 3).
      return new arrow.TimestampMicrosecond("UTC");
    case "timestamp_ntz":
      return new arrow.TimestampMicrosecond();
    default: {
      const d = decimalParams(type);
      if (d === undefined) throw new InvalidArgumentError(`Cannot convert type "${type}" to Arrow`);
      // Arrow JS takes (scale, precision, bitWidth).
      return new arrow.Decimal(d.scale, d.precision, 128);
    }
  }
}

/** Converts one Delta struct field to an Arrow field. */
export function deltaFieldToArrow(
  field: StructField,
  options: DeltaSchemaToArrowOptions = {},
): arrow.Field {
  const name = options.physicalNames ? physicalName(field) : field.name;
  const metadata = new Map<string, string>();
  const id = options.physicalNames ? fieldId(field) : undefined;
  if (id !== undefined) metadata.set(PARQUET_FIELD_ID_KEY, String(id));
  return new arrow.Field(name, deltaTypeToArrow(field.type, options), field.nullable, metadata);
}

/**
 * Converts a Delta schema to an Arrow schema.
 *
 * @example
 * ```ts
 * import { deltaSchemaToArrow } from "./delta_schema_to_arrow.ts";
 * const schema = deltaSchemaToArrow({
 *   type: "struct",
 *   fields: [{ name: "ts", type: "timestamp", nullable: true, metadata: {} }],
 * });
 * if (String(schema.fields[0]?.type) !== "Timestamp<MICROSECOND, UTC>") throw new Error("unexpected");
 * ```
 */
export function deltaSchemaToArrow(
  struct: StructType,
  options: DeltaSchemaToArrowOptions = {},
): arrow.Schema {
  return new arrow.Schema(struct.fields.map((f) => deltaFieldToArrow(f, options)));
}

/**
 * Converts an Arrow schema to a Delta schema. Nullability is carried; field metadata is not (Delta
 * field metadata is empty in the result). Dictionary columns map to their value type, large and
 * fixed-size variants to their plain Delta type, timestamps of any unit to `timestamp` (with a zone)
 * or `timestamp_ntz` (without).
 *
 * @throws {InvalidArgumentError} for Arrow types with no Delta equivalent (unsigned integers, ...).
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { arrowSchemaToDelta } from "./delta_schema_to_arrow.ts";
 * const s = arrowSchemaToDelta(new arrow.Schema([new arrow.Field("n", new arrow.Int32(), false)]));
 * if (s.fields[0]?.type !== "integer" || s.fields[0].nullable) throw new Error("unexpected");
 * ```
 */
export function arrowSchemaToDelta(schema: arrow.Schema): StructType {
  return { type: "struct", fields: schema.fields.map((f) => arrowFieldToDelta(f, f.name)) };
}

function arrowFieldToDelta(field: arrow.Field, where: string): StructField {
  return {
    name: field.name,
    type: arrowTypeToDelta(field.type, where),
    nullable: field.nullable,
    metadata: {},
  };
}

/** Converts an Arrow data type to a Delta data type; `where` names the column in errors. */
export function arrowTypeToDelta(type: arrow.DataType, where = "column"): DataType {
  const t = arrow.Type;
  switch (type.typeId) {
    case t.Utf8:
    case t.LargeUtf8:
      return "string";
    case t.Binary:
    case t.LargeBinary:
    case t.FixedSizeBinary:
      return "binary";
    case t.Bool:
      return "boolean";
    case t.Int: {
      const i = type as arrow.Int;
      if (i.isSigned) {
        if (i.bitWidth === 64) return "long";
        if (i.bitWidth === 32) return "integer";
        if (i.bitWidth === 16) return "short";
        return "byte";
      }
      break;
    }
    case t.Float: {
      const f = type as arrow.Float;
      if (f.precision === arrow.Precision.SINGLE) return "float";
      if (f.precision === arrow.Precision.DOUBLE) return "double";
      break;
    }
    case t.Date:
      return "date";
    case t.Timestamp:
      return (type as arrow.Timestamp).timezone ? "timestamp" : "timestamp_ntz";
    case t.Decimal: {
      const d = type as arrow.Decimal;
      return `decimal(${d.precision},${d.scale})`;
    }
    case t.Struct:
      return {
        type: "struct",
        fields: (type as arrow.Struct).children.map((c) =>
          arrowFieldToDelta(c, `${where}.${c.name}`)
        ),
      };
    case t.List:
    case t.FixedSizeList: {
      const child = (type as arrow.List).children[0]!;
      return {
        type: "array",
        elementType: arrowTypeToDelta(child.type, `${where}.element`),
        containsNull: child.nullable,
      };
    }
    case t.Map: {
      const entries = (type as arrow.Map_).children[0]!.type as arrow.Struct;
      const [key, value] = entries.children;
      if (key === undefined || value === undefined) break;
      return {
        type: "map",
        keyType: arrowTypeToDelta(key.type, `${where}.key`),
        valueType: arrowTypeToDelta(value.type, `${where}.value`),
        valueContainsNull: value.nullable,
      };
    }
    case t.Dictionary:
      return arrowTypeToDelta((type as arrow.Dictionary).dictionary, where);
  }
  throw new InvalidArgumentError(
    `Cannot convert Arrow type ${String(type)} of ${where} to a Delta type`,
  );
}
