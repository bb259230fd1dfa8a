/**
 * Column bounds of a Parquet file read from its footer (parquet-format, `FileMetaData`), for the
 * statistics of a file another engine wrote (`statsFromBounds`): the row count, and per primitive
 * column its null count and its exact smallest and largest value, combined over the row groups.
 *
 * A column's bounds are given only when the footer states them exactly, else it is `undefined` and
 * the caller computes them otherwise (a query over the file). Not exact, hence `undefined`:
 *
 * * a row group without `null_count`, or with non-null values but no `min_value` / `max_value`
 *   (DuckDB leaves them out of a row group of floats holding NaN, and out of a max of infinity);
 * * string bounds not flagged `is_min_value_exact` / `is_max_value_exact` (a truncated prefix:
 *   DuckDB truncates values past a length);
 * * a NaN bound, a timestamp not in microseconds, a decimal of another scale, a physical type the
 *   column's Delta type is not written as;
 * * the deprecated `min` / `max` fields are never read (their order is not defined for strings).
 *
 * Layout (Thrift compact protocol): the file ends with the footer, its length (4 bytes, little
 * endian) and `PAR1`; {@linkcode parquetFooterLength} reads the last 8 bytes.
 *
 * ```
 * FileMetaData ─ 2 schema: SchemaElement (1 type, 4 name, 6 converted_type, 7 scale, 10 logicalType)
 *              ─ 3 num_rows
 *              ─ 4 row_groups: RowGroup (3 num_rows) ─ 1 columns: ColumnChunk ─ 3 ColumnMetaData
 *                  (1 type, 3 path_in_schema, 12 Statistics: 3 null_count, 5 max_value,
 *                   6 min_value, 7 is_max_value_exact, 8 is_min_value_exact)
 * ```
 *
 * @module
 */
import { deserializeTCompactProtocol } from "hyparquet/src/thrift.js";
import { decimalParams } from "../schema/parse_schema.ts";
import type { StructField } from "../schema/types.ts";
import { type ColumnBounds, compareBytes } from "./compute_stats.ts";

/** Parquet physical types (parquet-format `Type`). */
const PHYSICAL = {
  INT32: 1,
  INT64: 2,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  FIXED_LEN_BYTE_ARRAY: 7,
} as const;
/** parquet-format `ConvertedType.TIMESTAMP_MICROS`. */
const TIMESTAMP_MICROS = 10;

/** What a Parquet footer states of a file's columns. */
export interface FooterBounds {
  /** Rows of the file. */
  numRows: number;
  /** Bounds of `fields[i]`, or `undefined` where the footer does not state them exactly. */
  columns: (ColumnBounds | undefined)[];
}

/**
 * The length of the footer of a Parquet file from its last 8 bytes (footer length, `PAR1`).
 *
 * @throws {RangeError} when the bytes do not end a Parquet file
 */
export function parquetFooterLength(tail: Uint8Array): number {
  const ok = tail.length === 8 && tail[4] === 0x50 && tail[5] === 0x41 && tail[6] === 0x52 &&
    tail[7] === 0x31;
  if (!ok) throw new RangeError("Cannot read the Parquet footer: the file does not end in PAR1");
  return new DataView(tail.buffer, tail.byteOffset, 8).getUint32(0, true);
}

// The decoded Thrift structs: objects of `field_<id>` values.
// deno-lint-ignore no-explicit-any
type Thrift = any;

const decoder = new TextDecoder();

/**
 * The bounds of `fields` (flat primitive columns, matched by name to the file's top-level columns)
 * from `fileMetaData`, a Parquet footer without its length and magic (see the module
 * documentation).
 *
 * @throws what the Thrift reader throws on bytes that are no footer
 *
 * @example
 * ```ts
 * import { createArrowTable } from "./create_arrow_table.ts";
 * import { writeParquetFile } from "./write_parquet_file.ts";
 * import { boundsFromFooter, parquetFooterLength } from "./footer_bounds.ts";
 * const fields = [{ name: "n", type: "long" as const, nullable: true, metadata: {} }];
 * const file = writeParquetFile(
 *   createArrowTable({ type: "struct", fields }, [{ n: 5n }, { n: null }, { n: -2n }]),
 * );
 * const length = parquetFooterLength(file.subarray(file.length - 8));
 * const footer = file.subarray(file.length - 8 - length, file.length - 8);
 * const { numRows, columns } = boundsFromFooter(footer, fields);
 * if (numRows !== 3) throw new Error("rows");
 * if (columns[0]?.min !== -2n || columns[0]?.max !== 5n || columns[0]?.nullCount !== 1) {
 *   throw new Error("bounds");
 * }
 * ```
 */
export function boundsFromFooter(
  fileMetaData: Uint8Array,
  fields: readonly StructField[],
): FooterBounds {
  const view = new DataView(fileMetaData.buffer, fileMetaData.byteOffset, fileMetaData.length);
  const meta: Thrift = deserializeTCompactProtocol({ view, offset: 0 });
  const schema: Thrift[] = meta.field_2 ?? [];
  const rowGroups: Thrift[] = meta.field_4 ?? [];
  // The first element is the root; a flat file's leaves are its top-level columns, in order.
  const leaves = schema.slice(1);
  const flat = leaves.every((e) => !e.field_5);
  const columns = fields.map((field) => {
    const leaf = flat ? leaves.findIndex((e) => nameOf(e) === field.name) : -1;
    if (leaf < 0) return undefined;
    const chunks = rowGroups.map((rg) => ({
      rows: Number(rg.field_3),
      meta: rg.field_1?.[leaf]?.field_3 as Thrift,
    }));
    return columnBounds(field, leaves[leaf], chunks);
  });
  return { numRows: Number(meta.field_3 ?? 0), columns };
}

