/**
 * Parsing and serializing the Delta schema JSON (Delta PROTOCOL, "Schema Serialization Format").
 *
 * @module
 */
import { CorruptLogError } from "../errors.ts";
import type {
  ArrayType,
  DataType,
  MapType,
  PrimitiveTypeName,
  StructField,
  StructType,
} from "./types.ts";

/**
 * Every Delta primitive type name except `decimal(p,s)`, which carries parameters (Delta PROTOCOL,
 * "Primitive Types").
 *
 * @example
 * ```ts
 * import { PRIMITIVE_TYPE_NAMES } from "./parse_schema.ts";
 * if (!PRIMITIVE_TYPE_NAMES.includes("timestamp_ntz")) throw new Error("missing");
 * ```
 */
export const PRIMITIVE_TYPE_NAMES: readonly PrimitiveTypeName[] = Object.freeze([
  "string",
  "long",
  "integer",
  "short",
  "byte",
  "float",
  "double",
  "boolean",
  "binary",
  "date",
  "timestamp",
  "timestamp_ntz",
]);

const PRIMITIVES: ReadonlySet<string> = new Set(PRIMITIVE_TYPE_NAMES);

/** Largest decimal precision Delta allows (Delta PROTOCOL, "Primitive Types": decimal). */
export const DECIMAL_PRECISION_MAX = 38;

const DECIMAL_RE = /^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

/** Precision and scale of a decimal type. */
export interface DecimalParams {
  precision: number;
  scale: number;
}

/**
 * Returns precision and scale when `type` is a decimal type name, else `undefined`.
 *
 * @example
 * ```ts
 * import { decimalParams } from "./parse_schema.ts";
 * const p = decimalParams("decimal(10,2)");
 * if (p?.precision !== 10 || p.scale !== 2) throw new Error("unexpected");
 * ```
 */
export function decimalParams(type: DataType | string): DecimalParams | undefined {
  if (typeof type !== "string") return undefined;
  const m = DECIMAL_RE.exec(type);
  if (m === null) return undefined;
  return { precision: Number(m[1]), scale: Number(m[2]) };
}

/**
 * Whether decimal parameters are ones Delta allows: precision 1 to {@linkcode DECIMAL_PRECISION_MAX},
 * scale at most the precision.
 *
 * @example
 * ```ts
 * import { isDecimalParamsValid } from "./parse_schema.ts";
 * if (!isDecimalParamsValid({ precision: 38, scale: 38 })) throw new Error("unexpected");
 * if (isDecimalParamsValid({ precision: 39, scale: 2 })) throw new Error("unexpected");
 * ```
 */
export function isDecimalParamsValid(d: DecimalParams): boolean {
  return d.precision >= 1 && d.precision <= DECIMAL_PRECISION_MAX && d.scale <= d.precision;
}

/** Returns true when `type` is a primitive (non-nested) Delta type. */
export function isPrimitiveType(type: DataType): type is PrimitiveTypeName {
  return typeof type === "string";
}

/**
 * Parses and validates a Delta `schemaString` into a {@linkcode StructType}. Decimal names are
 * normalized to `decimal(p,s)` (spaces removed; the legacy bare `decimal` means `decimal(10,0)`) and
 * a missing field `metadata` becomes `{}`.
 *
 * @throws {CorruptLogError} on invalid JSON, an unknown type or a malformed field.
 *
 * @example
 * ```ts
 * import { parseSchema } from "./parse_schema.ts";
 * const s = parseSchema(
 *   '{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,"metadata":{}}]}',
 * );
 * if (s.fields[0]?.type !== "long") throw new Error("unexpected");
 * ```
 */
