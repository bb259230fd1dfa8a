/**
 * Check an Arrow batch against a table schema before anything is written, and bring it into the
 * table's column order (missing nullable columns become all-null columns).
 *
 * Everything that can be known before writing is checked here, so that a batch that would fail
 * (or worse, be written and break readers) is refused with `SCHEMA_MISMATCH` by every entry point:
 * the runner intake, the writer plugin, `appendBatch` and library users. In order: the buffers
 * hold what the lengths claim (`validateArrowLayout`), the columns and types fit the schema,
 * non-nullable columns hold no nulls, dates and timestamps lie in 0001-01-01 .. 9999-12-31 and
 * decimals fit their precision (`validateArrowValues`), and, given the partition columns, every
 * row's partition values have a text and a directory name storages accept (`groupByPartition`).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { compactArrowData, isCompactData } from "../arrow/compact_arrow_data.ts";
import { ArrowLayoutError, validateArrowLayout } from "../arrow/validate_arrow_layout.ts";
import {
  ArrowValueError,
  validateArrowNulls,
  validateArrowValues,
} from "../arrow/validate_arrow_values.ts";
import { LakestrikeError } from "../errors.ts";
import { createArrowData } from "../parquet/create_arrow_table.ts";
import { arrowTypeToDelta, deltaTypeToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { DataType, StructType } from "../schema/types.ts";
import { groupByPartition, PartitionValueError } from "./split_by_partition.ts";

/** Options of {@linkcode validateBatch}. */
export interface ValidateBatchOptions {
  /**
   * The table's partition columns: when given, every row's partition values must have a Delta
   * text and fit a directory name (`partitionPath`). Default: not checked here (`writeDataFiles`
   * still refuses such a batch before it writes any file).
   */
  partitionColumns?: readonly string[];
}

function typeName(type: DataType): string {
  return typeof type === "string" ? type : JSON.stringify(type);
}

function mismatch(message: string): LakestrikeError {
  return new LakestrikeError("SCHEMA_MISMATCH", message);
}

/** Delta type of an Arrow type, or `undefined` when it has none. */
function deltaTypeOf(type: arrow.DataType, where: string): DataType | undefined {
  try {
    return arrowTypeToDelta(type, where);
  } catch {
    return undefined;
  }
}

/** The same buffers under `type` (a type of the same layout: other nested names or nullability). */
function retype(d: arrow.Data, type: arrow.DataType): arrow.Data {
  const children = d.children.map((c, k) => retype(c, type.children[k]!.type));
  return new arrow.Data(type, d.offset, d.length, d.nullCount, d, children, d.dictionary);
}

/** Arrow types with the same physical layout (bit widths, units, children), names aside. */
function sameLayout(a: arrow.DataType, b: arrow.DataType): boolean {
  if (a.typeId !== b.typeId) return false;
  if (arrow.DataType.isInt(a) && arrow.DataType.isInt(b)) {
    return a.bitWidth === b.bitWidth && a.isSigned === b.isSigned;
  }
  if (arrow.DataType.isFloat(a) && arrow.DataType.isFloat(b)) return a.precision === b.precision;
  if (arrow.DataType.isDate(a) && arrow.DataType.isDate(b)) return a.unit === b.unit;
  if (arrow.DataType.isTimestamp(a) && arrow.DataType.isTimestamp(b)) return a.unit === b.unit;
  if (arrow.DataType.isDecimal(a) && arrow.DataType.isDecimal(b)) {
    return a.bitWidth === b.bitWidth && a.precision === b.precision && a.scale === b.scale;
  }
  const ac = a.children ?? [], bc = b.children ?? [];
  return ac.length === bc.length && ac.every((f, k) => sameLayout(f.type, bc[k]!.type));
}

/** Delta types equal, ignoring nested nullability and field metadata. */
function sameDeltaType(a: DataType, b: DataType): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a.type === "struct" && b.type === "struct") {
    return a.fields.length === b.fields.length &&
      a.fields.every((f, i) =>
        f.name === b.fields[i]!.name && sameDeltaType(f.type, b.fields[i]!.type)
      );
  }
  if (a.type === "array" && b.type === "array") return sameDeltaType(a.elementType, b.elementType);
  if (a.type === "map" && b.type === "map") {
    return sameDeltaType(a.keyType, b.keyType) && sameDeltaType(a.valueType, b.valueType);
  }
  return false;
}

