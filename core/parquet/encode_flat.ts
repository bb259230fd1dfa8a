/**
 * A Parquet writer for flat Arrow tables, in TypeScript, writing straight from the Arrow JS buffers
 * (ADR 0044). The ingest path's data files are flat (no struct, list or map columns): for them this
 * writer replaces parquet-wasm's `tableToIPC` → `Table.fromIPCStream` → `writeParquet` round trip,
 * which spent most of its time joining IPC buffers and dictionary-encoding.
 *
 * What it writes is what parquet-wasm (arrow-rs) writes for the same table as far as a reader can
 * tell: the same physical and logical types, repetition, field ids, `ARROW:schema` key-value
 * metadata (parquet-wasm's reader restores the Arrow types from it, the "UTC" zone included),
 * `created_by`, column chunk statistics with arrow-rs's truncation of long strings, size
 * statistics and a page index. The layout differs: PLAIN encoding only (no dictionary: compaction
 * rewrites ingest files with DuckDB, which builds dictionaries), data page V1, definition levels as
 * one RLE or one bit-packed run per page, one row group per `rowGroupRows` rows.
 *
 * ```
 * Arrow table ──▶ per column: one flat view of the row group (zero copy for a single batch)
 *                      │
 *                      ▼  pages of ≤ pageBytesTarget bytes and ≤ pageRowsMax rows (multiples of 8)
 *              [def levels][PLAIN values] ──zstd──▶ PageHeader + body, statistics per page
 *                      │
 *                      ▼
 * "PAR1" column chunks… ColumnIndex… OffsetIndex… FileMetaData len "PAR1"
 * ```
 *
 * Anything else (nested or large types, dictionaries, other units, other codecs) is refused with
 * `undefined`, never written differently: the caller falls back to `writeParquetFile`.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { constants as zlibConstants, zstdCompressSync } from "node:zlib";
import { PARQUET_FIELD_ID_KEY } from "../schema/delta_schema_to_arrow.ts";
import { CT, ThriftWriter } from "./thrift_compact.ts";
import type { ParquetCompression } from "./write_parquet_file.ts";

/** Options of {@linkcode encodeFlatParquet}. */
export interface EncodeFlatOptions {
  /** Codec; default `"zstd"`. Any codec but `zstd` and `uncompressed` makes the call return `undefined`. */
  compression?: ParquetCompression;
  /** zstd level; default {@linkcode ZSTD_LEVEL_DEFAULT}. */
  zstdLevel?: number;
  /** The footer's `created_by`; default {@linkcode CREATED_BY_DEFAULT}. */
  createdBy?: string;
  /** Rows per row group at most; default 1,048,576 (arrow-rs's default). */
  rowGroupRows?: number;
  /** A page is cut once its PLAIN bytes would pass this; default 1 MiB (arrow-rs's default). */
  pageBytesTarget?: number;
  /** Rows per page at most; default 20,000 (arrow-rs's default). */
  pageRowsMax?: number;
}

/** zstd level of the writer: arrow-rs's (parquet-wasm's) and Arrow C++'s default (ADR 0044). */
export const ZSTD_LEVEL_DEFAULT = 1;
/** `created_by` when the caller names no writer. */
export const CREATED_BY_DEFAULT = "lakestrike";
/** Statistics and page index values of byte arrays are truncated to this many bytes (arrow-rs). */
export const STATISTICS_TRUNCATE_BYTES = 64;

const ROW_GROUP_ROWS_DEFAULT = 1_048_576;
const PAGE_BYTES_TARGET_DEFAULT = 1 << 20;
const PAGE_ROWS_MAX_DEFAULT = 20_000;

// parquet.thrift enums.
const T_BOOLEAN = 0, T_INT32 = 1, T_INT64 = 2, T_FLOAT = 4, T_DOUBLE = 5, T_BYTE_ARRAY = 6;
const T_FLBA = 7;
const REQUIRED = 0, OPTIONAL = 1;
const ENC_PLAIN = 0, ENC_RLE = 3;
const CODEC_UNCOMPRESSED = 0, CODEC_ZSTD = 6;
const CONV_UTF8 = 0, CONV_DECIMAL = 5, CONV_DATE = 6, CONV_TIMESTAMP_MICROS = 10;
const CONV_INT_8 = 15, CONV_INT_16 = 16;
const BOUNDARY_UNORDERED = 0, BOUNDARY_ASCENDING = 1, BOUNDARY_DESCENDING = 2;

/** How a column's values are laid out in Arrow and written in Parquet. */
type Kind =
  | "bool"
  | "i8"
  | "i16"
  | "i32"
  | "i64"
  | "f32"
  | "f64"
  | "utf8"
  | "binary"
  | "dec32"
  | "dec64"
  | "decFixed";

interface ColumnPlan {
  name: string;
  nullable: boolean;
  kind: Kind;
  physical: number;
  /** FIXED_LEN_BYTE_ARRAY width. */
  typeLength: number;
  convertedType: number | undefined;
  /** Writes the LogicalType union's field into the SchemaElement. */
  logical: ((w: ThriftWriter) => void) | undefined;
  precision: number;
  scale: number;
  fieldId: number | undefined;
}

function decimalBytes(precision: number): number {
  // arrow-rs `decimal_length_from_precision`.
  return Math.ceil((Math.log2(10 ** precision + 1) + 1) / 8);
}

