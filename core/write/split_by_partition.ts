/**
 * Split an Arrow batch into one table per partition, with the partition columns stripped (Delta data
 * files hold data columns only; partition values live in the `add` action).
 *
 * Grouping ({@linkcode groupByPartition}) formats every row's partition values and names each
 * group's directory, so a value without a faithful text or a directory no storage accepts is refused
 * here, before any file is written; the edge and the runner intake run the same grouping to refuse
 * such a batch before it is even queued.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import type { StructType } from "../schema/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import { partitionPath, PartitionPathError } from "./partition_path.ts";
import { PartitionTextError, serializePartitionValue } from "./partition_value.ts";

/** A row whose partition values cannot be written (no text, or a directory name too long). */
export class PartitionValueError extends InvalidArgumentError {
  /** Index of the row in the table (0-based). */
  readonly row: number;
  /** The partition column. */
  readonly column: string;
  /** What is wrong. */
  readonly reason: string;
  /** Create the error for a row, a column and a reason. */
  constructor(row: number, column: string, reason: string) {
    super(`Cannot write row ${row}: partition column ${JSON.stringify(column)}: ${reason}`);
    this.name = "PartitionValueError";
    this.row = row;
    this.column = column;
    this.reason = reason;
  }
}

/** The rows of one partition, before they are cut out of the table. */
export interface PartitionGroup {
  /** Serialized partition values (Delta PROTOCOL "Partition Value Serialization"). */
  partitionValues: Record<string, string | null>;
  /** The partition's directory, `col=value/...` (see `partitionPath`). */
  directory: string;
  /** Indices of the group's rows in the table, ascending. */
  rows: number[];
}

/**
 * Group the rows of `table` by the values of `partitionColumns` (typed by `schema`), in the order of
 * each group's first row. Pure: nothing is copied.
 *
 * @throws {PartitionValueError} for the first row whose value has no partition text or whose
 * directory name is too long; {@linkcode InvalidArgumentError} for a partition column missing from
 * the schema or the table.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { groupByPartition } from "./split_by_partition.ts";
 * const table = new arrow.Table({ d: arrow.vectorFromArray([0, 0, 86_400_000], new arrow.DateDay()) });
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "d", type: "date" as const, nullable: true, metadata: {} }],
 * };
 * const groups = groupByPartition(table, ["d"], schema);
 * if (groups[1]?.directory !== "d=1970-01-02/" || groups[0]?.rows.length !== 2) throw new Error();
 * ```
 */
export function groupByPartition(
  table: arrow.Table,
  partitionColumns: readonly string[],
  schema: StructType,
): PartitionGroup[] {
  if (partitionColumns.length === 0) {
    return [{
      partitionValues: {},
      directory: "",
      rows: Array.from({ length: table.numRows }, (_, i) => i),
    }];
  }
  const types = partitionColumns.map((c) => {
    const field = schema.fields.find((f) => f.name === c);
    if (!field) {
      throw new InvalidArgumentError(`Cannot split by partition column ${c}: not in the schema`);
    }
    return field.type;
  });
  const groups = new Map<string, PartitionGroup>();
  let base = 0;
  for (const batch of table.batches) {
    const chunks = partitionColumns.map((c) => {
      const child = batch.getChild(c);
      if (!child) {
        throw new InvalidArgumentError(`Cannot write batch: missing partition column ${c}`);
      }
      return child.data[0]!;
    });
    // Rows of one partition usually come together: a row whose partition columns hold the same
    // fixed-width values as the row before goes to that row's group without serializing them.
    const raw = chunks.map(rawValues);
    const fixedWidth = raw.every((r) => r !== undefined);
    let previous: PartitionGroup | undefined;
    for (let row = 0; row < batch.numRows; row++) {
      if (previous !== undefined && row > 0 && sameAsPrevious(chunks, raw, row)) {
        previous.rows.push(base + row);
        continue;
      }
      const values: Record<string, string | null> = {};
      for (let i = 0; i < partitionColumns.length; i++) {
        const column = partitionColumns[i]!;
        try {
          values[column] = serializePartitionValue(chunks[i]!, row, types[i]!);
        } catch (e) {
          if (!(e instanceof PartitionTextError)) throw e;
          throw new PartitionValueError(base + row, column, e.reason);
        }
      }
      const key = JSON.stringify(partitionColumns.map((c) => values[c]));
      let group = groups.get(key);
      if (!group) {
        let directory: string;
        try {
          directory = partitionPath(partitionColumns, values);
        } catch (e) {
          if (!(e instanceof PartitionPathError)) throw e;
          throw new PartitionValueError(base + row, e.column, e.reason);
        }
        group = { partitionValues: values, directory, rows: [] };
        groups.set(key, group);
      }
      group.rows.push(base + row);
      previous = fixedWidth ? group : undefined;
    }
    base += batch.numRows;
  }
  return [...groups.values()];
}

