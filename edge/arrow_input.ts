/**
 * Arrow IPC input: a table a client sent as an Arrow stream or file, checked column by column and
 * copied into the batches the edge forwards.
 *
 * * Every column must have exactly the Arrow type the edge would write (`deltaSchemaToArrow`;
 *   nested field names may differ, a timestamp's zone may be any spelling of UTC).
 * * Its buffers must hold what its lengths and offsets claim (`validateArrowLayout`, the check the
 *   runner intake repeats), non-nullable fields must hold no nulls (by the table's schema, not the
 *   client's), dates and timestamps must lie in 0001-01-01 .. 9999-12-31 and decimals fit their
 *   precision (`validateArrowValues`).
 * * Unknown columns are refused or dropped; missing nullable columns are filled with nulls, but
 *   only for rows the kept columns can carry (a tiny body must not make the edge allocate a
 *   billion nulls).
 *
 * Kept columns are copied (`compactArrowData`): views would keep the whole request body alive
 * (ADR 0015).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { compactArrowData } from "../core/arrow/compact_arrow_data.ts";
import { ArrowLayoutError, validateArrowLayout } from "../core/arrow/validate_arrow_layout.ts";
import {
  ArrowValueError,
  validateArrowNulls,
  validateArrowValues,
} from "../core/arrow/validate_arrow_values.ts";
import type { StructType } from "../core/schema/types.ts";
import { createColumnBuilder, type UnknownFields } from "../core/values/mod.ts";
import { SchemaViolationError } from "./schema_violation_error.ts";

/** What {@linkcode convertArrowInput} converts to. */
export interface ArrowInputTarget {
  /** The table's Delta schema. */
  schema: StructType;
  /** Its Arrow form, the schema of every batch returned. */
  arrowSchema: arrow.Schema;
  /** Columns the schema does not have: refused or dropped. */
  unknownFields: UnknownFields;
}

/**
 * Checks a client's Arrow table against the target schema and returns its batches in that schema,
 * owning compact copies of the kept columns.
 *
 * @throws {SchemaViolationError} for a wrong type, an unknown or missing required column, a buffer
 * shorter than its rows, a null in a non-nullable field or a value out of range.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { deltaSchemaToArrow } from "../core/schema/delta_schema_to_arrow.ts";
 * import { convertArrowInput } from "./arrow_input.ts";
 * const schema = {
 *   type: "struct" as const,
 *   fields: [
 *     { name: "id", type: "long" as const, nullable: false, metadata: {} },
 *     { name: "note", type: "string" as const, nullable: true, metadata: {} },
 *   ],
 * };
 * const target = { schema, arrowSchema: deltaSchemaToArrow(schema), unknownFields: "reject" as const };
 * const [batch] = convertArrowInput(arrow.tableFromArrays({ id: BigInt64Array.of(1n, 2n) }), target);
 * if (batch?.numCols !== 2 || batch.getChild("note")?.nullCount !== 2) throw new Error();
 * ```
 */
export function convertArrowInput(
  table: arrow.Table,
  target: ArrowInputTarget,
): arrow.RecordBatch[] {
  const index = checkColumns(table.schema, target);
  try {
    validateArrowLayout(table);
    // The table's nullability, not the client's (nested fields by position, as sameType matched).
    validateArrowNulls(table, target.arrowSchema);
    validateArrowValues(table);
  } catch (e) {
    if (e instanceof ArrowLayoutError) throw new SchemaViolationError(0, e.column, e.reason);
    if (e instanceof ArrowValueError) throw new SchemaViolationError(e.row, e.column, e.reason);
    throw e;
  }
  const { schema, arrowSchema } = target;
  const rowType = new arrow.Struct(arrowSchema.fields);
  const batches: arrow.RecordBatch[] = [];
  let rowBase = 0;
  for (const batch of table.batches) {
    checkRowsCarried(batch, arrowSchema, index, rowBase);
    const children = arrowSchema.fields.map((f, j) => {
      const k = index.get(f.name);
      if (k === undefined) {
        if (!f.nullable) throw new SchemaViolationError(rowBase, f.name, "missing required field");
        const nulls = createColumnBuilder(schema.fields[j]!.type, f.type, {
          path: f.name,
          capacity: batch.numRows,
        });
        for (let i = 0; i < batch.numRows; i++) nulls.appendNull();
        return nulls.finish();
      }
      // A copy: views would keep the whole request body alive (ADR 0015).
      return compactArrowData(batch.data.children[k]!, f.type);
    });
    const rows = arrow.makeData({ type: rowType, length: batch.numRows, nullCount: 0, children });
    batches.push(new arrow.RecordBatch(arrowSchema, rows));
    rowBase += batch.numRows;
  }
  return batches;
}

