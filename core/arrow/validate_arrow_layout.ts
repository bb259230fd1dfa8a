/**
 * Structural validation of decoded Arrow data: every buffer is long enough for the rows it claims,
 * every offset stays inside the buffer it points into, and every reference (dictionary index,
 * union type id) resolves.
 *
 * Why: Arrow JS reads an IPC body without checking it. A buffer region shorter than its rows
 * decodes to a short typed array (reads past its end give `undefined`), offsets are taken as they
 * come, and a null count is trusted. Such data either breaks a later stage on every retry (the
 * Parquet writer, arrow-rs, refuses it: "Need at least 16 bytes in buffers[0]") or, worse, is
 * written with made-up values. The edge and the runner intake both call
 * {@linkcode validateArrowLayout} before anything reads values, so a malformed body is refused
 * with a 4xx and nothing written.
 *
 * Conventions (Arrow JS `Data`): `offset` applies to bit-packed buffers (validity bitmaps and
 * boolean values) only; fixed-width values and value offsets are already rebased to the slice, and
 * struct children are sliced with their parent. The checks follow the Arrow columnar format
 * ("Physical Memory Layout") and what arrow-rs `ArrayData::validate_full` demands:
 *
 * | layout | check |
 * |---|---|
 * | validity bitmap | at least `offset + length` bits; its zero bits equal the null count; no null count without a bitmap |
 * | fixed width (ints, floats, dates, times, timestamps, durations, intervals, decimals, fixed-size binary) | at least `length * stride` elements |
 * | boolean | at least `offset + length` bits |
 * | variable width (utf8, binary, large variants) | `length + 1` offsets, non-decreasing, from 0 or more up to the data buffer's length; UTF-8 valid and split at character boundaries |
 * | views (utf8/binary view) | 16 bytes per row; out-of-line views inside their variadic buffer |
 * | list, large list, map | offsets as above, up to the child's length; map entries and keys hold no nulls |
 * | fixed-size list | child holds `length * listSize` rows |
 * | struct, record batch | every child has exactly the parent's length |
 * | dictionary | indices in range of the dictionary, which is checked too |
 * | union | type ids known; dense offsets inside their child; sparse children as long as the union |
 *
 * Values are not judged here (dates in range, decimal precision): that is the schema's business
 * (`edge/convert.ts`, `core/write/validate_batch.ts`).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { LakestrikeError } from "../errors.ts";

/** Decoded Arrow data whose buffers do not hold what its lengths and offsets claim. */
export class ArrowLayoutError extends LakestrikeError {
  /** Path of the offending column, e.g. `user.id`, `tags[]`, `attrs.key`. */
  readonly column: string;
  /** What is wrong, e.g. `values buffer holds 2 of 4 values`. */
  readonly reason: string;
  /** Create the error for a column path and a reason. */
  constructor(column: string, reason: string) {
    super(
      "INVALID_ARGUMENT",
      `Cannot read Arrow data: column ${JSON.stringify(column)}: ${reason}`,
    );
    this.name = "ArrowLayoutError";
    this.column = column;
    this.reason = reason;
  }
}

/**
 * Check the layout of every column of every record batch (and of the dictionaries they use).
 *
 * @throws {ArrowLayoutError} naming the first column whose buffers do not match its lengths.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { validateArrowLayout } from "./validate_arrow_layout.ts";
 * validateArrowLayout(arrow.tableFromArrays({ n: Int32Array.of(1, 2, 3) }));
 * // Four rows, but a values buffer of two: what a truncated IPC buffer region decodes to.
 * const short = arrow.makeData({ type: new arrow.Int32(), length: 4, data: new Int32Array(2) });
 * let refused = false;
 * try {
 *   validateArrowLayout(new arrow.Table({ n: arrow.makeVector(short) }));
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("a short buffer must be refused");
 * ```
 */
export function validateArrowLayout(table: arrow.Table | arrow.RecordBatch): void {
  const batches = table instanceof arrow.RecordBatch ? [table] : table.batches;
  for (const batch of batches) {
    const fields = batch.schema.fields;
    const root = batch.data;
    if (root.children.length !== fields.length) {
      throw new ArrowLayoutError("", `${root.children.length} columns for ${fields.length} fields`);
    }
    fields.forEach((f, k) => {
      const column = root.children[k]!;
      if (column.length !== root.length) {
        throw new ArrowLayoutError(
          f.name,
          `holds ${column.length} rows in a batch of ${root.length}`,
        );
      }
      if (CHECKED.has(column)) return;
      checkData(column, f.name);
      CHECKED.add(column);
    });
  }
}