/** The values array of a fixed-width column chunk read one element per row, else `undefined`. */
function rawValues(data: arrow.Data): ArrayLike<number | bigint> | undefined {
  const values = data.values as unknown;
  if (data.children.length > 0 || data.typeId === arrow.Type.Bool) return undefined;
  if (!(values instanceof Int32Array || values instanceof BigInt64Array)) return undefined;
  // One element per row (not Arrow JS's two-int32 layout of some 64-bit types).
  return values.length >= data.offset + data.length && data.stride === 1 ? values : undefined;
}

/** True when `row` holds the same non-null-or-null fixed-width values as `row - 1` everywhere. */
function sameAsPrevious(
  chunks: readonly arrow.Data[],
  raw: readonly (ArrayLike<number | bigint> | undefined)[],
  row: number,
): boolean {
  for (let i = 0; i < chunks.length; i++) {
    const values = raw[i];
    if (values === undefined) return false;
    const data = chunks[i]!;
    const valid = data.getValid(row);
    if (valid !== data.getValid(row - 1)) return false;
    if (valid && values[data.offset + row] !== values[data.offset + row - 1]) return false;
  }
  return true;
}

/** The rows of one partition. */
export interface PartitionSlice {
  /** Serialized partition values (Delta PROTOCOL "Partition Value Serialization"). */
  partitionValues: Record<string, string | null>;
  /** The rows, data columns only. */
  table: arrow.Table;
}

/**
 * Split `table` by the values of `partitionColumns` (typed by `schema`). Groups come out in the order
 * of their first row; rows keep their order inside a group. A contiguous group is a zero-copy slice.
 *
 * @throws {PartitionValueError} as {@linkcode groupByPartition} does.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { splitByPartition } from "./split_by_partition.ts";
 * const table = new arrow.Table({
 *   region: arrow.vectorFromArray(["eu", "us", "eu"], new arrow.Utf8()),
 *   n: arrow.vectorFromArray([1, 2, 3], new arrow.Int32()),
 * });
 * const schema = {
 *   type: "struct" as const,
 *   fields: [
 *     { name: "region", type: "string" as const, nullable: true, metadata: {} },
 *     { name: "n", type: "integer" as const, nullable: true, metadata: {} },
 *   ],
 * };
 * const parts = splitByPartition(table, ["region"], schema);
 * if (parts.length !== 2 || parts[0]!.table.numRows !== 2) throw new Error("bad split");
 * if (parts[0]!.table.schema.fields.length !== 1) throw new Error("partition column kept");
 * ```
 */
export function splitByPartition(
  table: arrow.Table,
  partitionColumns: readonly string[],
  schema: StructType,
): PartitionSlice[] {
  const dataNames = table.schema.fields.map((f) => f.name).filter((n) =>
    !partitionColumns.includes(n)
  );
  const data = table.select(dataNames);
  if (partitionColumns.length === 0) return [{ partitionValues: {}, table: data }];
  const out: PartitionSlice[] = [];
  for (const { partitionValues, rows } of groupByPartition(table, partitionColumns, schema)) {
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const contiguous = last - first + 1 === rows.length;
    out.push({
      partitionValues,
      table: contiguous ? data.slice(first, last + 1) : takeRows(data, rows),
    });
  }
  return out;
}

/**
 * A new table with the rows at `indices` (in that order). Fixed-width and variable-width columns are
 * copied buffer to buffer; nested columns go through Arrow builders.
 */