function planColumn(field: arrow.Field): ColumnPlan | undefined {
  const type = field.type;
  let fieldId: number | undefined;
  const id = field.metadata.get(PARQUET_FIELD_ID_KEY);
  if (id !== undefined) {
    fieldId = Number(id);
    if (!/^-?\d+$/.test(id) || !Number.isSafeInteger(fieldId) || Math.abs(fieldId) > 2 ** 31) {
      return undefined;
    }
  }
  const base = {
    name: field.name,
    nullable: field.nullable,
    typeLength: 0,
    convertedType: undefined,
    logical: undefined,
    precision: 0,
    scale: 0,
    fieldId,
  };
  switch (type.typeId) {
    case arrow.Type.Bool:
      return { ...base, kind: "bool", physical: T_BOOLEAN };
    case arrow.Type.Int: {
      const t = type as arrow.Int;
      if (!t.isSigned) return undefined;
      if (t.bitWidth === 64) return { ...base, kind: "i64", physical: T_INT64 };
      if (t.bitWidth === 32) return { ...base, kind: "i32", physical: T_INT32 };
      const bits = t.bitWidth;
      return {
        ...base,
        kind: bits === 8 ? "i8" : "i16",
        physical: T_INT32,
        convertedType: bits === 8 ? CONV_INT_8 : CONV_INT_16,
        logical: (w) => {
          w.structField(10); // INTEGER
          w.i8(1, bits);
          w.bool(2, true);
          w.endStruct();
        },
      };
    }
    case arrow.Type.Float: {
      const p = (type as arrow.Float).precision;
      if (p === arrow.Precision.SINGLE) return { ...base, kind: "f32", physical: T_FLOAT };
      if (p === arrow.Precision.DOUBLE) return { ...base, kind: "f64", physical: T_DOUBLE };
      return undefined;
    }
    case arrow.Type.Utf8:
      return {
        ...base,
        kind: "utf8",
        physical: T_BYTE_ARRAY,
        convertedType: CONV_UTF8,
        logical: (w) => {
          w.structField(1); // STRING
          w.endStruct();
        },
      };
    case arrow.Type.Binary:
      return { ...base, kind: "binary", physical: T_BYTE_ARRAY };
    case arrow.Type.Date: {
      if ((type as arrow.Date_).unit !== arrow.DateUnit.DAY) return undefined;
      return {
        ...base,
        kind: "i32",
        physical: T_INT32,
        convertedType: CONV_DATE,
        logical: (w) => {
          w.structField(6); // DATE
          w.endStruct();
        },
      };
    }
    case arrow.Type.Timestamp: {
      const t = type as arrow.Timestamp;
      if (t.unit !== arrow.TimeUnit.MICROSECOND) return undefined;
      const utc = t.timezone !== null && t.timezone !== undefined && t.timezone !== "";
      return {
        ...base,
        kind: "i64",
        physical: T_INT64,
        // arrow-rs writes the converted type for both, UTC-adjusted or not.
        convertedType: CONV_TIMESTAMP_MICROS,
        logical: (w) => {
          w.structField(8); // TIMESTAMP
          w.bool(1, utc);
          w.structField(2); // unit
          w.structField(2); // MICROS
          w.endStruct();
          w.endStruct();
          w.endStruct();
        },
      };
    }
    case arrow.Type.Decimal: {
      const t = type as arrow.Decimal;
      if (t.bitWidth !== 128 || t.precision < 1 || t.precision > 38) return undefined;
      const { precision, scale } = t;
      // arrow-rs: precision 2..9 as INT32, up to 18 as INT64 (precision 1 too), else
      // FIXED_LEN_BYTE_ARRAY of the fewest bytes that hold the precision.
      const kind: Kind = precision > 1 && precision <= 9
        ? "dec32"
        : precision <= 18
        ? "dec64"
        : "decFixed";
      return {
        ...base,
        kind,
        physical: kind === "dec32" ? T_INT32 : kind === "dec64" ? T_INT64 : T_FLBA,
        typeLength: kind === "decFixed" ? decimalBytes(precision) : 0,
        convertedType: CONV_DECIMAL,
        precision,
        scale,
        logical: (w) => {
          w.structField(5); // DECIMAL
          w.i32(1, scale);
          w.i32(2, precision);
          w.endStruct();
        },
      };
    }
  }
  return undefined;
}

function planColumns(schema: arrow.Schema): ColumnPlan[] | undefined {
  // arrow-rs also copies schema metadata into the footer; keep to what we mirror exactly.
  if (schema.metadata.size > 0 || schema.fields.length === 0) return undefined;
  const plans: ColumnPlan[] = [];
  for (const field of schema.fields) {
    const plan = planColumn(field);
    if (plan === undefined) return undefined;
    plans.push(plan);
  }
  return plans;
}

/**
 * Whether {@linkcode encodeFlatParquet} can write tables of this schema: every field flat and of
 * a type lakestrike's schema produces (boolean, Int8/16/32/64, Float32/64, Utf8, Binary, DateDay,
 * Timestamp in microseconds with or without zone, Decimal128), and no schema-level metadata.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { canEncodeFlat } from "./encode_flat.ts";
 * const flat = new arrow.Schema([new arrow.Field("n", new arrow.Int64(), false)]);
 * const nested = new arrow.Schema([
 *   new arrow.Field("l", new arrow.List(new arrow.Field("element", new arrow.Int32())), true),
 * ]);
 * if (!canEncodeFlat(flat) || canEncodeFlat(nested)) throw new Error("unexpected");
 * ```
 */
