/**
 * A minimal writer of the Thrift compact protocol, the encoding of every Parquet page header and
 * footer (parquet-format, `parquet.thrift`). Only what a Parquet writer needs: structs with field
 * headers, i32/i64 as zigzag varints, binary/string with a varint length, lists, booleans folded
 * into the field header, and the stop byte.
 *
 * Compact protocol, as used here (Thrift's `TCompactProtocol` spec):
 *
 * ```
 * field header   1 byte: (id delta 1..15) << 4 | type, or type then the zigzag i16 id
 * i32, i64       zigzag varint (LEB128, 7 bits a byte, low first)
 * binary         varint length, bytes
 * list           1 byte: size << 4 | element type (size < 15), or 0xF0 | type then varint size
 * bool field     the value is the field type: 1 true, 2 false
 * bool in list   one byte: 1 true, 2 false
 * struct end     0 (stop)
 * ```
 *
 * Integers are JavaScript numbers: every i64 the Parquet writer stores (sizes, offsets, counts) is
 * a safe integer; statistics values travel as binary.
 *
 * @module
 */

/** Compact protocol element types. */
export const CT = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  STRUCT: 12,
} as const;

const encoder = new TextEncoder();

/**
 * Appends Thrift compact protocol to a growable buffer. Call `beginStruct`/`endStruct` around the
 * fields of a struct (the outermost struct too); field ids within a struct must increase.
 *
 * @example
 * ```ts
 * import { ThriftWriter } from "./thrift_compact.ts";
 * const w = new ThriftWriter();
 * w.beginStruct();
 * w.i32(1, 150); // field 1, i32 150
 * w.endStruct();
 * const bytes = w.finish();
 * // 0x15 = delta 1, type i32; 150 zigzag = 300 = varint ac 02; 0 = stop
 * if (bytes.join(",") !== "21,172,2,0") throw new Error(bytes.join(","));
 * ```
 */
export class ThriftWriter {
  #buf: Uint8Array;
  #pos = 0;
  #lastIds: number[] = [];
  #lastId = 0;

  /** Creates a writer whose buffer starts at `capacity` bytes and grows as needed. */
  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  #byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  /** Unsigned varint of a non-negative safe integer. */
  #varint(n: number): void {
    this.#ensure(10);
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#pos++] = n;
  }

  #zigzag(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`Cannot write ${n} as a Thrift integer`);
    this.#varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  #field(id: number, type: number): void {
    const delta = id - this.#lastId;
    if (delta > 0 && delta <= 15) {
      this.#byte((delta << 4) | type);
    } else {
      this.#byte(type);
      this.#zigzag(id);
    }
    this.#lastId = id;
  }

  /** Starts a struct (the outermost, or a list element); its field ids restart at 0. */
  beginStruct(): void {
    this.#lastIds.push(this.#lastId);
    this.#lastId = 0;
  }

  /** Writes the stop byte of the current struct. */
  endStruct(): void {
    this.#byte(0);
    this.#lastId = this.#lastIds.pop() ?? 0;
  }

  /** Field `id` holding a struct: call `endStruct` after its fields. */
  structField(id: number): void {
    this.#field(id, CT.STRUCT);
    this.beginStruct();
  }

  /** Field `id`, i32. */
  i32(id: number, v: number): void {
    this.#field(id, CT.I32);
    this.#zigzag(v);
  }

  /** Field `id`, i64 (a safe integer). */
  i64(id: number, v: number): void {
    this.#field(id, CT.I64);
    this.#zigzag(v);
  }

  /** Field `id`, i16. */
  i16(id: number, v: number): void {
    this.#field(id, CT.I16);
    this.#zigzag(v);
  }

  /** Field `id`, byte (i8). */
  i8(id: number, v: number): void {
    this.#field(id, CT.BYTE);
    this.#byte(v & 0xff);
  }

  /** Field `id`, bool. */
  bool(id: number, v: boolean): void {
    this.#field(id, v ? CT.TRUE : CT.FALSE);
  }

  /** Field `id`, binary. */
  binary(id: number, v: Uint8Array): void {
    this.#field(id, CT.BINARY);
    this.rawBinary(v);
  }

  /** Field `id`, UTF-8 string. */
  string(id: number, v: string): void {
    this.binary(id, encoder.encode(v));
  }

  /** Field `id`, a list of `size` elements of `elementType`; write the elements next. */
  listField(id: number, elementType: number, size: number): void {
    this.#field(id, CT.LIST);
    if (size < 15) {
      this.#byte((size << 4) | elementType);
    } else {
      this.#byte(0xf0 | elementType);
      this.#varint(size);
    }
  }

  /** A list element: zigzag i32 or i64. */
  rawInt(v: number): void {
    this.#zigzag(v);
  }

  /** A list element: bool. */
  rawBool(v: boolean): void {
    this.#byte(v ? CT.TRUE : CT.FALSE);
  }

  /** A list element (or field value): binary. */
  rawBinary(v: Uint8Array): void {
    this.#varint(v.length);
    this.#ensure(v.length);
    this.#buf.set(v, this.#pos);
    this.#pos += v.length;
  }

  /** A list element: UTF-8 string. */
  rawString(v: string): void {
    this.rawBinary(encoder.encode(v));
  }

  /** The bytes written (a view of the buffer; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}
