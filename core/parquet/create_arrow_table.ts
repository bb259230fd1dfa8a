/**
 * Arrow tables from plain JavaScript rows, for library users and the compaction rewrite: the
 * schema-driven column builders of `core/values` (the edge's, so a value means the same on both
 * paths) with the library's value readers. Nulls stay nulls instead of becoming 0
 * (docs/design.md, toolchain note 2).
 *
 * Accepted values per Delta type (`null` or `undefined` is a null; the full table is in
 * `core/values/value_readers.ts`):
 *
 * | Delta type | JavaScript value |
 * |---|---|
 * | string | string (no lone surrogate) |
 * | long | bigint, safe-integer number, or decimal string |
 * | integer, short, byte | integer number in range |
 * | float, double | number (a float within float32's range), or "NaN", "Infinity", "-Infinity" |
 * | boolean | boolean |
 * | binary | Uint8Array |
 * | date | days since epoch (number), "YYYY-MM-DD", or a Date (its UTC day) |
 * | timestamp, timestamp_ntz | **epoch microseconds** (bigint or safe-integer number), a Date, or an ISO-8601 string (for timestamp_ntz without a zone) |
 * | decimal(p,s) | decimal string ("12.30"), number, or bigint holding the unscaled value |
 * | struct | object keyed by logical field name |
 * | array | array |
 * | map | Map, array of [key, value] pairs, or a plain object |
 *
 * Dates and timestamps must lie in 0001-01-01 .. 9999-12-31. Numeric timestamps are epoch
 * microseconds, Delta's unit (ADR 0027); the edge's JSON milliseconds are converted at the edge.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { deltaSchemaToArrow, deltaTypeToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { DataType, StructType } from "../schema/types.ts";
import { buildRecordBatch } from "../values/build_record_batch.ts";
import { createColumnBuilder } from "../values/column_builder.ts";

/** Options of {@linkcode createArrowTable}. */
export interface CreateArrowTableOptions {
  /** Name the columns by their column mapping physical names (rows stay keyed by logical name). */
  physicalNames?: boolean;
}

/**
 * Builds an Arrow table with the Arrow form of `schema` (see `deltaSchemaToArrow`) from rows keyed
 * by logical field name. A missing key is a null; keys the schema does not have are ignored.
 *
 * @throws {ValueError} (an `InvalidArgumentError`) naming the row and the field of the first value
 * that does not fit its type or is null in a non-nullable field.
 *
 * @example
 * ```ts
 * import { createArrowTable } from "./create_arrow_table.ts";
 * const table = createArrowTable(
 *   {
 *     type: "struct",
 *     fields: [
 *       { name: "id", type: "long", nullable: false, metadata: {} },
 *       { name: "name", type: "string", nullable: true, metadata: {} },
 *     ],
 *   },
 *   [{ id: 1n, name: "a" }, { id: 2, name: null }],
 * );
 * if (table.numRows !== 2 || table.getChild("name")?.get(1) !== null) throw new Error("unexpected");
 * ```
 */
export function createArrowTable(
  schema: StructType,
  rows: readonly Record<string, unknown>[],
  options: CreateArrowTableOptions = {},
): arrow.Table {
  const arrowSchema = deltaSchemaToArrow(schema, options);
  return new arrow.Table([buildRecordBatch(schema, rows, { arrowSchema })]);
}

/**
 * Builds one Arrow column (`Data`) of a Delta type from plain values, as `createArrowTable` does.
 *
 * @throws {ValueError} (an `InvalidArgumentError`) for the first value that does not fit.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { createArrowData } from "./create_arrow_table.ts";
 * const v = arrow.makeVector(createArrowData("date", ["2024-01-01", null]));
 * if (v.nullCount !== 1) throw new Error("unexpected");
 * ```
 */
export function createArrowData(
  type: DataType,
  values: ArrayLike<unknown>,
  options: CreateArrowTableOptions & { nullable?: boolean } = {},
): arrow.Data {
  const builder = createColumnBuilder(type, deltaTypeToArrow(type, options), {
    path: "value",
    nullable: options.nullable ?? true,
    capacity: values.length,
  });
  for (let i = 0; i < values.length; i++) builder.append(values[i], i);
  return builder.finish();
}