export function takeRows(table: arrow.Table, indices: readonly number[]): arrow.Table {
  const columns: Record<string, arrow.Vector> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    columns[field.name] = takeVector(vector, field, indices);
  }
  return new arrow.Table(
    new arrow.Schema(table.schema.fields, table.schema.metadata),
    columns,
  );
}

function locate(vector: arrow.Vector, indices: readonly number[]): [arrow.Data, number][] {
  const out: [arrow.Data, number][] = [];
  const starts: number[] = [];
  let s = 0;
  for (const d of vector.data) {
    starts.push(s);
    s += d.length;
  }
  for (const index of indices) {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    out.push([vector.data[lo]!, index - starts[lo]!]);
  }
  return out;
}

function isValidAt(data: arrow.Data, index: number): boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return true;
  const bit = data.offset + index;
  return ((bitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

type AnyArrayCtor = new (n: number) => { [k: number]: unknown };

function takeVector(
  vector: arrow.Vector,
  field: arrow.Field,
  indices: readonly number[],
): arrow.Vector {
  const type = vector.type as arrow.DataType;
  const cells = locate(vector, indices);
  const n = indices.length;
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  cells.forEach(([d, i], k) => {
    if (isValidAt(d, i)) validity[k >> 3]! |= 1 << (k & 7);
    else nullCount++;
  });
  const nullBitmap = nullCount > 0 ? validity : undefined;
  if (arrow.DataType.isBool(type)) {
    const values = new Uint8Array((n + 7) >> 3);
    cells.forEach(([d, i], k) => {
      const bit = d.offset + i;
      if ((d.values[bit >> 3]! >> (bit & 7)) & 1) values[k >> 3]! |= 1 << (k & 7);
    });
    return arrow.makeVector(
      arrow.makeData({ type, length: n, nullCount, nullBitmap, data: values }),
    );
  }
  if (
    arrow.DataType.isInt(type) || arrow.DataType.isFloat(type) || arrow.DataType.isDate(type) ||
    arrow.DataType.isTimestamp(type) || arrow.DataType.isDecimal(type) ||
    arrow.DataType.isTime(type)
  ) {
    const stride = (cells[0]?.[0] as unknown as { stride?: number } | undefined)?.stride ?? 1;
    const first = vector.data[0]!.values as unknown as { constructor: AnyArrayCtor };
    const values = new first.constructor(n * stride);
    cells.forEach(([d, i], k) => {
      const src = d.values as unknown as ArrayLike<unknown>;
      for (let j = 0; j < stride; j++) values[k * stride + j] = src[i * stride + j];
    });
    return arrow.makeVector(
      // deno-lint-ignore no-explicit-any
      arrow.makeData({ type, length: n, nullCount, nullBitmap, data: values } as any),
    );
  }
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) {
    const valueOffsets = new Int32Array(n + 1);
    let total = 0;
    cells.forEach(([d, i], k) => {
      total += d.valueOffsets[i + 1]! - d.valueOffsets[i]!;
      valueOffsets[k + 1] = total;
    });
    const bytes = new Uint8Array(total);
    cells.forEach(([d, i], k) => {
      const start = d.valueOffsets[i]!;
      bytes.set((d.values as Uint8Array).subarray(start, d.valueOffsets[i + 1]!), valueOffsets[k]!);
    });
    return arrow.makeVector(
      // deno-lint-ignore no-explicit-any
      arrow.makeData({ type, length: n, nullCount, nullBitmap, valueOffsets, data: bytes } as any),
    );
  }
  // Nested and rare types: through the builders (values as Arrow JS represents them).
  const values = indices.map((i) => toPlain(vector.get(i)));
  return arrow.vectorFromArray(values, field.type);
}

/** Arrow JS nested values (vectors, struct rows, map rows) as plain arrays, objects and Maps. */
function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof arrow.Vector) return [...value].map(toPlain);
  if (ArrayBuffer.isView(value)) return value;
  if (value instanceof arrow.MapRow) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of value as unknown as Iterable<[unknown, unknown]>) out.set(k, toPlain(v));
    return out;
  }
  const json = (value as { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) out[k] = toPlain(v);
  return out;
}
