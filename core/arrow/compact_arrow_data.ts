/**
 * Copies of Arrow data into fresh, exactly sized buffers, one `ArrayBuffer` per buffer.
 *
 * Why: decoded IPC data is a set of views into the request body. Kept as is, (1) a one-row batch
 * keeps the whole body alive (an 8 MiB body for 55 bytes of data), and (2) Arrow JS's IPC writer,
 * which every Parquet write goes through (`tableToIPC`), merges views of one `ArrayBuffer` that
 * overlap and writes a stream whose body is shorter than its header says: a body whose buffer
 * regions overlap (legal to decode, never written by Arrow itself) would fail the Parquet write on
 * every retry. A compact copy has neither problem; {@linkcode isCompactData} tells when the copy
 * can be skipped.
 *
 * Supports the Arrow types of Delta columns (`core/schema/delta_schema_to_arrow.ts`): booleans,
 * fixed-width numbers, dates, timestamps, decimals, utf8, binary, list, map and struct. Run it on
 * data `validateArrowLayout` accepted.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { InvalidArgumentError } from "../errors.ts";

/** Bits `[start, start + count)` of `bits` as a fresh bitmap starting at bit 0. */
function copyBits(bits: Uint8Array, start: number, count: number): Uint8Array {
  if ((start & 7) === 0) {
    const out = bits.slice(start >> 3, (start >> 3) + ((count + 7) >> 3));
    if ((count & 7) !== 0) out[out.length - 1]! &= (1 << (count & 7)) - 1;
    return out;
  }
  const out = new Uint8Array((count + 7) >> 3);
  for (let i = 0; i < count; i++) {
    const b = start + i;
    if ((bits[b >> 3]! >> (b & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

function countBits(bits: Uint8Array, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) n += (bits[i >> 3]! >> (i & 7)) & 1;
  return n;
}

// deno-lint-ignore no-explicit-any
type AnyProps = any;
function data(props: Record<string, unknown>): arrow.Data {
  return arrow.makeData(props as AnyProps) as arrow.Data;
}

type FixedWidthArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/**
 * Rows `[start, start + count)` of `d` (default: all of them) copied into fresh buffers of exactly
 * their size, typed `type` (default `d.type`; give another type of the same layout to rename nested
 * fields). Indices follow Arrow JS: `offset` applies to bitmaps only.
 *
 * @throws {InvalidArgumentError} for a type outside the Delta mapping (e.g. a dictionary).
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { compactArrowData } from "./compact_arrow_data.ts";
 * const body = new Int32Array(1024); // e.g. a whole request body
 * const view = arrow.makeData({ type: new arrow.Int32(), length: 2, data: body.subarray(8, 10) });
 * const copy = compactArrowData(view);
 * if (copy.values.buffer.byteLength !== 8 || copy.values.buffer === body.buffer) throw new Error();
 * ```
 */
export function compactArrowData(
  d: arrow.Data,
  type: arrow.DataType = d.type,
  start = 0,
  count: number = d.length - start,
): arrow.Data {
  let nullBitmap: Uint8Array | undefined;
  let nullCount = 0;
  if (d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0) {
    nullBitmap = copyBits(d.nullBitmap, d.offset + start, count);
    nullCount = count - countBits(nullBitmap, count);
    if (nullCount === 0) nullBitmap = undefined;
  }
  const base = { type, length: count, nullCount, nullBitmap };
  if (arrow.DataType.isBool(type)) {
    return data({ ...base, data: copyBits(d.values as Uint8Array, d.offset + start, count) });
  }
  if (
    arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type) ||
    arrow.DataType.isList(type) || arrow.DataType.isMap(type)
  ) {
    // Layout-checked: `length + 1` non-decreasing offsets (none at all for zero rows).
    const offsets = d.valueOffsets as Int32Array;
    const first = count === 0 ? 0 : offsets[start]!;
    const last = count === 0 ? 0 : offsets[start + count]!;
    const valueOffsets = new Int32Array(count + 1);
    if (count > 0) {
      for (let i = 0; i <= count; i++) valueOffsets[i] = offsets[start + i]! - first;
    }
    if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) {
      return data({ ...base, valueOffsets, data: (d.values as Uint8Array).slice(first, last) });
    }
    const child = compactArrowData(d.children[0]!, type.children[0]!.type, first, last - first);
    return data({ ...base, valueOffsets, child });
  }
  if (arrow.DataType.isStruct(type)) {
    const children = type.children.map((f, k) =>
      compactArrowData(d.children[k]!, f.type, start, count)
    );
    return data({ ...base, children });
  }
  if (
    arrow.DataType.isInt(type) || arrow.DataType.isFloat(type) || arrow.DataType.isDate(type) ||
    arrow.DataType.isTimestamp(type) || arrow.DataType.isDecimal(type)
  ) {
    const values = d.values as FixedWidthArray;
    return data({ ...base, data: values.slice(start * d.stride, (start + count) * d.stride) });
  }
  throw new InvalidArgumentError(`Cannot copy Arrow data of type ${String(type)}`);
}

/**
 * Whether every buffer of `d` (children included) spans its own `ArrayBuffer` exactly and no
 * `ArrayBuffer` backs two buffers: then nothing else is kept alive and no two buffers overlap.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { isCompactData } from "./compact_arrow_data.ts";
 * const own = arrow.makeData({ type: new arrow.Int32(), length: 2, data: Int32Array.of(1, 2) });
 * const view = arrow.makeData({ type: new arrow.Int32(), length: 1, data: own.values.subarray(1) });
 * if (!isCompactData(own) || isCompactData(view)) throw new Error("unexpected");
 * ```
 */
export function isCompactData(d: arrow.Data, seen = new Set<ArrayBufferLike>()): boolean {
  const buffers = [d.values, d.valueOffsets, d.nullBitmap, d.typeIds] as (
    | ArrayBufferView
    | undefined
  )[];
  for (const b of buffers) {
    if (b === undefined || b === null || b.byteLength === 0) continue;
    if (b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength || seen.has(b.buffer)) {
      return false;
    }
    seen.add(b.buffer);
  }
  return d.children.every((c) => isCompactData(c, seen));
}