/**
 * Columns already found well formed. A batch is checked where it enters (the edge's or the
 * runner's decode) and again by each writer API it passes through (`validateBatch`, at intake and
 * in `writeDataFiles`); Arrow data is immutable once built, so a column passes once, and the
 * UTF-8 and offset scans, a third of the runner's per-row cost, run once per batch instead of three
 * times. A column is only remembered after a whole pass, never after a failure.
 */
const CHECKED = new WeakSet<arrow.Data>();

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

function fail(path: string, reason: string): never {
  throw new ArrowLayoutError(path, reason);
}

/** Number of set bits of `bitmap` in `[start, end)`. */
function countSetBits(bitmap: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n += (bitmap[i >> 3]! >> (i & 7)) & 1;
  return n;
}

function isValidAt(d: arrow.Data, i: number): boolean {
  const bitmap = d.nullBitmap;
  if (bitmap === undefined || bitmap.length === 0) return true;
  const bit = d.offset + i;
  return ((bitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

function checkValidity(d: arrow.Data, path: string): void {
  const bitmap = d.nullBitmap as Uint8Array | undefined;
  const nullCount = d.nullCount;
  if (bitmap === undefined || bitmap.length === 0) {
    if (nullCount !== 0) fail(path, `null count ${nullCount} without a validity bitmap`);
    return;
  }
  const end = d.offset + d.length;
  if (bitmap.length * 8 < end) {
    fail(path, `validity bitmap holds ${bitmap.length * 8} bits for ${end} rows`);
  }
  const nulls = d.length - countSetBits(bitmap, d.offset, end);
  if (nulls !== nullCount) {
    fail(path, `null count ${nullCount} but the validity bitmap has ${nulls} nulls`);
  }
}

function checkFixedWidth(d: arrow.Data, path: string): void {
  const values = d.values as ArrayLike<unknown> | undefined;
  const needed = d.length * d.stride;
  const held = values?.length ?? 0;
  if (held < needed) {
    fail(path, `values buffer holds ${Math.floor(held / d.stride)} of ${d.length} values`);
  }
}

/** Checks `length + 1` non-decreasing offsets within `[0, limit]`; returns first and last. */
function checkOffsets(d: arrow.Data, path: string, limit: number): [number, number] {
  const offsets = d.valueOffsets as Int32Array | BigInt64Array | undefined;
  if (d.length === 0) return [0, 0];
  if (offsets === undefined || offsets.length < d.length + 1) {
    fail(path, `offsets buffer holds ${offsets?.length ?? 0} of ${d.length + 1} offsets`);
  }
  let previous = Number(offsets[0]!);
  if (previous < 0) fail(path, `offset ${previous} is negative`);
  const first = previous;
  for (let i = 1; i <= d.length; i++) {
    const next = Number(offsets[i]!);
    if (next < previous) fail(path, `offsets decrease at row ${i - 1} (${previous} > ${next})`);
    previous = next;
  }
  if (previous > limit) fail(path, `offset ${previous} is past the end of its data (${limit})`);
  return [first, previous];
}

function checkUtf8(d: arrow.Data, path: string, first: number, last: number): void {
  const bytes = d.values as Uint8Array;
  try {
    fatalUtf8.decode(bytes.subarray(first, last));
  } catch {
    fail(path, "invalid UTF-8");
  }
  // Valid as a whole is not enough: each value must start on a character boundary.
  const offsets = d.valueOffsets as Int32Array | BigInt64Array;
  for (let i = 1; i < d.length; i++) {
    const at = Number(offsets[i]!);
    if (at < last && (bytes[at]! & 0xc0) === 0x80) fail(path, `invalid UTF-8 in row ${i}`);
  }
}

function checkViews(d: arrow.Data, path: string, utf8: boolean): void {
  const views = d.values as Uint8Array;
  if ((views?.length ?? 0) < d.length * 16) {
    fail(path, `views buffer holds ${Math.floor((views?.length ?? 0) / 16)} of ${d.length} views`);
  }
  const dv = new DataView(views.buffer, views.byteOffset, views.byteLength);
  const buffers = d.variadicBuffers;
  for (let i = 0; i < d.length; i++) {
    if (!isValidAt(d, i)) continue;
    const size = dv.getInt32(16 * i, true);
    if (size < 0) fail(path, `view ${i} has a negative size`);
    let bytes: Uint8Array;
    if (size <= 12) bytes = views.subarray(16 * i + 4, 16 * i + 4 + size);
    else {
      const index = dv.getInt32(16 * i + 8, true);
      const start = dv.getInt32(16 * i + 12, true);
      const buffer = buffers[index];
      if (index < 0 || buffer === undefined) fail(path, `view ${i} names a missing buffer`);
      if (start < 0 || start + size > buffer.length) fail(path, `view ${i} is past its buffer`);
      bytes = buffer.subarray(start, start + size);
    }
    if (utf8) {
      try {
        fatalUtf8.decode(bytes);
      } catch {
        fail(path, `invalid UTF-8 in row ${i}`);
      }
    }
  }
}

function checkChildLength(child: arrow.Data | undefined, path: string, length: number): arrow.Data {
  if (child === undefined) return fail(path, "child array is missing");
  if (child.length !== length) fail(path, `holds ${child.length} rows, expected ${length}`);
  return child;
}

function checkDictionary(d: arrow.Data, path: string): void {
  checkFixedWidth(d, path);
  const dictionary = d.dictionary;
  const size = dictionary?.length ?? 0;
  const indices = d.values as ArrayLike<number | bigint>;
  for (let i = 0; i < d.length; i++) {
    if (!isValidAt(d, i)) continue;
    const index = Number(indices[i]!);
    if (!(index >= 0 && index < size)) {
      fail(path, `dictionary index ${index} in row ${i} is out of range (${size} entries)`);
    }
  }
  for (const chunk of dictionary?.data ?? []) checkData(chunk, `${path} dictionary`);
}

function checkUnion(d: arrow.Data, type: arrow.Union, path: string): void {
  const typeIds = d.typeIds as Int8Array | undefined;
  if ((typeIds?.length ?? 0) < d.length) {
    fail(path, `type ids buffer holds ${typeIds?.length ?? 0} of ${d.length} ids`);
  }
  if (d.children.length !== type.children.length) fail(path, "union children are missing");
  const dense = type.mode === arrow.UnionMode.Dense;
  const offsets = d.valueOffsets as Int32Array | undefined;
  if (dense && (offsets?.length ?? 0) < d.length) {
    fail(path, `offsets buffer holds ${offsets?.length ?? 0} of ${d.length} offsets`);
  }
  for (let i = 0; i < d.length; i++) {
    const k = type.typeIdToChildIndex[typeIds![i]!];
    if (k === undefined) fail(path, `unknown type id ${typeIds![i]} in row ${i}`);
    if (dense) {
      const at = offsets![i]!;
      if (at < 0 || at >= d.children[k]!.length) {
        fail(path, `offset ${at} of row ${i} is past its child`);
      }
    }
  }
  type.children.forEach((f, k) => {
    const child = d.children[k]!;
    if (!dense && child.length !== d.length) {
      fail(`${path}.${f.name}`, `holds ${child.length} rows, expected ${d.length}`);
    }
    checkData(child, `${path}.${f.name}`);
  });
}

/** Largest decimal precision per bit width (Arrow `Decimal32` .. `Decimal256`). */
const DECIMAL_PRECISION_MAX: Readonly<Record<number, number>> = { 32: 9, 64: 18, 128: 38, 256: 76 };

const isIndex = (n: unknown, max: number) =>
  Number.isInteger(n) && (n as number) >= 0 && n as number <= max;

/**
 * Refuses type parameters the format does not define (an IPC schema is read as it comes: a
 * decimal of bit width 2 decodes, and the Parquet writer panics on it).
 */
function checkType(type: arrow.DataType, path: string): void {
  const bad = (what: string) => fail(path, `invalid type ${String(type)}: ${what}`);
  if (arrow.DataType.isInt(type) && ![8, 16, 32, 64].includes(type.bitWidth)) bad("bit width");
  if (arrow.DataType.isFloat(type) && !isIndex(type.precision, 2)) bad("precision");
  if (arrow.DataType.isDecimal(type)) {
    const max = DECIMAL_PRECISION_MAX[type.bitWidth];
    if (max === undefined) return bad("bit width");
    if (!isIndex(type.precision, max) || type.precision < 1) bad("precision");
    if (!Number.isInteger(type.scale) || Math.abs(type.scale) > type.precision) bad("scale");
  }
  if (arrow.DataType.isDate(type) && !isIndex(type.unit, 1)) bad("unit");
  if (arrow.DataType.isTimestamp(type) && !isIndex(type.unit, 3)) bad("unit");
  if (arrow.DataType.isDuration(type) && !isIndex(type.unit, 3)) bad("unit");
  if (arrow.DataType.isInterval(type) && !isIndex(type.unit, 2)) bad("unit");
  if (arrow.DataType.isTime(type)) {
    const wide = type.unit >= arrow.TimeUnit.MICROSECOND;
    if (!isIndex(type.unit, 3) || type.bitWidth !== (wide ? 64 : 32)) bad("unit and bit width");
  }
  if (arrow.DataType.isFixedSizeBinary(type) && !isIndex(type.byteWidth, 0x7fffffff)) bad("width");
  if (arrow.DataType.isFixedSizeList(type) && !isIndex(type.listSize, 0x7fffffff)) bad("size");
  if (arrow.DataType.isUnion(type) && type.typeIds.length !== type.children.length) bad("type ids");
}

/** Checks one array and, recursively, its children. */
function checkData(d: arrow.Data, path: string): void {
  const type = d.type as arrow.DataType;
  checkType(type, path);
  if (arrow.DataType.isNull(type)) return;
  if (arrow.DataType.isUnion(type)) return checkUnion(d, type, path);
  checkValidity(d, path);
  if (arrow.DataType.isBool(type)) {
    const bits = ((d.values as Uint8Array | undefined)?.length ?? 0) * 8;
    if (bits < d.offset + d.length) fail(path, `values buffer holds ${bits} of ${d.length} bits`);
    return;
  }
  if (arrow.DataType.isDictionary(type)) return checkDictionary(d, path);
  if (
    arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type) ||
    arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type)
  ) {
    const [first, last] = checkOffsets(d, path, (d.values as Uint8Array | undefined)?.length ?? 0);
    if (arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type)) {
      checkUtf8(d, path, first, last);
    }
    return;
  }
  if (arrow.DataType.isUtf8View(type) || arrow.DataType.isBinaryView(type)) {
    return checkViews(d, path, arrow.DataType.isUtf8View(type));
  }
  if (arrow.DataType.isList(type) || arrow.DataType.isLargeList(type)) {
    const child = d.children[0];
    if (child === undefined) fail(path, "child array is missing");
    checkOffsets(d, path, child.length);
    return checkData(child, `${path}[]`);
  }
  if (arrow.DataType.isMap(type)) {
    const entries = d.children[0];
    if (entries === undefined) fail(path, "entries are missing");
    checkOffsets(d, path, entries.length);
    checkValidity(entries, path);
    if (entries.nullCount !== 0) fail(path, "null map entry");
    if (entries.children.length !== 2) fail(path, "map entries need a key and a value");
    const key = checkChildLength(entries.children[0], `${path}.key`, entries.length);
    const value = checkChildLength(entries.children[1], `${path}.value`, entries.length);
    checkData(key, `${path}.key`);
    if (key.nullCount !== 0) fail(`${path}.key`, "null map key");
    return checkData(value, `${path}.value`);
  }
  if (arrow.DataType.isFixedSizeList(type)) {
    const child = checkChildLength(d.children[0], `${path}[]`, d.length * type.listSize);
    return checkData(child, `${path}[]`);
  }
  if (arrow.DataType.isStruct(type)) {
    if (d.children.length !== type.children.length) fail(path, "struct children are missing");
    type.children.forEach((f, k) => {
      const child = checkChildLength(d.children[k], `${path}.${f.name}`, d.length);
      checkData(child, `${path}.${f.name}`);
    });
    return;
  }
  // Every other type is fixed width: ints, floats, decimals, dates, times, timestamps,
  // durations, intervals, fixed-size binary.
  checkFixedWidth(d, path);
}