/**
 * Validate `batch` against `schema` and return it with exactly the schema's columns, in schema order,
 * typed and with the nullability the table declares.
 *
 * * a column the table does not have: `SCHEMA_MISMATCH` naming the column;
 * * a column of another type: `SCHEMA_MISMATCH` naming the column and both types (primitive columns
 *   must have exactly the Arrow type `deltaSchemaToArrow` gives, e.g. timestamps in microseconds);
 * * a missing or null-holding non-nullable column: `SCHEMA_MISMATCH`;
 * * a missing nullable column is filled with nulls;
 * * buffers shorter than their rows or offsets out of bounds (a malformed IPC body): `SCHEMA_MISMATCH`
 *   naming the column;
 * * a date or timestamp outside 0001-01-01 .. 9999-12-31, a decimal beyond its precision:
 *   `SCHEMA_MISMATCH` naming the column and the row;
 * * with `options.partitionColumns`, a partition value without a text or whose directory name is
 *   too long: `SCHEMA_MISMATCH` naming the column and the row.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { validateBatch } from "./validate_batch.ts";
 * const schema = {
 *   type: "struct" as const,
 *   fields: [
 *     { name: "id", type: "long" as const, nullable: false, metadata: {} },
 *     { name: "note", type: "string" as const, nullable: true, metadata: {} },
 *   ],
 * };
 * const batch = new arrow.Table({ id: arrow.vectorFromArray([1n, 2n], new arrow.Int64()) });
 * const table = validateBatch(batch, schema);
 * if (table.schema.fields.map((f) => f.name).join() !== "id,note") throw new Error("columns");
 * if (table.getChild("note")?.get(1) !== null) throw new Error("missing column must be null");
 * ```
 */
export function validateBatch(
  batch: arrow.Table,
  schema: StructType,
  options: ValidateBatchOptions = {},
): arrow.Table {
  const key = validationKey(schema, options.partitionColumns);
  const earlier = VALIDATED.get(batch);
  // Its own result, checked against the same schema and at least these partition columns (the
  // runner's intake, then `writeDataFiles`): valid, and already aligned.
  if (
    earlier !== undefined && earlier.schema === key.schema &&
    (key.partitions === undefined || earlier.partitions === key.partitions)
  ) {
    return batch;
  }
  try {
    validateArrowLayout(batch);
  } catch (e) {
    if (e instanceof ArrowLayoutError) {
      throw mismatch(
        `Cannot write batch: column ${JSON.stringify(e.column)} is malformed: ${e.reason}`,
      );
    }
    throw e;
  }
  const aligned = alignColumns(batch, schema);
  try {
    validateArrowNulls(aligned); // nested fields against the table's nullability
    validateArrowValues(aligned);
    if (options.partitionColumns !== undefined && options.partitionColumns.length > 0) {
      groupByPartition(aligned, options.partitionColumns, schema);
    }
  } catch (e) {
    if (e instanceof ArrowValueError || e instanceof PartitionValueError) {
      throw mismatch(
        `Cannot write batch: row ${e.row}, column ${JSON.stringify(e.column)}: ${e.reason}`,
      );
    }
    throw e;
  }
  VALIDATED.set(aligned, key);
  return aligned;
}

/** What a validation checked: the schema, and the partition columns whose values it checked. */
interface ValidationKey {
  schema: string;
  partitions: string | undefined;
}

/** The tables `validateBatch` returned, and what each was checked against (ADR 0045). */
const VALIDATED = new WeakMap<arrow.Table, ValidationKey>();
const SCHEMA_TEXT = new WeakMap<StructType, string>();

function validationKey(
  schema: StructType,
  partitionColumns: readonly string[] | undefined,
): ValidationKey {
  let text = SCHEMA_TEXT.get(schema);
  if (text === undefined) {
    text = JSON.stringify(schema);
    SCHEMA_TEXT.set(schema, text);
  }
  const partitions = partitionColumns === undefined || partitionColumns.length === 0
    ? undefined
    : JSON.stringify(partitionColumns);
  return { schema: text, partitions };
}