export function canEncodeFlat(schema: arrow.Schema): boolean {
  return planColumns(schema) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Bits

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/** Set bits of `bits` in [from, from + n). */
function countOnes(bits: Uint8Array, from: number, n: number): number {
  let count = 0;
  let i = from;
  const end = from + n;
  while (i < end && (i & 7) !== 0) {
    count += (bits[i >> 3]! >> (i & 7)) & 1;
    i++;
  }
  const endByte = end >> 3;
  for (let b = i >> 3; b < endByte; b++) count += POPCOUNT[bits[b]!]!;
  i = Math.max(i, endByte << 3);
  while (i < end) {
    count += (bits[i >> 3]! >> (i & 7)) & 1;
    i++;
  }
  return count;
}

/** Copies `n` bits of `src` from bit `srcBit` to `dst` from byte `dstByte`; the tail is zeroed. */
function copyBits(dst: Uint8Array, dstByte: number, src: Uint8Array, srcBit: number, n: number) {
  const bytes = (n + 7) >>> 3;
  const shift = srcBit & 7;
  let b = srcBit >>> 3;
  if (shift === 0) {
    dst.set(src.subarray(b, b + bytes), dstByte);
  } else {
    for (let k = 0; k < bytes; k++, b++) {
      // Past the end of `src` the index reads undefined, which shifts to 0.
      dst[dstByte + k] = ((src[b]! >>> shift) | (src[b + 1]! << (8 - shift))) & 0xff;
    }
  }
  const tail = n & 7;
  if (tail !== 0) dst[dstByte + bytes - 1]! &= (1 << tail) - 1;
}

/** Copies `n` bits bit by bit (concatenating batches, off the hot path). */
function copyBitsAt(dst: Uint8Array, dstBit: number, src: Uint8Array, srcBit: number, n: number) {
  for (let i = 0; i < n; i++) {
    const s = srcBit + i, d = dstBit + i;
    if ((src[s >> 3]! >> (s & 7)) & 1) dst[d >> 3]! |= 1 << (d & 7);
  }
}

function setOnes(dst: Uint8Array, dstBit: number, n: number): void {
  for (let i = dstBit; i < dstBit + n; i++) dst[i >> 3]! |= 1 << (i & 7);
}

// ---------------------------------------------------------------------------------------------
// One row group of one column as a single view over Arrow buffers

type Fixed = Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

interface FlatColumn {
  rows: number;
  nulls: number;
  /** Validity bitmap (bit `validBit + i` is row i), absent when there is no null. */
  valid: Uint8Array | undefined;
  validBit: number;
  /** Fixed-width values, row i at index i (decimals: 4 words a row). */
  values: Fixed | Uint32Array | undefined;
  /** Booleans: bit `bitsBit + i` is row i. */
  bits: Uint8Array | undefined;
  bitsBit: number;
  /** Byte arrays: row i is bytes[offsets[i] .. offsets[i + 1]). */
  offsets: Int32Array | undefined;
  bytes: Uint8Array | undefined;
}

interface Segment {
  data: arrow.Data;
  from: number;
  count: number;
}

function nullsIn(s: Segment): number {
  const d = s.data;
  if (d.nullCount === 0) return 0;
  if (s.from === 0 && s.count === d.length) return d.nullCount;
  return s.count - countOnes(d.nullBitmap!, d.offset + s.from, s.count);
}

function flatColumn(plan: ColumnPlan, segments: Segment[]): FlatColumn | undefined {
  let rows = 0, nulls = 0;
  for (const s of segments) {
    rows += s.count;
    nulls += nullsIn(s);
  }
  // A null in a non-nullable field would need a value Parquet cannot hold: let the fallback
  // writer decide what to do with such a table.
  if (nulls > 0 && !plan.nullable) return undefined;
  const col: FlatColumn = {
    rows,
    nulls,
    valid: undefined,
    validBit: 0,
    values: undefined,
    bits: undefined,
    bitsBit: 0,
    offsets: undefined,
    bytes: undefined,
  };
  const stride = plan.kind.startsWith("dec") ? 4 : 1;
  if (segments.length === 1) {
    const { data, from, count } = segments[0]!;
    if (nulls > 0) {
      col.valid = data.nullBitmap!;
      col.validBit = data.offset + from;
    }
    if (plan.kind === "bool") {
      col.bits = data.values as Uint8Array;
      col.bitsBit = data.offset + from;
    } else if (plan.kind === "utf8" || plan.kind === "binary") {
      col.offsets = (data.valueOffsets as Int32Array).subarray(from, from + count + 1);
      col.bytes = data.values as Uint8Array;
    } else {
      col.values = (data.values as Fixed).subarray(from * stride, (from + count) * stride);
    }
    return col;
  }
  // Several batches: concatenate into fresh buffers.
  if (nulls > 0) {
    const valid = new Uint8Array((rows + 7) >>> 3);
    let at = 0;
    for (const s of segments) {
      if (s.data.nullCount === 0) setOnes(valid, at, s.count);
      else copyBitsAt(valid, at, s.data.nullBitmap!, s.data.offset + s.from, s.count);
      at += s.count;
    }
    col.valid = valid;
  }
  if (plan.kind === "bool") {
    const bits = new Uint8Array((rows + 7) >>> 3);
    let at = 0;
    for (const s of segments) {
      copyBitsAt(bits, at, s.data.values as Uint8Array, s.data.offset + s.from, s.count);
      at += s.count;
    }
    col.bits = bits;
  } else if (plan.kind === "utf8" || plan.kind === "binary") {
    let total = 0;
    for (const s of segments) {
      const o = s.data.valueOffsets as Int32Array;
      total += o[s.from + s.count]! - o[s.from]!;
    }
    const offsets = new Int32Array(rows + 1);
    const bytes = new Uint8Array(total);
    let row = 0, pos = 0;
    for (const s of segments) {
      const o = s.data.valueOffsets as Int32Array;
      const start = o[s.from]!, end = o[s.from + s.count]!;
      bytes.set((s.data.values as Uint8Array).subarray(start, end), pos);
      const shift = pos - start;
      for (let i = 0; i < s.count; i++) offsets[row + i] = o[s.from + i]! + shift;
      row += s.count;
      pos += end - start;
    }
    offsets[rows] = pos;
    col.offsets = offsets;
    col.bytes = bytes;
  } else {
    const first = segments[0]!.data.values as Fixed;
    const Ctor = first.constructor as new (n: number) => Fixed;
    const values = new Ctor(rows * stride);
    let at = 0;
    for (const s of segments) {
      const v = s.data.values as Fixed;
      // deno-lint-ignore no-explicit-any
      (values as any).set(v.subarray(s.from * stride, (s.from + s.count) * stride), at * stride);
      at += s.count;
    }
    col.values = values;
  }
  return col;
}

// ---------------------------------------------------------------------------------------------
// Statistics (parquet-format, "Statistics" and ColumnOrder: signed for ints, dates, timestamps and
// decimals; IEEE order without NaN for floats; unsigned bytes for strings and binary; false < true)

/** Min and max of the non-null values of a page or a chunk, as Parquet PLAIN bytes. */
interface MinMax {
  min: Uint8Array;
  max: Uint8Array;
}

function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function le64(lo: number, hi: number): Uint8Array {
  const b = new Uint8Array(8);
  const d = new DataView(b.buffer);
  d.setUint32(0, lo >>> 0, true);
  d.setInt32(4, hi, true);
  return b;
}

function minMaxInt32(v: Int32Array): MinMax | undefined {
  if (v.length === 0) return undefined;
  let min = v[0]!, max = min;
  for (let i = 1; i < v.length; i++) {
    const x = v[i]!;
    if (x < min) min = x;
    else if (x > max) max = x;
  }
  return { min: le32(min), max: le32(max) };
}

/** Pairs (lo, hi) of little-endian int64 words, `stride` words a value (2, or 4 for decimals). */
function minMaxInt64Words(w: Int32Array, stride: number): MinMax | undefined {
  if (w.length === 0) return undefined;
  let minLo = w[0]! >>> 0, minHi = w[1]!, maxLo = minLo, maxHi = minHi;
  for (let i = stride; i < w.length; i += stride) {
    const lo = w[i]! >>> 0, hi = w[i + 1]!;
    if (hi < minHi || (hi === minHi && lo < minLo)) {
      minHi = hi;
      minLo = lo;
    } else if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
      maxHi = hi;
      maxLo = lo;
    }
  }
  return { min: le64(minLo, minHi), max: le64(maxLo, maxHi) };
}

function minMaxFloat(v: Float32Array | Float64Array): MinMax | undefined {
  let min = Infinity, max = -Infinity, seen = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x) continue; // NaN takes no part in the order
    seen = true;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (!seen) return undefined;
  // parquet-format: a zero min is written as -0.0 and a zero max as +0.0, so a reader never
  // excludes a page holding the other zero.
  if (min === 0) min = -0;
  if (max === 0) max = 0;
  const Ctor = v instanceof Float32Array ? Float32Array : Float64Array;
  return {
    min: new Uint8Array(new Ctor([min]).buffer),
    max: new Uint8Array(new Ctor([max]).buffer),
  };
}

/** Signed 128-bit compare of decimals at word index a and b (4 little-endian words each). */
function cmpDecimal(w: Uint32Array, a: number, x: Uint32Array, b: number): number {
  const ha = w[a + 3]! | 0, hb = x[b + 3]! | 0;
  if (ha !== hb) return ha < hb ? -1 : 1;
  for (let k = 2; k >= 0; k--) {
    const va = w[a + k]!, vb = x[b + k]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return 0;
}

/** Big-endian two's complement of the decimal at word index `at`, `len` bytes. */
function decimalBigEndian(w: Uint32Array, at: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let k = 0; k < len; k++) {
    const byte = len - 1 - k; // little-endian byte index
    out[k] = (w[at + (byte >> 2)]! >>> ((byte & 3) * 8)) & 0xff;
  }
  return out;
}

/** Unsigned lexicographic compare of a[as..ae) and b[bs..be). */
function cmpBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number) {
  const la = ae - as, lb = be - bs;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const x = a[as + i]!, y = b[bs + i]!;
    if (x !== y) return x - y;
  }
  return la - lb;
}

function isUtf8Boundary(b: Uint8Array, i: number): boolean {
  return i >= b.length || (b[i]! & 0xc0) !== 0x80;
}

