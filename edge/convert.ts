/**
 * Events to Arrow: the converter of one table. It validates a request's events against the
 * table's Delta schema and builds one Arrow `RecordBatch` of them with the shared schema-driven
 * column builders of `core/values` (5–7× faster than `tableFromJSON` or per-value Arrow builders,
 * docs/design.md, toolchain note 2; it never guesses a type), reading values by their JSON
 * spellings (`json_values.ts`). Arrow IPC input goes through `arrow_input.ts` instead.
 *
 * ```text
 *   JSON events ──► buildRecordBatch (core/values, JSON_VALUE_READERS) ──┐
 *   Arrow table ──► convertArrowInput (arrow_input.ts) ──────────────────┼─► partition values checked ──► batches
 *                       any refusal ──► SchemaViolationError (row, field, reason) ──► 422
 * ```
 *
 * Validation is fail-fast: the first problem throws a {@linkcode SchemaViolationError} that names
 * the row index and the field path (`user.id`, `tags[]`, `attrs.key`), and nothing of the request is
 * kept. A missing field and `null` are the same thing, fields are matched by exact
 * (case-sensitive) name, and unknown fields are rejected unless the table says
 * `unknownFields: "drop"`.
 *
 * What no Delta reader could read back is refused on both paths: dates and timestamps outside
 * 0001-01-01 .. 9999-12-31, strings with a lone surrogate (JSON can spell one, UTF-8 cannot hold
 * it), JSON numbers too large for a double (`1e400` parses as Infinity), and, when the converter
 * knows the partition columns, partition values without a text or whose directory name is too long
 * (`core/write/split_by_partition.ts`). A schema whose decimals Delta does not allow (precision
 * above 38, scale above the precision) is refused when the converter is created, so a bad table
 * config fails the edge's start, not its requests.
 *
 * Memory: a batch owns compact buffers, sized to its rows. Arrow input is copied out of the
 * request body (views into it would keep the whole body alive), builders trim their spare
 * capacity, and {@linkcode recordBatchBytes} charges every buffer a batch keeps alive in full.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import {
  decimalParams,
  isDecimalParamsValid,
  PRIMITIVE_TYPE_NAMES,
} from "../core/schema/parse_schema.ts";
import { deltaSchemaToArrow } from "../core/schema/delta_schema_to_arrow.ts";
import type { DataType, StructType } from "../core/schema/types.ts";
import { buildRecordBatch, type UnknownFields, ValueError } from "../core/values/mod.ts";
import { groupByPartition, PartitionValueError } from "../core/write/split_by_partition.ts";
import { convertArrowInput } from "./arrow_input.ts";
import { JSON_VALUE_READERS } from "./json_values.ts";
import { SchemaViolationError } from "./schema_violation_error.ts";

export { SchemaViolationError } from "./schema_violation_error.ts";
/** What to do with event fields the table schema does not have: refuse them or drop them. */
export type { UnknownFields } from "../core/values/mod.ts";

/** Options of {@linkcode createConverter}. */
export interface ConverterOptions {
  /** Unknown fields are rejected (default) or dropped. */
  unknownFields?: UnknownFields;
  /**
   * The table's partition columns (default none): each row's values must have a Delta partition
   * text and a directory name storages accept, as the runner would require.
   */
  partitionColumns?: readonly string[];
}

/** Converts validated events of one table to Arrow. */
export interface EventConverter {
  /** The Arrow schema of every batch this converter builds. */
  readonly arrowSchema: arrow.Schema;
  /**
   * Validates decoded JSON events and builds one record batch of them.
   *
   * @throws {SchemaViolationError} on the first event that does not match the schema.
   */
  fromEvents(events: readonly unknown[]): arrow.RecordBatch;
  /**
   * Validates an Arrow table sent by a client and returns its batches in the edge's schema.
   *
   * @throws {SchemaViolationError} when a column has the wrong type or holds invalid values.
   */
  fromArrow(table: arrow.Table): arrow.RecordBatch[];
}

