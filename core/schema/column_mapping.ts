/**
 * Column mapping helpers (Delta PROTOCOL, "Column Mapping"): the physical name and field id that a
 * field's metadata assigns to it.
 *
 * @module
 */
import type { StructField } from "./types.ts";

/** Field metadata key of the physical (Parquet) column name. */
export const PHYSICAL_NAME_KEY = "delta.columnMapping.physicalName";
/** Field metadata key of the column mapping field id. */
export const FIELD_ID_KEY = "delta.columnMapping.id";

/**
 * The physical name of a field: `delta.columnMapping.physicalName` from its metadata, or its
 * logical name when the field is not mapped.
 *
 * @example
 * ```ts
 * import { physicalName } from "./column_mapping.ts";
 * const field = {
 *   name: "id",
 *   type: "long" as const,
 *   nullable: true,
 *   metadata: { "delta.columnMapping.physicalName": "col-5f4e" },
 * };
 * if (physicalName(field) !== "col-5f4e") throw new Error("unexpected");
 * ```
 */
export function physicalName(field: StructField): string {
  const name = field.metadata?.[PHYSICAL_NAME_KEY];
  return typeof name === "string" && name !== "" ? name : field.name;
}

/**
 * The column mapping field id of a field (`delta.columnMapping.id`), or `undefined` when the field
 * has none.
 *
 * @example
 * ```ts
 * import { fieldId } from "./column_mapping.ts";
 * const field = { name: "id", type: "long" as const, nullable: true, metadata: { "delta.columnMapping.id": 3 } };
 * if (fieldId(field) !== 3) throw new Error("unexpected");
 * ```
 */
export function fieldId(field: StructField): number | undefined {
  const id = field.metadata?.[FIELD_ID_KEY];
  if (typeof id === "number" && Number.isInteger(id)) return id;
  if (typeof id === "string" && /^-?\d+$/.test(id)) return Number(id);
  return undefined;
}