/** The batch with exactly the schema's columns in schema order; throws `SCHEMA_MISMATCH`. */
function alignColumns(batch: arrow.Table, schema: StructType): arrow.Table {
  const known = new Set(schema.fields.map((f) => f.name));
  for (const f of batch.schema.fields) {
    if (!known.has(f.name)) {
      throw mismatch(
        `Cannot write batch: column ${JSON.stringify(f.name)} is not in the table schema`,
      );
    }
  }
  const seen = new Set<string>();
  for (const f of batch.schema.fields) {
    if (seen.has(f.name)) {
      throw mismatch(`Cannot write batch: column ${JSON.stringify(f.name)} appears twice`);
    }
    seen.add(f.name);
  }
  const fields: arrow.Field[] = [];
  const columns: arrow.Vector[] = [];
  for (const field of schema.fields) {
    const expected = deltaTypeToArrow(field.type);
    const where = `column ${JSON.stringify(field.name)}`;
    const vector = batch.getChild(field.name);
    if (vector === null) {
      if (!field.nullable) {
        throw mismatch(`Cannot write batch: non-nullable ${where} is missing`);
      }
      const nulls = createArrowData(field.type, new Array(batch.numRows).fill(null));
      fields.push(new arrow.Field(field.name, nulls.type, true));
      columns.push(arrow.makeVector(nulls));
      continue;
    }
    const actual = vector.type as arrow.DataType;
    const primitive = typeof field.type === "string";
    const ok = sameLayout(actual, expected) &&
      (primitive ? String(actual) === String(expected) : (() => {
        const d = deltaTypeOf(actual, where);
        return d !== undefined && sameDeltaType(d, field.type);
      })());
    if (!ok) {
      const got = deltaTypeOf(actual, where);
      const gotName = got === undefined || (primitive && got === field.type)
        ? `Arrow ${String(actual)}`
        : typeName(got);
      throw mismatch(
        `Cannot write batch: ${where} has type ${gotName}, the table declares ${
          typeName(field.type)
        } (Arrow ${String(expected)})`,
      );
    }
    if (!field.nullable && vector.nullCount > 0) {
      throw mismatch(
        `Cannot write batch: non-nullable ${where} holds ${vector.nullCount} null value(s)`,
      );
    }
    // The table's types (nested nullability included), in buffers of the batch's own: a view into
    // a request body would keep the body alive, and overlapping views break Arrow JS's IPC writer.
    fields.push(new arrow.Field(field.name, expected, field.nullable));
    columns.push(
      arrow.makeVector(
        vector.data.map((d) =>
          isCompactData(d) ? retype(d, expected) : compactArrowData(d, expected)
        ),
      ),
    );
  }
  const schemaOut = new arrow.Schema(fields);
  if (fields.length === 0) return new arrow.Table(schemaOut);
  const structType = new arrow.Struct(fields);
  const lengths = columns[0]!.data.map((d) => d.length);
  if (
    columns.every((c) =>
      c.data.length === lengths.length && c.data.every((d, i) => d.length === lengths[i])
    )
  ) {
    // Columns chunked alike (the batches of one IPC stream): one record batch per chunk, without
    // Arrow JS re-slicing every column into common chunks (a second of CPU a minute at 50,000
    // events/s in a profile).
    return new arrow.Table(
      schemaOut,
      lengths.map((length, i) =>
        new arrow.RecordBatch(
          schemaOut,
          arrow.makeData({
            type: structType,
            length,
            nullCount: 0,
            children: columns.map((c) => c.data[i]!),
          }),
        )
      ),
    );
  }
  const named: Record<string, arrow.Vector> = {};
  fields.forEach((f, i) => (named[f.name] = columns[i]!));
  const aligned = new arrow.Table(named);
  return new arrow.Table(
    schemaOut,
    aligned.batches.map((b) =>
      new arrow.RecordBatch(
        schemaOut,
        arrow.makeData({
          type: new arrow.Struct(fields),
          length: b.numRows,
          nullCount: 0,
          children: b.data.children,
        }),
      )
    ),
  );
}