function nameOf(element: Thrift): string | undefined {
  return element.field_4 instanceof Uint8Array ? decoder.decode(element.field_4) : undefined;
}

/** The bounds of one column over its row groups' chunks, or `undefined` when not exact. */
function columnBounds(
  field: StructField,
  element: Thrift,
  chunks: readonly { rows: number; meta: Thrift }[],
): ColumnBounds | undefined {
  const type = field.type;
  if (typeof type !== "string") return undefined;
  const decode = decoderOf(type, element);
  const bounds: ColumnBounds = { nullCount: 0 };
  let minBytes: Uint8Array | undefined;
  let maxBytes: Uint8Array | undefined;
  let min: number | bigint | undefined;
  let max: number | bigint | undefined;
  for (const { rows, meta } of chunks) {
    const path: Uint8Array[] | undefined = meta?.field_3;
    if (path?.length !== 1 || decoder.decode(path[0]) !== field.name) return undefined;
    const stats: Thrift = meta.field_12;
    if (stats?.field_3 === undefined) return undefined;
    const nulls = Number(stats.field_3);
    bounds.nullCount += nulls;
    if (decode === "none" || nulls >= rows) continue; // no bounds wanted, or all null
    if (decode === undefined) return undefined;
    const lo: Uint8Array | undefined = stats.field_6;
    const hi: Uint8Array | undefined = stats.field_5;
    if (lo === undefined || hi === undefined) return undefined;
    if (decode === "string") {
      if (stats.field_8 !== true || stats.field_7 !== true) return undefined;
      if (minBytes === undefined || compareBytes(lo, minBytes) < 0) minBytes = lo;
      if (maxBytes === undefined || compareBytes(hi, maxBytes) > 0) maxBytes = hi;
      continue;
    }
    if (stats.field_8 === false || stats.field_7 === false) return undefined;
    const groupMin = decode(lo);
    const groupMax = decode(hi);
    if (groupMin === undefined || groupMax === undefined) return undefined;
    if (min === undefined || groupMin < min) min = groupMin;
    if (max === undefined || groupMax > max) max = groupMax;
  }
  if (min !== undefined) bounds.min = min;
  if (max !== undefined) bounds.max = max;
  if (minBytes !== undefined) bounds.min = decoder.decode(minBytes);
  if (maxBytes !== undefined) bounds.max = decoder.decode(maxBytes);
  return bounds;
}

type Decode = (bytes: Uint8Array) => number | bigint | undefined;

/**
 * How the bounds of a column of Delta `type` written as `element` decode: `"none"` when Delta
 * wants no bounds (boolean, binary), `"string"` for UTF-8 bytes, `undefined` when this layout is
 * not one this reader decodes exactly.
 */
function decoderOf(type: string, element: Thrift): Decode | "none" | "string" | undefined {
  const physical: number | undefined = element.field_1;
  const logical: Thrift = element.field_10;
  switch (type) {
    case "boolean":
    case "binary":
      return "none";
    case "string":
      return physical === PHYSICAL.BYTE_ARRAY ? "string" : undefined;
    case "integer":
    case "short":
    case "byte":
    case "date":
      return physical === PHYSICAL.INT32 ? fixed(4, (v) => v.getInt32(0, true)) : undefined;
    case "long":
      return physical === PHYSICAL.INT64 ? fixed(8, (v) => v.getBigInt64(0, true)) : undefined;
    case "float":
      return physical === PHYSICAL.FLOAT ? fixed(4, (v) => v.getFloat32(0, true)) : undefined;
    case "double":
      return physical === PHYSICAL.DOUBLE ? fixed(8, (v) => v.getFloat64(0, true)) : undefined;
    case "timestamp":
    case "timestamp_ntz": {
      const micros = logical?.field_8 !== undefined
        ? logical.field_8.field_2?.field_2 !== undefined
        : element.field_6 === TIMESTAMP_MICROS;
      if (physical !== PHYSICAL.INT64 || !micros) return undefined;
      return fixed(8, (v) => v.getBigInt64(0, true));
    }
  }
  const d = decimalParams(type);
  if (d === undefined) return undefined;
  const scale = logical?.field_5?.field_1 ?? element.field_7;
  if (scale !== d.scale) return undefined;
  switch (physical) {
    case PHYSICAL.INT32:
      return fixed(4, (v) => BigInt(v.getInt32(0, true)));
    case PHYSICAL.INT64:
      return fixed(8, (v) => v.getBigInt64(0, true));
    case PHYSICAL.FIXED_LEN_BYTE_ARRAY:
    case PHYSICAL.BYTE_ARRAY:
      return (bytes) => bytes.length === 0 ? undefined : bigEndianSigned(bytes);
  }
  return undefined;
}

/** A decoder of `length`-byte little-endian values; NaN and other lengths are not exact. */
function fixed(length: number, read: (view: DataView) => number | bigint): Decode {
  return (bytes) => {
    if (bytes.length !== length) return undefined;
    const v = read(new DataView(bytes.buffer, bytes.byteOffset, length));
    return typeof v === "number" && Number.isNaN(v) ? undefined : v;
  };
}

/** A big-endian two's complement integer (Parquet's decimal in a byte array). */
function bigEndianSigned(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return BigInt.asIntN(bytes.length * 8, v);
}
