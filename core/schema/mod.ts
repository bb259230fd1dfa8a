/**
 * The Delta schema: its types, JSON form (parse / serialize), column mapping helpers and the mapping
 * to and from Apache Arrow.
 *
 * @example
 * ```ts
 * import { deltaSchemaToArrow, parseSchema, serializeSchema } from "./mod.ts";
 * const json = '{"type":"struct","fields":[{"name":"d","type":"decimal(10,2)","nullable":true,"metadata":{}}]}';
 * const schema = parseSchema(json);
 * if (serializeSchema(schema) !== json) throw new Error("round trip changed the schema");
 * if (deltaSchemaToArrow(schema).fields.length !== 1) throw new Error("unexpected");
 * ```
 *
 * @module
 */
export type * from "./types.ts";
export {
  DECIMAL_PRECISION_MAX,
  type DecimalParams,
  decimalParams,
  isDecimalParamsValid,
  isPrimitiveType,
  parseDataType,
  parseSchema,
  PRIMITIVE_TYPE_NAMES,
  serializeSchema,
} from "./parse_schema.ts";
export { FIELD_ID_KEY, fieldId, PHYSICAL_NAME_KEY, physicalName } from "./column_mapping.ts";
export {
  arrowSchemaToDelta,
  arrowTypeToDelta,
  deltaFieldToArrow,
  deltaSchemaToArrow,
  type DeltaSchemaToArrowOptions,
  deltaTypeToArrow,
  PARQUET_FIELD_ID_KEY,
} from "./delta_schema_to_arrow.ts";
