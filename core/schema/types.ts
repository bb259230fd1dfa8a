/**
 * The Delta schema, as PROTOCOL.md "Schema Serialization Format" defines it.
 *
 * @module
 */

/** Delta primitive type names; `decimal(p,s)` is spelled out with its precision and scale. */
export type PrimitiveTypeName =
  | "string"
  | "long"
  | "integer"
  | "short"
  | "byte"
  | "float"
  | "double"
  | "boolean"
  | "binary"
  | "date"
  | "timestamp"
  | "timestamp_ntz"
  | `decimal(${number},${number})`;

/** A Delta data type. */
export type DataType = PrimitiveTypeName | StructType | ArrayType | MapType;

/** Delta struct type. */
export interface StructType {
  type: "struct";
  fields: StructField[];
}

/** Delta array type. */
export interface ArrayType {
  type: "array";
  elementType: DataType;
  containsNull: boolean;
}

/** Delta map type. */
export interface MapType {
  type: "map";
  keyType: DataType;
  valueType: DataType;
  valueContainsNull: boolean;
}

/** A field of a struct. Metadata holds column mapping (`delta.columnMapping.id`, `.physicalName`), etc. */
export interface StructField {
  name: string;
  type: DataType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}