/**
 * Creates the converter of a table schema.
 *
 * @throws {TypeError} when a type is not one Delta allows (a decimal of precision above 38 or scale
 * above its precision) or a partition column is not a primitive column of the schema.
 *
 * @example
 * ```ts
 * import { createConverter } from "./convert.ts";
 * const converter = createConverter({
 *   type: "struct",
 *   fields: [
 *     { name: "id", type: "long", nullable: false, metadata: {} },
 *     { name: "ts", type: "timestamp", nullable: true, metadata: {} },
 *   ],
 * });
 * const batch = converter.fromEvents([{ id: 1, ts: "2024-01-01T00:00:00.000001Z" }, { id: "2" }]);
 * if (batch.numRows !== 2) throw new Error("unexpected");
 * if (batch.getChild("id")?.get(1) !== 2n) throw new Error("unexpected");
 * ```
 */
export function createConverter(
  schema: StructType,
  options: ConverterOptions = {},
): EventConverter {
  checkTypes(schema);
  const arrowSchema = deltaSchemaToArrow(schema);
  const unknownFields = options.unknownFields ?? "reject";
  const partitionColumns = options.partitionColumns ?? [];
  for (const c of partitionColumns) {
    if (!schema.fields.some((f) => f.name === c && typeof f.type === "string")) {
      throw new TypeError(`Cannot partition by ${JSON.stringify(c)}: not a primitive column`);
    }
  }
  const checkPartitions = (batches: arrow.RecordBatch[]) => {
    if (partitionColumns.length === 0 || batches.length === 0) return;
    try {
      groupByPartition(new arrow.Table(batches), partitionColumns, schema);
    } catch (e) {
      if (e instanceof PartitionValueError) {
        throw new SchemaViolationError(e.row, e.column, e.reason);
      }
      throw e;
    }
  };
  return {
    arrowSchema,
    fromEvents(events) {
      let batch: arrow.RecordBatch;
      try {
        batch = buildRecordBatch(schema, events, {
          arrowSchema,
          readers: JSON_VALUE_READERS,
          unknownFields,
        });
      } catch (e) {
        if (e instanceof ValueError) throw new SchemaViolationError(e.row, e.field, e.reason);
        throw e;
      }
      checkPartitions([batch]);
      return batch;
    },
    fromArrow(table) {
      const batches = convertArrowInput(table, { schema, arrowSchema, unknownFields });
      checkPartitions(batches);
      return batches;
    },
  };
}

/**
 * Refuses, with a `TypeError`, a type name that is not a Delta type or a decimal Delta does not
 * allow: `deltaSchemaToArrow` maps `decimal(39,2)` (a reader may meet one), the edge must not
 * accept events for it.
 */
function checkTypes(type: DataType): void {
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct":
        for (const f of type.fields) checkTypes(f.type);
        return;
      case "array":
        return checkTypes(type.elementType);
      case "map":
        checkTypes(type.keyType);
        return checkTypes(type.valueType);
    }
  }
  if (PRIMITIVE_TYPE_NAMES.includes(type)) return;
  const d = decimalParams(type);
  if (d === undefined || !isDecimalParamsValid(d)) {
    throw new TypeError(`Cannot map type "${String(type)}": not a Delta type`);
  }
}

/**
 * Bytes of memory a batch keeps alive: every `ArrayBuffer` behind its buffers, counted once and in
 * full (a view into a larger buffer keeps all of it). For the batches of a converter this is
 * their compact size, roughly their size on the wire.
 *
 * @example
 * ```ts
 * import { createConverter, recordBatchBytes } from "./convert.ts";
 * const c = createConverter({ type: "struct", fields: [{ name: "n", type: "integer", nullable: false, metadata: {} }] });
 * if (recordBatchBytes(c.fromEvents([{ n: 1 }, { n: 2 }])) < 8) throw new Error("unexpected");
 * ```
 */
export function recordBatchBytes(batch: arrow.RecordBatch): number {
  const seen = new Set<ArrayBufferLike>();
  let n = 0;
  const visit = (data: arrow.Data) => {
    const buffers = [data.values, data.valueOffsets, data.nullBitmap, data.typeIds];
    for (const b of buffers as (ArrayBufferView | undefined)[]) {
      if (b === undefined || b === null || seen.has(b.buffer)) continue;
      seen.add(b.buffer);
      n += b.buffer.byteLength;
    }
    for (const c of data.children) visit(c);
    if (data.dictionary !== undefined) { for (const d of data.dictionary.data) visit(d); }
  };
  visit(batch.data);
  return n;
}