/**
 * Refuses unknown columns (unless dropped) and columns of another type; returns the index of each
 * kept column in the client's schema by name.
 */
function checkColumns(client: arrow.Schema, target: ArrowInputTarget): Map<string, number> {
  const clientFields = client.fields;
  const index = new Map(clientFields.map((f, k) => [f.name, k]));
  if (target.unknownFields === "reject") {
    const known = new Set(target.schema.fields.map((f) => f.name));
    const unknown = clientFields.find((f) => !known.has(f.name));
    if (unknown !== undefined) throw new SchemaViolationError(0, unknown.name, "unknown field");
  }
  for (const f of target.arrowSchema.fields) {
    const k = index.get(f.name);
    if (k === undefined) continue;
    const type = clientFields[k]!.type;
    if (!sameType(type, f.type)) {
      throw new SchemaViolationError(
        0,
        f.name,
        `expected Arrow type ${String(f.type)}, got ${String(type)}`,
      );
    }
  }
  return index;
}

const UTC_ZONES = new Set(["UTC", "utc", "Z", "+00:00", "Etc/UTC", "GMT"]);

/** Whether a client column type equals the edge's type (nested field names may differ). */
function sameType(client: arrow.DataType, target: arrow.DataType): boolean {
  if (client.typeId !== target.typeId) return false;
  if (arrow.DataType.isInt(client) && arrow.DataType.isInt(target)) {
    return client.bitWidth === target.bitWidth && client.isSigned === target.isSigned;
  }
  if (arrow.DataType.isFloat(client) && arrow.DataType.isFloat(target)) {
    return client.precision === target.precision;
  }
  if (arrow.DataType.isDate(client) && arrow.DataType.isDate(target)) {
    return client.unit === target.unit;
  }
  if (arrow.DataType.isTimestamp(client) && arrow.DataType.isTimestamp(target)) {
    if (client.unit !== target.unit) return false;
    return target.timezone ? UTC_ZONES.has(client.timezone ?? "") : !client.timezone;
  }
  if (arrow.DataType.isDecimal(client) && arrow.DataType.isDecimal(target)) {
    return client.precision === target.precision && client.scale === target.scale &&
      client.bitWidth === target.bitWidth;
  }
  if (client.children?.length !== target.children?.length) return false;
  if (arrow.DataType.isStruct(client)) {
    return client.children.every((c, k) => {
      const t = target.children[k]!;
      return c.name === t.name && sameType(c.type, t.type);
    });
  }
  return (client.children ?? []).every((c, k) => sameType(c.type, target.children[k]!.type));
}

/**
 * Refuses a batch whose row count its kept columns cannot carry: every row of a real column costs
 * at least a bit, so a tiny body claiming a billion rows (columns of type Null, or none the table
 * knows) would otherwise make the edge allocate the missing columns' nulls for all of them.
 */
function checkRowsCarried(
  batch: arrow.RecordBatch,
  arrowSchema: arrow.Schema,
  index: ReadonlyMap<string, number>,
  rowBase: number,
): void {
  let bytes = 0;
  for (const f of arrowSchema.fields) {
    const k = index.get(f.name);
    if (k !== undefined) bytes += dataBytes(batch.data.children[k]!);
  }
  if (batch.numRows > 8 * bytes + 64) {
    throw new SchemaViolationError(
      rowBase,
      "",
      `a batch of ${batch.numRows} rows whose columns hold ${bytes} bytes`,
    );
  }
}

function dataBytes(d: arrow.Data): number {
  let n = (d.values?.byteLength ?? 0) + (d.valueOffsets?.byteLength ?? 0) +
    (d.nullBitmap?.byteLength ?? 0);
  for (const c of d.children) n += dataBytes(c);
  return n;
}