export function parseSchema(schemaString: string): StructType {
  let json: unknown;
  try {
    json = JSON.parse(schemaString);
  } catch (e) {
    throw new CorruptLogError(`Cannot parse schema: invalid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
  const type = parseDataType(json, "schema");
  if (typeof type === "string" || type.type !== "struct") {
    throw new CorruptLogError("Cannot parse schema: the top-level type is not a struct");
  }
  return type;
}

/**
 * Validates a parsed JSON value as a Delta data type. `where` names the position for messages.
 *
 * @throws {CorruptLogError} when the value is not a valid Delta data type.
 */
export function parseDataType(json: unknown, where: string): DataType {
  if (typeof json === "string") return parsePrimitive(json, where);
  if (!isObject(json)) fail(where, "a type must be a string or an object");
  switch (json.type) {
    case "struct": {
      if (!Array.isArray(json.fields)) fail(where, "struct has no fields array");
      const names = new Set<string>();
      const fields = json.fields.map((f: unknown, i: number) => {
        const field = parseField(f, `${where}.fields[${i}]`);
        if (names.has(field.name)) fail(where, `duplicate field name "${field.name}"`);
        names.add(field.name);
        return field;
      });
      return { type: "struct", fields };
    }
    case "array": {
      if (typeof json.containsNull !== "boolean") fail(where, "array has no boolean containsNull");
      return {
        type: "array",
        elementType: parseDataType(json.elementType, `${where}.elementType`),
        containsNull: json.containsNull,
      };
    }
    case "map": {
      if (typeof json.valueContainsNull !== "boolean") {
        fail(where, "map has no boolean valueContainsNull");
      }
      return {
        type: "map",
        keyType: parseDataType(json.keyType, `${where}.keyType`),
        valueType: parseDataType(json.valueType, `${where}.valueType`),
        valueContainsNull: json.valueContainsNull,
      };
    }
    default:
      fail(where, `unknown type ${JSON.stringify(json.type)}`);
  }
}

function parseField(json: unknown, where: string): StructField {
  if (!isObject(json)) fail(where, "a field must be an object");
  if (typeof json.name !== "string") fail(where, "field has no string name");
  const at = `${where} ("${json.name}")`;
  if (typeof json.nullable !== "boolean") fail(at, "field has no boolean nullable");
  const metadata = json.metadata ?? {};
  if (!isObject(metadata)) fail(at, "field metadata is not an object");
  return {
    name: json.name,
    type: parseDataType(json.type, at),
    nullable: json.nullable,
    metadata: metadata as Record<string, unknown>,
  };
}

function parsePrimitive(name: string, where: string): PrimitiveTypeName {
  if (PRIMITIVES.has(name)) return name as PrimitiveTypeName;
  if (name === "decimal") return "decimal(10,0)";
  const d = decimalParams(name);
  if (d === undefined) fail(where, `unknown type "${name}"`);
  if (!isDecimalParamsValid(d)) fail(where, `invalid decimal precision or scale in "${name}"`);
  return `decimal(${d.precision},${d.scale})`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string, why: string): never {
  throw new CorruptLogError(`Cannot parse schema at ${where}: ${why}`);
}

/**
 * Serializes a struct to the exact Delta schema JSON, keys in protocol order:
 * `{"type":"struct","fields":[{"name":..,"type":..,"nullable":..,"metadata":{..}}]}`.
 *
 * @example
 * ```ts
 * import { serializeSchema } from "./parse_schema.ts";
 * const json = serializeSchema({
 *   type: "struct",
 *   fields: [{ name: "id", type: "long", nullable: true, metadata: {} }],
 * });
 * if (json !== '{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}') {
 *   throw new Error(json);
 * }
 * ```
 */
export function serializeSchema(struct: StructType): string {
  return JSON.stringify(canonicalType(struct));
}

function canonicalType(type: DataType): unknown {
  if (typeof type === "string") return type;
  switch (type.type) {
    case "struct":
      return {
        type: "struct",
        fields: type.fields.map((f) => ({
          name: f.name,
          type: canonicalType(f.type),
          nullable: f.nullable,
          metadata: f.metadata ?? {},
        })),
      };
    case "array":
      return {
        type: "array",
        elementType: canonicalType((type as ArrayType).elementType),
        containsNull: type.containsNull,
      };
    case "map":
      return {
        type: "map",
        keyType: canonicalType((type as MapType).keyType),
        valueType: canonicalType(type.valueType),
        valueContainsNull: type.valueContainsNull,
      };
  }
}