/** arrow-rs `truncate_min_value`: a prefix of at most `len` bytes (whole characters for UTF-8). */
function truncateMin(v: Uint8Array, len: number, utf8: boolean): Uint8Array | undefined {
  if (v.length <= len) return undefined;
  if (!utf8) return v.slice(0, len);
  for (let split = len; split >= 1; split--) {
    if (isUtf8Boundary(v, split)) return v.slice(0, split);
  }
  return undefined;
}

/** arrow-rs `truncate_max_value`: a truncated value incremented to stay an upper bound. */
function truncateMax(v: Uint8Array, len: number, utf8: boolean): Uint8Array | undefined {
  if (v.length <= len) return undefined;
  if (!utf8) {
    const out = v.slice(0, len);
    for (let i = len - 1; i >= 0; i--) {
      out[i] = (out[i]! + 1) & 0xff;
      if (out[i] !== 0) return out;
    }
    return undefined;
  }
  let split = -1;
  for (let s = len; s >= Math.max(0, len - 3); s--) {
    if (isUtf8Boundary(v, s)) {
      split = s;
      break;
    }
  }
  if (split < 0) return undefined;
  // Increment the last character that stays as long in UTF-8, dropping what follows it.
  const s = new TextDecoder().decode(v.subarray(0, split));
  const chars = Array.from(s);
  for (let i = chars.length - 1; i >= 0; i--) {
    const c = chars[i]!.codePointAt(0)!;
    const next = c + 1;
    if (next > 0x10ffff || (next >= 0xd800 && next <= 0xdfff)) continue;
    const n = String.fromCodePoint(next);
    if (utf8Length(next) !== utf8Length(c)) continue;
    return new TextEncoder().encode(chars.slice(0, i).join("") + n);
  }
  return undefined;
}

function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

// ---------------------------------------------------------------------------------------------
// Pages

/**
 * A growable scratch buffer, reused across pages and columns. It starts at offset 0 of its own
 * buffer, so typed views of `buf.buffer` are aligned (for compacting fixed-width values).
 */
class Scratch {
  buf: Uint8Array<ArrayBuffer> = new Uint8Array(1 << 16);
  ensure(n: number): Uint8Array<ArrayBuffer> {
    if (n > this.buf.length) {
      let size = this.buf.length;
      while (size < n) size *= 2;
      this.buf = new Uint8Array(size);
    }
    return this.buf;
  }
}

interface PageOut {
  header: Uint8Array;
  body: Uint8Array;
  rows: number;
  nulls: number;
  uncompressedBytes: number;
  minMax: MinMax | undefined;
  byteArrayBytes: number;
}

