/**
 * Rows to one Arrow `RecordBatch` of a Delta schema, through the column builders of
 * `column_builder.ts`: the edge converts a request's events with it, `createArrowTable` library
 * rows.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { deltaSchemaToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { StructType } from "../schema/types.ts";
import { createColumnBuilder, type UnknownFields, ValueError } from "./column_builder.ts";
import { expected, type ValueReaders } from "./value_readers.ts";

/** Options of {@linkcode buildRecordBatch}. */
export interface BuildRecordBatchOptions {
  /**
   * The Arrow schema of the batch (default `deltaSchemaToArrow(schema)`); it must be the Arrow
   * form of `schema`, its field names may be physical names.
   */
  arrowSchema?: arrow.Schema;
  /** What each Delta type accepts (default the library's `VALUE_READERS`). */
  readers?: ValueReaders;
  /** Properties a struct type does not have: refused or ignored (default `"drop"`). */
  unknownFields?: UnknownFields;
}

/**
 * Builds one record batch from rows keyed by the Delta field names (a missing key is a null).
 *
 * @throws {ValueError} (an `InvalidArgumentError`) naming the row and the field of the first value
 * its column does not accept, or the row that is not an object.
 *
 * @example
 * ```ts
 * import { buildRecordBatch } from "./build_record_batch.ts";
 * const batch = buildRecordBatch(
 *   { type: "struct", fields: [{ name: "id", type: "long", nullable: false, metadata: {} }] },
 *   [{ id: 1 }, { id: "9007199254740993" }],
 * );
 * if (batch.getChild("id")?.get(1) !== 9007199254740993n) throw new Error("unexpected");
 * ```
 */
export function buildRecordBatch(
  schema: StructType,
  rows: readonly unknown[],
  options: BuildRecordBatchOptions = {},
): arrow.RecordBatch {
  const arrowSchema = options.arrowSchema ?? deltaSchemaToArrow(schema);
  const root = createColumnBuilder(schema, new arrow.Struct(arrowSchema.fields), {
    nullable: false,
    capacity: rows.length,
    ...(options.readers === undefined ? {} : { readers: options.readers }),
    ...(options.unknownFields === undefined ? {} : { unknownFields: options.unknownFields }),
  });
  for (let row = 0; row < rows.length; row++) {
    const v = rows[row];
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new ValueError(row, "", expected("an object", v));
    }
    root.append(v, row);
  }
  return new arrow.RecordBatch(arrowSchema, root.finish() as arrow.Data<arrow.Struct>);
}
