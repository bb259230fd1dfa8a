/**
 * Record batches of one flat schema as one record batch: each column's buffers copied end to end
 * into one exactly sized buffer (validity bits shifted into place, string and binary offsets
 * rebased).
 *
 * Why: the edge seals a batch for the runner from the record batches of many requests, one per
 * request. Written as an Arrow IPC stream they are one message each, and Arrow JS's writer spends
 * most of its time per message (metadata, visitors, padding), not per byte: 100 messages of 100
 * rows cost it several times one message of 10,000. One copy into a single batch is cheaper than the
 * difference, and the runner then decodes one message too.
 *
 * Only flat batches: every column a boolean, number, date, timestamp, decimal, string or binary,
 * with no offset into its buffers (what the edge's converter builds). For anything else (nested
 * columns, dictionaries, sliced data) it returns `undefined` and the caller writes the batches as
 * they are.
 *
 * @module
 */
import * as arrow from "apache-arrow";

// deno-lint-ignore no-explicit-any
type AnyProps = any;

/** A typed array of the kinds Arrow JS uses for fixed-width columns. */
type FixedWidthValues = ArrayLike<number | bigint> & {
  set(a: ArrayLike<number | bigint>, offset?: number): void;
  subarray(begin: number, end?: number): ArrayLike<number | bigint>;
};

/** Appends `count` bits of `src` (from bit 0) to `dst` at bit `at`; `dst` starts zeroed. */
function appendBits(dst: Uint8Array, at: number, src: Uint8Array, count: number): void {
  if (count === 0) return;
  const shift = at & 7;
  const first = at >> 3;
  const bytes = (count + 7) >> 3;
  const lastMask = (count & 7) === 0 ? 0xff : (1 << (count & 7)) - 1;
  if (shift === 0) {
    dst.set(src.subarray(0, bytes), first);
    dst[first + bytes - 1]! &= lastMask;
    return;
  }
  for (let i = 0; i < bytes; i++) {
    const b = i === bytes - 1 ? src[i]! & lastMask : src[i]!;
    dst[first + i]! |= (b << shift) & 0xff;
    const carry = b >> (8 - shift);
    if (carry !== 0) dst[first + i + 1]! |= carry;
  }
}

/** Sets `count` bits of `dst` from bit `at` (a batch without a validity bitmap: all valid). */
function setBits(dst: Uint8Array, at: number, count: number): void {
  for (let i = at; i < at + count; i++) dst[i >> 3]! |= 1 << (i & 7);
}

function isFlat(type: arrow.DataType): boolean {
  switch (type.typeId) {
    case arrow.Type.Bool:
    case arrow.Type.Int:
    case arrow.Type.Float:
    case arrow.Type.Date:
    case arrow.Type.Timestamp:
    case arrow.Type.Decimal:
    case arrow.Type.Utf8:
    case arrow.Type.Binary:
      return true;
    default:
      return false;
  }
}

/** One column's `parts` (one per batch, `length` rows in all) as one column. */
function concatColumn(parts: arrow.Data[], length: number): arrow.Data {
  const type = parts[0]!.type;
  let nullCount = 0;
  for (const p of parts) nullCount += p.nullCount;
  let nullBitmap: Uint8Array | undefined;
  if (nullCount > 0) {
    nullBitmap = new Uint8Array((length + 7) >> 3);
    let at = 0;
    for (const p of parts) {
      if (p.nullCount === 0) setBits(nullBitmap, at, p.length);
      else appendBits(nullBitmap, at, p.nullBitmap!, p.length);
      at += p.length;
    }
  }
  const props: Record<string, unknown> = { type, length, nullCount, nullBitmap };
  switch (type.typeId) {
    case arrow.Type.Bool: {
      const bits = new Uint8Array((length + 7) >> 3);
      let at = 0;
      for (const p of parts) {
        appendBits(bits, at, p.values as Uint8Array, p.length);
        at += p.length;
      }
      props.data = bits;
      break;
    }
    case arrow.Type.Utf8:
    case arrow.Type.Binary: {
      let bytes = 0;
      for (const p of parts) bytes += p.valueOffsets[p.length]! - p.valueOffsets[0]!;
      const offsets = new Int32Array(length + 1);
      const data = new Uint8Array(bytes);
      let row = 0, byte = 0;
      for (const p of parts) {
        const o = p.valueOffsets as Int32Array;
        const start = o[0]!, end = o[p.length]!;
        data.set((p.values as Uint8Array).subarray(start, end), byte);
        const delta = byte - start;
        for (let i = 1; i <= p.length; i++) offsets[row + i] = o[i]! + delta;
        row += p.length;
        byte += end - start;
      }
      props.valueOffsets = offsets;
      props.data = data;
      break;
    }
    default: {
      const stride = parts[0]!.stride;
      const ctor = (parts[0]!.values as object).constructor as new (n: number) => FixedWidthValues;
      const values = new ctor(length * stride);
      let at = 0;
      for (const p of parts) {
        values.set((p.values as FixedWidthValues).subarray(0, p.length * stride), at);
        at += p.length * stride;
      }
      props.data = values;
    }
  }
  return arrow.makeData(props as AnyProps) as arrow.Data;
}

/**
 * One record batch holding the rows of `batches` in order, or `undefined` when they are not all
 * flat, unsliced batches of `schema` (then the caller writes them as they are).
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { concatFlatBatches } from "./concat_flat_batches.ts";
 * const a = new arrow.Table({ n: arrow.vectorFromArray([1, 2], new arrow.Int32()) });
 * const b = new arrow.Table({ n: arrow.vectorFromArray([3], new arrow.Int32()) });
 * const one = concatFlatBatches(a.schema, [...a.batches, ...b.batches]);
 * if (one?.numRows !== 3 || one.getChild("n")?.get(2) !== 3) throw new Error("unexpected");
 * ```
 */
export function concatFlatBatches(
  schema: arrow.Schema,
  batches: readonly arrow.RecordBatch[],
): arrow.RecordBatch | undefined {
  if (batches.length === 0) return undefined;
  if (!schema.fields.every((f) => isFlat(f.type))) return undefined;
  let length = 0;
  for (const b of batches) {
    const fields = b.schema.fields;
    if (fields.length !== schema.fields.length || b.data.offset !== 0) return undefined;
    for (let k = 0; k < fields.length; k++) {
      const c = b.data.children[k]!;
      if (!arrow.util.compareTypes(fields[k]!.type, schema.fields[k]!.type)) return undefined;
      if (c.offset !== 0 || c.dictionary !== undefined || c.length !== b.numRows) return undefined;
    }
    length += b.numRows;
  }
  if (batches.length === 1) return batches[0];
  const children = schema.fields.map((_, k) =>
    concatColumn(batches.map((b) => b.data.children[k]!), length)
  );
  const struct = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(schema, struct);
}