function varintInto(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** Writes the page's definition levels (data page V1: 4-byte length, RLE/bit-packed hybrid). */
function writeDefLevels(
  out: Uint8Array,
  col: FlatColumn,
  r0: number,
  rows: number,
  nulls: number,
): number {
  let pos = 4;
  if (nulls === 0 || nulls === rows) {
    // One RLE run: header (count << 1), then the level in one byte (bit width 1).
    pos = varintInto(out, pos, rows * 2);
    out[pos++] = nulls === 0 ? 1 : 0;
  } else {
    // One bit-packed run of ceil(rows / 8) groups: at bit width 1 the groups are the validity
    // bitmap itself (least significant bit first); levels past `rows` pad the last group.
    const groups = (rows + 7) >>> 3;
    pos = varintInto(out, pos, groups * 2 + 1);
    copyBits(out, pos, col.valid!, col.validBit + r0, rows);
    pos += groups;
  }
  new DataView(out.buffer, out.byteOffset).setUint32(0, pos - 4, true);
  return pos;
}

interface EncodeContext {
  /** Page bodies. */
  scratch: Scratch;
  /** Fixed-width values without their nulls, read while a page body is built in `scratch`. */
  aligned: Scratch;
  compress: (b: Uint8Array) => Uint8Array;
  codec: number;
}

/** Bytes per PLAIN value of fixed-width kinds. */
function plainWidth(plan: ColumnPlan): number {
  switch (plan.kind) {
    case "i8":
    case "i16":
    case "i32":
    case "f32":
    case "dec32":
      return 4;
    case "i64":
    case "f64":
    case "dec64":
      return 8;
    case "decFixed":
      return plan.typeLength;
    default:
      return 0;
  }
}

/** Row ranges of the pages of a column chunk: multiples of 8 rows but the last. */
function pageBounds(plan: ColumnPlan, col: FlatColumn, bytesTarget: number, rowsMax: number) {
  const bounds: number[] = [0];
  const n = col.rows;
  const maxRows = Math.max(8, rowsMax & ~7);
  if (plan.kind === "utf8" || plan.kind === "binary") {
    const o = col.offsets!;
    const size = (a: number, b: number) => o[b]! - o[a]! + 4 * (b - a);
    let r0 = 0;
    while (r0 < n) {
      const hi = Math.min(n, r0 + maxRows);
      let r1 = hi;
      if (size(r0, hi) > bytesTarget) {
        // The largest multiple of 8 rows that fits, at least 8.
        let lo = 1, top = Math.floor((hi - r0) / 8);
        while (lo < top) {
          const mid = (lo + top + 1) >>> 1;
          if (size(r0, r0 + mid * 8) <= bytesTarget) lo = mid;
          else top = mid - 1;
        }
        r1 = Math.min(n, r0 + lo * 8);
      }
      bounds.push(r1);
      r0 = r1;
    }
    return bounds;
  }
  const width = plan.kind === "bool" ? 1 / 8 : plainWidth(plan);
  const step = Math.max(8, Math.min(maxRows, Math.floor(bytesTarget / width) & ~7));
  for (let r = step; r < n; r += step) bounds.push(r);
  if (n > 0) bounds.push(n);
  return bounds;
}

function pageHeader(rows: number, uncompressed: number, compressed: number): Uint8Array {
  const w = new ThriftWriter(32);
  w.beginStruct();
  w.i32(1, 0); // DATA_PAGE
  w.i32(2, uncompressed);
  w.i32(3, compressed);
  w.structField(5);
  w.i32(1, rows);
  w.i32(2, ENC_PLAIN);
  w.i32(3, ENC_RLE);
  w.i32(4, ENC_RLE);
  w.endStruct();
  w.endStruct();
  return w.finish();
}

/** Typed view of `rows` compacted non-null values of a fixed-width page. */
function fixedPageValues(
  plan: ColumnPlan,
  col: FlatColumn,
  r0: number,
  rows: number,
  nulls: number,
  ctx: EncodeContext,
): Fixed | Uint32Array {
  const values = col.values!;
  const stride = plan.kind.startsWith("dec") ? 4 : 1;
  const widen = plan.kind === "i8" || plan.kind === "i16";
  if (nulls === 0 && !widen) return values.subarray(r0 * stride, (r0 + rows) * stride);
  const count = rows - nulls;
  const Ctor = widen
    ? Int32Array
    : values.constructor as new (b: ArrayBuffer, o: number, n: number) => Fixed;
  const out = new (Ctor as new (b: ArrayBuffer, o: number, n: number) => Fixed)(
    ctx.aligned.ensure(count * stride * 8).buffer,
    0,
    count * stride,
  );
  if (nulls === 0) {
    // deno-lint-ignore no-explicit-any
    (out as any).set(values.subarray(r0, r0 + rows));
    return out;
  }
  const valid = col.valid!;
  let j = 0;
  const base = col.validBit + r0;
  // deno-lint-ignore no-explicit-any
  const src = values as any, dst = out as any;
  if (stride === 1) {
    for (let i = 0; i < rows; i++) {
      const bit = base + i;
      if ((valid[bit >> 3]! >> (bit & 7)) & 1) dst[j++] = src[r0 + i];
    }
  } else {
    for (let i = 0; i < rows; i++) {
      const bit = base + i;
      if ((valid[bit >> 3]! >> (bit & 7)) & 1) {
        const s = (r0 + i) * 4;
        dst[j] = src[s];
        dst[j + 1] = src[s + 1];
        dst[j + 2] = src[s + 2];
        dst[j + 3] = src[s + 3];
        j += 4;
      }
    }
  }
  return out;
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Writes the PLAIN values of a fixed-width page at `pos`; returns the end and the min/max. */
function writeFixedValues(
  plan: ColumnPlan,
  v: Fixed | Uint32Array,
  out: Uint8Array,
  pos: number,
): { end: number; minMax: MinMax | undefined } {
  switch (plan.kind) {
    case "i8":
    case "i16":
    case "i32":
      out.set(bytesOf(v), pos);
      return { end: pos + v.byteLength, minMax: minMaxInt32(v as Int32Array) };
    case "i64": {
      out.set(bytesOf(v), pos);
      const w = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
      return { end: pos + v.byteLength, minMax: minMaxInt64Words(w, 2) };
    }
    case "f32":
    case "f64":
      out.set(bytesOf(v), pos);
      return { end: pos + v.byteLength, minMax: minMaxFloat(v as Float32Array | Float64Array) };
    case "dec32": {
      const w = v as Uint32Array;
      const n = w.length / 4;
      const view = new DataView(out.buffer, out.byteOffset);
      let min = 0, max = 0;
      for (let i = 0; i < n; i++) {
        const x = w[i * 4]! | 0;
        view.setInt32(pos + i * 4, x, true);
        if (i === 0 || x < min) min = x;
        if (i === 0 || x > max) max = x;
      }
      return { end: pos + n * 4, minMax: n === 0 ? undefined : { min: le32(min), max: le32(max) } };
    }
    case "dec64": {
      const w = v as Uint32Array;
      const n = w.length / 4;
      const view = new DataView(out.buffer, out.byteOffset);
      for (let i = 0; i < n; i++) {
        view.setUint32(pos + i * 8, w[i * 4]!, true);
        view.setUint32(pos + i * 8 + 4, w[i * 4 + 1]!, true);
      }
      const words = new Int32Array(w.buffer, w.byteOffset, w.length);
      return { end: pos + n * 8, minMax: minMaxInt64Words(words, 4) };
    }
    case "decFixed": {
      const w = v as Uint32Array;
      const n = w.length / 4;
      const len = plan.typeLength;
      let p = pos, minAt = 0, maxAt = 0;
      for (let i = 0; i < n; i++) {
        const at = i * 4;
        for (let k = 0; k < len; k++) {
          const byte = len - 1 - k;
          out[p++] = (w[at + (byte >> 2)]! >>> ((byte & 3) * 8)) & 0xff;
        }
        if (cmpDecimal(w, at, w, minAt) < 0) minAt = at;
        if (cmpDecimal(w, at, w, maxAt) > 0) maxAt = at;
      }
      return {
        end: p,
        minMax: n === 0
          ? undefined
          : { min: decimalBigEndian(w, minAt, len), max: decimalBigEndian(w, maxAt, len) },
      };
    }
    default:
      throw new Error(`Cannot write ${plan.kind} as fixed-width values`);
  }
}

function writeBoolValues(
  col: FlatColumn,
  r0: number,
  rows: number,
  nulls: number,
  out: Uint8Array,
  pos: number,
): { end: number; minMax: MinMax | undefined } {
  const count = rows - nulls;
  const bytes = (count + 7) >>> 3;
  const bits = col.bits!;
  if (nulls === 0) {
    copyBits(out, pos, bits, col.bitsBit + r0, rows);
  } else {
    out.fill(0, pos, pos + bytes);
    const valid = col.valid!;
    let j = 0;
    for (let i = 0; i < rows; i++) {
      const vb = col.validBit + r0 + i;
      if (((valid[vb >> 3]! >> (vb & 7)) & 1) === 0) continue;
      const b = col.bitsBit + r0 + i;
      if ((bits[b >> 3]! >> (b & 7)) & 1) out[pos + (j >> 3)]! |= 1 << (j & 7);
      j++;
    }
  }
  if (count === 0) return { end: pos, minMax: undefined };
  const ones = countOnes(out, pos * 8, count);
  return {
    end: pos + bytes,
    minMax: { min: Uint8Array.of(ones === count ? 1 : 0), max: Uint8Array.of(ones > 0 ? 1 : 0) },
  };
}

/** PLAIN byte arrays (4-byte little-endian length, bytes) of the page's non-null rows. */
function writeByteArrayValues(
  col: FlatColumn,
  r0: number,
  rows: number,
  nulls: number,
  out: Uint8Array,
  pos: number,
): { end: number; minMax: MinMax | undefined; dataBytes: number } {
  const o = col.offsets!, src = col.bytes!;
  const start = o[r0]!, end = o[r0 + rows]!;
  const dataBytes = end - start;
  const total = dataBytes + 4 * (rows - nulls);
  // Bulk-copy the page's bytes to the end of the output range, then move each value down into
  // place behind its length: copyWithin moves memory without allocating a view per value. A
  // value's target never overtakes the source of the values after it.
  const srcAt = pos + total - dataBytes;
  out.set(src.subarray(start, end), srcAt);
  const shift = srcAt - start;
  const valid = col.valid;
  let p = pos, minS = -1, minE = -1, maxS = -1, maxE = -1;
  for (let i = 0; i < rows; i++) {
    if (valid !== undefined) {
      const bit = col.validBit + r0 + i;
      if (((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) continue;
    }
    const a = o[r0 + i]!, b = o[r0 + i + 1]!, len = b - a;
    out[p] = len;
    out[p + 1] = len >>> 8;
    out[p + 2] = len >>> 16;
    out[p + 3] = len >>> 24;
    p += 4;
    if (len < 24) {
      for (let k = a + shift, e = b + shift; k < e; k++) out[p++] = out[k]!;
    } else {
      out.copyWithin(p, a + shift, b + shift);
      p += len;
    }
    if (minS < 0) {
      minS = maxS = a;
      minE = maxE = b;
    } else if (cmpBytes(src, a, b, src, minS, minE) < 0) {
      minS = a;
      minE = b;
    } else if (cmpBytes(src, a, b, src, maxS, maxE) > 0) {
      maxS = a;
      maxE = b;
    }
  }
  return {
    end: p,
    dataBytes,
    minMax: minS < 0 ? undefined : { min: src.slice(minS, minE), max: src.slice(maxS, maxE) },
  };
}

function encodePage(
  plan: ColumnPlan,
  col: FlatColumn,
  r0: number,
  r1: number,
  ctx: EncodeContext,
): PageOut {
  const rows = r1 - r0;
  const nulls = col.valid === undefined ? 0 : rows - countOnes(col.valid, col.validBit + r0, rows);
  const width = plainWidth(plan);
  let bound: number;
  if (plan.kind === "utf8" || plan.kind === "binary") {
    bound = col.offsets![r1]! - col.offsets![r0]! + 4 * rows;
  } else if (plan.kind === "bool") {
    bound = (rows + 7) >>> 3;
  } else {
    bound = width * rows;
  }
  const levels = plan.nullable ? 4 + 10 + ((rows + 7) >>> 3) : 0;
  const out = ctx.scratch.ensure(levels + bound);
  let pos = plan.nullable ? writeDefLevels(out, col, r0, rows, nulls) : 0;
  let minMax: MinMax | undefined;
  let byteArrayBytes = 0;
  let body: Uint8Array;
  if (plan.kind === "utf8" || plan.kind === "binary") {
    const r = writeByteArrayValues(col, r0, rows, nulls, out, pos);
    pos = r.end;
    minMax = r.minMax;
    byteArrayBytes = r.dataBytes;
    body = out.subarray(0, pos);
  } else if (plan.kind === "bool") {
    const r = writeBoolValues(col, r0, rows, nulls, out, pos);
    pos = r.end;
    minMax = r.minMax;
    body = out.subarray(0, pos);
  } else {
    const v = fixedPageValues(plan, col, r0, rows, nulls, ctx);
    if (
      !plan.nullable &&
      (plan.kind === "i32" || plan.kind === "i64" || plan.kind === "f32" || plan.kind === "f64")
    ) {
      // The body is the values themselves: no copy.
      body = bytesOf(v);
      minMax = plan.kind === "i32"
        ? minMaxInt32(v as Int32Array)
        : plan.kind === "i64"
        ? minMaxInt64Words(new Int32Array(v.buffer, v.byteOffset, v.length * 2), 2)
        : minMaxFloat(v as Float32Array | Float64Array);
    } else {
      const r = writeFixedValues(plan, v, out, pos);
      pos = r.end;
      minMax = r.minMax;
      body = out.subarray(0, pos);
    }
  }
  const compressed = ctx.compress(body);
  return {
    header: pageHeader(rows, body.length, compressed.length),
    body: compressed,
    rows,
    nulls,
    uncompressedBytes: body.length,
    minMax,
    byteArrayBytes,
  };
}

// ---------------------------------------------------------------------------------------------
// Column chunks and the footer

interface ChunkOut {
  plan: ColumnPlan;
  pages: PageOut[];
  rows: number;
  nulls: number;
  minMax: MinMax | undefined;
  byteArrayBytes: number;
  uncompressedBytes: number;
  compressedBytes: number;
  /** Set when the file is laid out. */
  dataPageOffset: number;
  columnIndex: Uint8Array | undefined;
  columnIndexOffset: number;
  offsetIndex: Uint8Array | undefined;
  offsetIndexOffset: number;
}

function compareStat(plan: ColumnPlan, a: Uint8Array, b: Uint8Array): number {
  switch (plan.kind) {
    case "utf8":
    case "binary":
      return cmpBytes(a, 0, a.length, b, 0, b.length);
    case "bool":
      return a[0]! - b[0]!;
    case "f32":
    case "f64": {
      const x = plan.kind === "f32"
        ? new DataView(a.buffer, a.byteOffset).getFloat32(0, true)
        : new DataView(a.buffer, a.byteOffset).getFloat64(0, true);
      const y = plan.kind === "f32"
        ? new DataView(b.buffer, b.byteOffset).getFloat32(0, true)
        : new DataView(b.buffer, b.byteOffset).getFloat64(0, true);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case "decFixed": {
      // Big-endian two's complement of equal length: the sign byte signed, the rest unsigned.
      const sa = (a[0]! << 24) >> 24, sb = (b[0]! << 24) >> 24;
      if (sa !== sb) return sa - sb;
      return cmpBytes(a, 1, a.length, b, 1, b.length);
    }
    default: {
      if (a.length === 4) {
        return new DataView(a.buffer, a.byteOffset).getInt32(0, true) -
          new DataView(b.buffer, b.byteOffset).getInt32(0, true);
      }
      const x = new DataView(a.buffer, a.byteOffset).getBigInt64(0, true);
      const y = new DataView(b.buffer, b.byteOffset).getBigInt64(0, true);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

function encodeChunk(
  plan: ColumnPlan,
  col: FlatColumn,
  ctx: EncodeContext,
  bytesTarget: number,
  rowsMax: number,
): ChunkOut {
  const bounds = pageBounds(plan, col, bytesTarget, rowsMax);
  const pages: PageOut[] = [];
  let min: Uint8Array | undefined, max: Uint8Array | undefined;
  let byteArrayBytes = 0, uncompressedBytes = 0, compressedBytes = 0;
  for (let p = 0; p + 1 < bounds.length; p++) {
    const page = encodePage(plan, col, bounds[p]!, bounds[p + 1]!, ctx);
    pages.push(page);
    byteArrayBytes += page.byteArrayBytes;
    uncompressedBytes += page.header.length + page.uncompressedBytes;
    compressedBytes += page.header.length + page.body.length;
    const mm = page.minMax;
    if (mm !== undefined) {
      // The chunk's min/max come from the pages' (arrow-rs `update_min`/`update_max`): the
      // float zero rule applied per page holds for the chunk too.
      if (min === undefined || compareStat(plan, mm.min, min) < 0) min = mm.min;
      if (max === undefined || compareStat(plan, mm.max, max) > 0) max = mm.max;
    }
  }
  return {
    plan,
    pages,
    rows: col.rows,
    nulls: col.nulls,
    minMax: min === undefined || max === undefined ? undefined : { min, max },
    byteArrayBytes,
    uncompressedBytes,
    compressedBytes,
    dataPageOffset: 0,
    columnIndex: undefined,
    columnIndexOffset: 0,
    offsetIndex: undefined,
    offsetIndexOffset: 0,
  };
}

function isByteArray(plan: ColumnPlan): boolean {
  return plan.kind === "utf8" || plan.kind === "binary";
}

/** Statistics min/max as written (byte arrays truncated), with exactness. */
function writtenMinMax(plan: ColumnPlan, mm: MinMax) {
  if (!isByteArray(plan)) return { min: mm.min, max: mm.max, minExact: true, maxExact: true };
  const utf8 = plan.kind === "utf8";
  const min = truncateMin(mm.min, STATISTICS_TRUNCATE_BYTES, utf8);
  const max = truncateMax(mm.max, STATISTICS_TRUNCATE_BYTES, utf8);
  return {
    min: min ?? mm.min,
    max: max ?? mm.max,
    minExact: min === undefined,
    maxExact: max === undefined,
  };
}

function writeStatistics(w: ThriftWriter, chunk: ChunkOut): void {
  const plan = chunk.plan;
  // Legacy min/max (fields 1, 2) only where their order is signed, as arrow-rs does.
  const signed = plan.kind !== "bool" && !isByteArray(plan);
  w.structField(12);
  const mm = chunk.minMax === undefined ? undefined : writtenMinMax(plan, chunk.minMax);
  if (mm !== undefined && signed) {
    w.binary(1, mm.max);
    w.binary(2, mm.min);
  }
  w.i64(3, chunk.nulls);
  if (mm !== undefined) {
    w.binary(5, mm.max);
    w.binary(6, mm.min);
  }
  // arrow-rs writes the exactness flags even without values (false then).
  w.bool(7, mm?.maxExact ?? false);
  w.bool(8, mm?.minExact ?? false);
  w.endStruct();
}

function writeColumnChunk(w: ThriftWriter, chunk: ChunkOut, codec: number): void {
  const plan = chunk.plan;
  w.beginStruct();
  w.i64(2, 0); // file_offset: deprecated, 0 as arrow-rs writes it
  w.structField(3); // ColumnMetaData
  w.i32(1, plan.physical);
  w.listField(2, CT.I32, 2);
  w.rawInt(ENC_PLAIN);
  w.rawInt(ENC_RLE);
  w.listField(3, CT.BINARY, 1);
  w.rawString(plan.name);
  w.i32(4, codec);
  w.i64(5, chunk.rows);
  w.i64(6, chunk.uncompressedBytes);
  w.i64(7, chunk.compressedBytes);
  w.i64(9, chunk.dataPageOffset);
  writeStatistics(w, chunk);
  w.listField(13, CT.STRUCT, 1); // encoding_stats
  w.beginStruct();
  w.i32(1, 0); // DATA_PAGE
  w.i32(2, ENC_PLAIN);
  w.i32(3, chunk.pages.length);
  w.endStruct();
  if (isByteArray(plan) || plan.nullable) {
    w.structField(16); // size_statistics
    if (isByteArray(plan)) w.i64(1, chunk.byteArrayBytes);
    if (plan.nullable) {
      w.listField(3, CT.I64, 2);
      w.rawInt(chunk.nulls);
      w.rawInt(chunk.rows - chunk.nulls);
    }
    w.endStruct();
  }
  w.endStruct(); // ColumnMetaData
  w.i64(4, chunk.offsetIndexOffset);
  w.i32(5, chunk.offsetIndex!.length);
  if (chunk.columnIndex !== undefined) {
    w.i64(6, chunk.columnIndexOffset);
    w.i32(7, chunk.columnIndex.length);
  }
  w.endStruct();
}

/**
 * The chunk's ColumnIndex, or `undefined` when a page holding values has no min/max (only NaN):
 * arrow-rs then writes no column index for the chunk, as a reader could not prune by it.
 */
function writeColumnIndex(chunk: ChunkOut): Uint8Array | undefined {
  const plan = chunk.plan;
  const pages = chunk.pages;
  if (pages.some((p) => p.minMax === undefined && p.nulls < p.rows)) return undefined;
  const w = new ThriftWriter(64 + pages.length * 32);
  w.beginStruct();
  w.listField(1, CT.TRUE, pages.length);
  for (const p of pages) w.rawBool(p.nulls === p.rows);
  const truncated = pages.map((p) => p.minMax && writtenMinMax(plan, p.minMax));
  w.listField(2, CT.BINARY, pages.length);
  for (const t of truncated) w.rawBinary(t?.min ?? new Uint8Array(0));
  w.listField(3, CT.BINARY, pages.length);
  for (const t of truncated) w.rawBinary(t?.max ?? new Uint8Array(0));
  w.i32(4, boundaryOrder(plan, pages));
  w.listField(5, CT.I64, pages.length);
  for (const p of pages) w.rawInt(p.nulls);
  if (plan.nullable) {
    w.listField(7, CT.I64, pages.length * 2);
    for (const p of pages) {
      w.rawInt(p.nulls);
      w.rawInt(p.rows - p.nulls);
    }
  }
  w.endStruct();
  return w.finish();
}

/** ASCENDING / DESCENDING when the pages' min and max both are in order, as arrow-rs decides. */
function boundaryOrder(plan: ColumnPlan, pages: PageOut[]): number {
  let ascending = true, descending = true;
  let prev: MinMax | undefined;
  for (const p of pages) {
    if (p.minMax === undefined) continue;
    if (prev !== undefined) {
      const cmin = compareStat(plan, prev.min, p.minMax.min);
      const cmax = compareStat(plan, prev.max, p.minMax.max);
      if (cmin > 0 || cmax > 0) ascending = false;
      if (cmin < 0 || cmax < 0) descending = false;
    }
    prev = p.minMax;
  }
  return ascending ? BOUNDARY_ASCENDING : descending ? BOUNDARY_DESCENDING : BOUNDARY_UNORDERED;
}

function writeOffsetIndex(chunk: ChunkOut): Uint8Array {
  const w = new ThriftWriter(32 + chunk.pages.length * 16);
  w.beginStruct();
  w.listField(1, CT.STRUCT, chunk.pages.length);
  let offset = chunk.dataPageOffset, row = 0;
  for (const p of chunk.pages) {
    const size = p.header.length + p.body.length;
    w.beginStruct();
    w.i64(1, offset);
    w.i32(2, size);
    w.i64(3, row);
    w.endStruct();
    offset += size;
    row += p.rows;
  }
  if (isByteArray(chunk.plan)) {
    w.listField(2, CT.I64, chunk.pages.length);
    for (const p of chunk.pages) w.rawInt(p.byteArrayBytes);
  }
  w.endStruct();
  return w.finish();
}

function writeSchemaElement(w: ThriftWriter, plan: ColumnPlan): void {
  w.beginStruct();
  w.i32(1, plan.physical);
  if (plan.physical === T_FLBA) w.i32(2, plan.typeLength);
  w.i32(3, plan.nullable ? OPTIONAL : REQUIRED);
  w.string(4, plan.name);
  if (plan.convertedType !== undefined) w.i32(6, plan.convertedType);
  if (plan.convertedType === CONV_DECIMAL) {
    w.i32(7, plan.scale);
    w.i32(8, plan.precision);
  }
  if (plan.fieldId !== undefined) w.i32(9, plan.fieldId);
  if (plan.logical !== undefined) {
    w.structField(10);
    plan.logical(w);
    w.endStruct();
  }
  w.endStruct();
}

const arrowSchemaCache = new WeakMap<arrow.Schema, string>();

/**
 * The `ARROW:schema` footer value arrow-rs writes: base64 of the IPC schema message with its
 * continuation marker and length prefix (the legacy framing arrow-rs keeps).
 */
export function encodeArrowSchema(schema: arrow.Schema): string {
  const cached = arrowSchemaCache.get(schema);
  if (cached !== undefined) return cached;
  // The first message of an IPC stream is the schema: 0xFFFFFFFF, int32 length, flatbuffer.
  const stream = arrow.tableToIPC(new arrow.Table(schema), "stream");
  const length = new DataView(stream.buffer, stream.byteOffset).getInt32(4, true);
  const message = stream.subarray(0, 8 + length);
  let binary = "";
  for (let i = 0; i < message.length; i += 0x8000) {
    binary += String.fromCharCode(...message.subarray(i, i + 0x8000));
  }
  const encoded = btoa(binary);
  arrowSchemaCache.set(schema, encoded);
  return encoded;
}

function writeFooter(
  plans: ColumnPlan[],
  groups: { chunks: ChunkOut[]; rows: number; offset: number }[],
  rows: number,
  schema: arrow.Schema,
  createdBy: string,
  codec: number,
): Uint8Array {
  const w = new ThriftWriter(1024 + plans.length * 256);
  w.beginStruct();
  w.i32(1, 1); // version
  w.listField(2, CT.STRUCT, plans.length + 1);
  w.beginStruct(); // the root
  w.string(4, "arrow_schema");
  w.i32(5, plans.length);
  w.endStruct();
  for (const plan of plans) writeSchemaElement(w, plan);
  w.i64(3, rows);
  w.listField(4, CT.STRUCT, groups.length);
  groups.forEach((g, ordinal) => {
    w.beginStruct();
    w.listField(1, CT.STRUCT, g.chunks.length);
    let uncompressed = 0, compressed = 0;
    for (const c of g.chunks) {
      writeColumnChunk(w, c, codec);
      uncompressed += c.uncompressedBytes;
      compressed += c.compressedBytes;
    }
    w.i64(2, uncompressed);
    w.i64(3, g.rows);
    w.i64(5, g.offset);
    w.i64(6, compressed);
    w.i16(7, ordinal);
    w.endStruct();
  });
  w.listField(5, CT.STRUCT, 1);
  w.beginStruct();
  w.string(1, "ARROW:schema");
  w.string(2, encodeArrowSchema(schema));
  w.endStruct();
  w.string(6, createdBy);
  w.listField(7, CT.STRUCT, plans.length); // column_orders: TYPE_ORDER for every column
  for (let i = 0; i < plans.length; i++) {
    w.beginStruct();
    w.structField(1);
    w.endStruct();
    w.endStruct();
  }
  w.endStruct();
  return w.finish();
}

const MAGIC = new TextEncoder().encode("PAR1");

/** Row ranges of `table` in [from, to) as segments of one column. */
function segmentsOf(table: arrow.Table, column: number, from: number, to: number): Segment[] {
  const segments: Segment[] = [];
  let start = 0;
  for (const batch of table.batches) {
    const end = start + batch.numRows;
    const a = Math.max(from, start), b = Math.min(to, end);
    if (a < b) segments.push({ data: batch.data.children[column]!, from: a - start, count: b - a });
    start = end;
  }
  return segments;
}

function positive(v: number | undefined, fallback: number): number | undefined {
  if (v === undefined) return fallback;
  return Number.isSafeInteger(v) && v >= 1 ? v : undefined;
}

/**
 * Encodes a flat Arrow table as Parquet bytes, or returns `undefined` when the table or the options
 * are outside what this writer supports (see {@linkcode canEncodeFlat}; codecs other than zstd
 * and uncompressed; a null in a non-nullable field): the caller then uses `writeParquetFile`.
 * Readers see what parquet-wasm writes for the same table (ADR 0044): same types, Arrow schema,
 * statistics and page index, without dictionary encoding.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { encodeFlatParquet } from "./encode_flat.ts";
 * import { readParquetFile } from "./write_parquet_file.ts";
 * const table = arrow.tableFromArrays({ n: new Int32Array([1, 2, 3]) });
 * const bytes = encodeFlatParquet(table, { compression: "zstd" });
 * if (bytes === undefined || readParquetFile(bytes).getChild("n")?.get(2) !== 3) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function encodeFlatParquet(
  table: arrow.Table,
  options: EncodeFlatOptions = {},
): Uint8Array | undefined {
  const compression = options.compression ?? "zstd";
  if (compression !== "zstd" && compression !== "uncompressed") return undefined;
  const plans = planColumns(table.schema);
  if (plans === undefined) return undefined;
  const groupRows = positive(options.rowGroupRows, ROW_GROUP_ROWS_DEFAULT);
  const bytesTarget = positive(options.pageBytesTarget, PAGE_BYTES_TARGET_DEFAULT);
  const rowsMax = positive(options.pageRowsMax, PAGE_ROWS_MAX_DEFAULT);
  const level = options.zstdLevel ?? ZSTD_LEVEL_DEFAULT;
  if (
    groupRows === undefined || bytesTarget === undefined || rowsMax === undefined ||
    !Number.isInteger(level)
  ) {
    return undefined;
  }
  const zstdOptions = { params: { [zlibConstants.ZSTD_c_compressionLevel]: level } };
  const ctx: EncodeContext = {
    scratch: new Scratch(),
    aligned: new Scratch(),
    codec: compression === "zstd" ? CODEC_ZSTD : CODEC_UNCOMPRESSED,
    // Uncompressed bodies are copied: the scratch buffer is reused by the next page.
    compress: compression === "zstd" ? (b) => zstdCompressSync(b, zstdOptions) : (b) => b.slice(),
  };

  const parts: Uint8Array[] = [MAGIC];
  let pos = MAGIC.length;
  const groups: { chunks: ChunkOut[]; rows: number; offset: number }[] = [];
  const rows = table.numRows;
  for (let g0 = 0; g0 < rows; g0 += groupRows) {
    const g1 = Math.min(rows, g0 + groupRows);
    const group = { chunks: [] as ChunkOut[], rows: g1 - g0, offset: pos };
    for (let c = 0; c < plans.length; c++) {
      const plan = plans[c]!;
      const col = flatColumn(plan, segmentsOf(table, c, g0, g1));
      if (col === undefined) return undefined;
      const chunk = encodeChunk(plan, col, ctx, bytesTarget, rowsMax);
      chunk.dataPageOffset = pos;
      for (const page of chunk.pages) {
        parts.push(page.header, page.body);
        pos += page.header.length + page.body.length;
      }
      group.chunks.push(chunk);
    }
    groups.push(group);
  }
  // Page index (parquet-format PageIndex.md): all column indexes, then all offset indexes, before
  // the footer, as arrow-rs lays them out.
  for (const g of groups) {
    for (const c of g.chunks) {
      c.columnIndex = writeColumnIndex(c);
      if (c.columnIndex === undefined) continue;
      c.columnIndexOffset = pos;
      parts.push(c.columnIndex);
      pos += c.columnIndex.length;
    }
  }
  for (const g of groups) {
    for (const c of g.chunks) {
      c.offsetIndex = writeOffsetIndex(c);
      c.offsetIndexOffset = pos;
      parts.push(c.offsetIndex);
      pos += c.offsetIndex.length;
    }
  }
  const footer = writeFooter(
    plans,
    groups,
    rows,
    table.schema,
    options.createdBy ?? CREATED_BY_DEFAULT,
    ctx.codec,
  );
  const out = new Uint8Array(pos + footer.length + 8);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  out.set(footer, at);
  at += footer.length;
  new DataView(out.buffer).setUint32(at, footer.length, true);
  out.set(MAGIC, at + 4);
  return out;
}
