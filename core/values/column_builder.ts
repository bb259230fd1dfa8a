/**
 * Schema-driven column builders: JavaScript values to Arrow `Data` of a Delta type, one value at a
 * time, writing typed arrays, offsets and validity bitmaps directly (strings through
 * `TextEncoder.encodeInto`). They are 5–7× faster than `tableFromJSON` or per-value Arrow builders
 * and never guess a type (docs/design.md, toolchain note 2). The edge builds client events with
 * them and `createArrowTable` library rows; what a value may be is the {@linkcode ValueReaders}'
 * answer (`value_readers.ts`), so the two differ only where JSON does.
 *
 * ```text
 *   append(v, row) ── null/undefined ──► nullable? ── yes ──► appendNull()
 *        │                                  └─ no ──► ValueError "missing required field" / "null in a non-nullable field"
 *        └── value ──► push(v): reader / type check ── reason ──► ValueError(row, path, reason)
 *                                   └── written at slot i, validity bit set
 *   finish() ──► arrow.Data, every buffer trimmed to its length
 * ```
 *
 * A null struct still appends a null to each child, so a non-nullable child may hold a null under
 * a null parent (Arrow's rule; readers look at the parent first). A missing field and `null` are the
 * same thing. Struct fields are looked up by exact name, and only among the value's own properties
 * when the name is one plain objects inherit (`constructor`, `toString`). Failing is fast: the first
 * bad value throws a {@linkcode ValueError} naming the row and the field path (`user.id`, `tags[]`,
 * `attrs.key`, `attrs.value`).
 *
 * Memory: builders grow geometrically and `finish` copies each buffer that has spare capacity, so a
 * batch owns buffers sized to its rows.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { InvalidArgumentError } from "../errors.ts";
import { decimalParams } from "../schema/parse_schema.ts";
import type { DataType, StructType } from "../schema/types.ts";
import { expected, readInteger, VALUE_READERS, type ValueReaders } from "./value_readers.ts";

/** A value that its column does not accept. */
export class ValueError extends InvalidArgumentError {
  /** Index of the row (0-based) that holds the value. */
  readonly row: number;
  /** Path of the field, e.g. `user.id`, `tags[]`, `attrs.key`; `""` for the row itself. */
  readonly field: string;
  /** What is wrong, e.g. `expected integer, got "abc"`. */
  readonly reason: string;
  /** Create the error for a row, a field path and a reason. */
  constructor(row: number, field: string, reason: string) {
    super(`Cannot convert row ${row}: ${field === "" ? "" : `field "${field}": `}${reason}`);
    this.name = "ValueError";
    this.row = row;
    this.field = field;
    this.reason = reason;
  }
}

/** What to do with the properties of an object that its struct type does not have. */
export type UnknownFields = "reject" | "drop";

/** Options of {@linkcode createColumnBuilder}. */
export interface ColumnBuilderOptions {
  /** Path of the column in errors (default `""`). */
  path?: string;
  /** Whether the column takes nulls (default true). */
  nullable?: boolean;
  /** Rows to reserve room for (default 16); builders grow past it. */
  capacity?: number;
  /** What each Delta type accepts (default {@linkcode VALUE_READERS}, the library's). */
  readers?: ValueReaders;
  /** Struct properties the type does not have: refused or ignored (default `"drop"`). */
  unknownFields?: UnknownFields;
}

/** A growing column of one Delta type. */
export interface ColumnBuilder {
  /** Values appended so far, nulls included. */
  readonly length: number;
  /**
   * Appends a value (`null` and `undefined` are a null).
   *
   * @throws {ValueError} when the column does not accept it; nothing is appended then.
   */
  append(v: unknown, row: number): void;
  /** Appends a null, also where the column is not nullable (under a null parent). */
  appendNull(): void;
  /** The Arrow data of the values appended; the builder is not used after. */
  finish(): arrow.Data;
}

/**
 * Creates the builder of a column of Delta type `type` whose Arrow form is `arrowType` (see
 * `deltaTypeToArrow`; nested field names may be physical names, values are still looked up by the
 * Delta names).
 *
 * @throws {InvalidArgumentError} for a type name that is not a Delta type.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { createColumnBuilder } from "./column_builder.ts";
 * const b = createColumnBuilder("timestamp", new arrow.TimestampMicrosecond("UTC"));
 * b.append("2024-01-01T00:00:00.000001Z", 0);
 * b.append(null, 1);
 * const v = arrow.makeVector(b.finish());
 * if (v.length !== 2 || v.nullCount !== 1) throw new Error("unexpected");
 * ```
 */
export function createColumnBuilder(
  type: DataType,
  arrowType: arrow.DataType,
  options: ColumnBuilderOptions = {},
): ColumnBuilder {
  return makeBuilder(type, arrowType, {
    path: options.path ?? "",
    nullable: options.nullable ?? true,
    capacity: Math.max(options.capacity ?? 16, 1),
    readers: options.readers ?? VALUE_READERS,
    rejectUnknown: options.unknownFields === "reject",
  });
}

/** What a builder is made with. */
interface Init {
  path: string;
  nullable: boolean;
  capacity: number;
  readers: ValueReaders;
  rejectUnknown: boolean;
}

type TypedArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array
  | Uint8Array
  | Uint32Array;

/** `array` if it spans its whole buffer, else a copy that does (drops spare capacity). */
function exact<T extends TypedArray | BigInt64Array>(array: T): T {
  if (array.byteOffset === 0 && array.byteLength === array.buffer.byteLength) return array;
  return array.slice() as T;
}

function grow<T extends TypedArray>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const ctor = array.constructor as new (n: number) => T;
  const next = new ctor(Math.max(needed, array.length * 2, 16));
  next.set(array);
  return next;
}

// deno-lint-ignore no-explicit-any
type AnyProps = any;
function data(props: Record<string, unknown>): arrow.Data {
  return arrow.makeData(props as AnyProps) as arrow.Data;
}

/** A growable column: validity bitmap plus the value storage of a subclass. */
abstract class Builder implements ColumnBuilder {
  length = 0;
  nullCount = 0;
  validity: Uint8Array;
  readonly path: string;
  readonly nullable: boolean;

  constructor(readonly type: arrow.DataType, init: Init) {
    this.path = init.path;
    this.nullable = init.nullable;
    this.validity = new Uint8Array((init.capacity >> 3) + 1);
  }

  append(v: unknown, row: number): void {
    if (v === null || v === undefined) {
      if (!this.nullable) {
        throw new ValueError(
          row,
          this.path,
          v === undefined ? "missing required field" : "null in a non-nullable field",
        );
      }
      this.appendNull();
      return;
    }
    const i = this.length;
    if ((i >> 3) >= this.validity.length) this.validity = grow(this.validity, (i >> 3) + 1);
    const reason = this.push(v, row, i);
    if (reason !== undefined) throw new ValueError(row, this.path, reason);
    this.validity[i >> 3]! |= 1 << (i & 7);
    this.length = i + 1;
  }

  appendNull(): void {
    const i = this.length;
    if ((i >> 3) >= this.validity.length) this.validity = grow(this.validity, (i >> 3) + 1);
    this.pushEmpty(i);
    this.nullCount++;
    this.length = i + 1;
  }

  /** Writes value `v` at slot `i`; returns a reason when `v` is invalid. */
  protected abstract push(v: unknown, row: number, i: number): string | undefined;
  /** Writes an empty slot `i`. */
  protected abstract pushEmpty(i: number): void;
  abstract finish(): arrow.Data;

  /** The fields every Arrow `Data` of this column has. */
  protected base(): Record<string, unknown> {
    return {
      type: this.type,
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.nullCount === 0
        ? undefined
        : exact(this.validity.subarray(0, (this.length + 7) >> 3)),
    };
  }
}

type NumberReader = (v: unknown) => number | string;
type NumberValues = Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** Fixed-width numbers: byte, short, integer, float, double, date. */
class NumberBuilder extends Builder {
  values: NumberValues;
  constructor(
    type: arrow.DataType,
    init: Init,
    make: (n: number) => NumberValues,
    readonly read: NumberReader,
  ) {
    super(type, init);
    this.values = make(init.capacity);
  }
  protected push(v: unknown, _row: number, i: number): string | undefined {
    const n = this.read(v);
    if (typeof n === "string") return n;
    if (i >= this.values.length) this.values = grow(this.values, i + 1);
    this.values[i] = n;
    return undefined;
  }
  protected pushEmpty(i: number): void {
    if (i >= this.values.length) this.values = grow(this.values, i + 1);
    this.values[i] = 0;
  }
  finish(): arrow.Data {
    return data({ ...this.base(), data: exact(this.values.subarray(0, this.length)) });
  }
}

const TWO_POW_32 = 4294967296;

/**
 * 64-bit columns (long, timestamp): stored as pairs of int32 words so that numbers skip BigInt.
 * The reader answers a number (a safe integer), a bigint, or a reason.
 */
class Int64Builder extends Builder {
  words: Int32Array;
  constructor(
    type: arrow.DataType,
    init: Init,
    readonly read: (v: unknown) => number | bigint | string,
  ) {
    super(type, init);
    this.words = new Int32Array(init.capacity * 2);
  }
  protected push(v: unknown, _row: number, i: number): string | undefined {
    const n = this.read(v);
    if (typeof n === "string") return n;
    if (typeof n === "number") this.writeNumber(i, n);
    else {
      if (2 * i + 1 >= this.words.length) this.words = grow(this.words, 2 * i + 2);
      new BigInt64Array(this.words.buffer, 0, this.words.length >> 1)[i] = n;
    }
    return undefined;
  }
  private writeNumber(i: number, n: number): void {
    if (2 * i + 1 >= this.words.length) this.words = grow(this.words, 2 * i + 2);
    const hi = Math.floor(n / TWO_POW_32);
    this.words[2 * i] = (n - hi * TWO_POW_32) | 0;
    this.words[2 * i + 1] = hi;
  }
  protected pushEmpty(i: number): void {
    this.writeNumber(i, 0);
  }
  finish(): arrow.Data {
    return data({
      ...this.base(),
      data: exact(new BigInt64Array(this.words.buffer, 0, this.length)),
    });
  }
}

/** Decimal128: four little-endian uint32 words per value, two's complement. */
class DecimalBuilder extends Builder {
  words: Uint32Array;
  private readonly readers: ValueReaders;
  constructor(
    type: arrow.DataType,
    init: Init,
    readonly precision: number,
    readonly scale: number,
  ) {
    super(type, init);
    this.words = new Uint32Array(init.capacity * 4);
    this.readers = init.readers;
  }
  protected push(v: unknown, _row: number, i: number): string | undefined {
    const unscaled = this.readers.decimal(v, this.precision, this.scale);
    if (typeof unscaled === "string") return unscaled;
    if (4 * i + 3 >= this.words.length) this.words = grow(this.words, 4 * i + 4);
    const w = this.words;
    if (typeof unscaled === "number") {
      const hi = Math.floor(unscaled / TWO_POW_32);
      w[4 * i] = unscaled - hi * TWO_POW_32;
      w[4 * i + 1] = hi >>> 0;
      w[4 * i + 2] = w[4 * i + 3] = hi < 0 ? 0xffffffff : 0;
    } else {
      let u = BigInt.asUintN(128, unscaled);
      for (let k = 0; k < 4; k++) {
        w[4 * i + k] = Number(u & 0xffffffffn);
        u >>= 32n;
      }
    }
    return undefined;
  }
  protected pushEmpty(i: number): void {
    if (4 * i + 3 >= this.words.length) this.words = grow(this.words, 4 * i + 4);
    this.words.fill(0, 4 * i, 4 * i + 4);
  }
  finish(): arrow.Data {
    return data({ ...this.base(), data: exact(this.words.subarray(0, 4 * this.length)) });
  }
}

class BoolBuilder extends Builder {
  bits: Uint8Array;
  constructor(type: arrow.DataType, init: Init) {
    super(type, init);
    this.bits = new Uint8Array((init.capacity >> 3) + 1);
  }
  protected push(v: unknown, _row: number, i: number): string | undefined {
    if (typeof v !== "boolean") return expected("boolean", v);
    if ((i >> 3) >= this.bits.length) this.bits = grow(this.bits, (i >> 3) + 1);
    if (v) this.bits[i >> 3]! |= 1 << (i & 7);
    return undefined;
  }
  protected pushEmpty(i: number): void {
    if ((i >> 3) >= this.bits.length) this.bits = grow(this.bits, (i >> 3) + 1);
  }
  finish(): arrow.Data {
    return data({ ...this.base(), data: exact(this.bits.subarray(0, (this.length + 7) >> 3)) });
  }
}

const encoder = new TextEncoder();
const OFFSET_MAX = 2147483647;

/** Utf8 and Binary: int32 offsets plus a byte buffer. */
class BytesBuilder extends Builder {
  offsets: Int32Array;
  bytes: Uint8Array;
  position = 0;
  constructor(
    type: arrow.DataType,
    init: Init,
    readonly binary: ValueReaders["binary"] | undefined,
  ) {
    super(type, init);
    this.offsets = new Int32Array(init.capacity + 1);
    this.bytes = new Uint8Array(Math.max(init.capacity * 16, 64));
  }
  protected push(v: unknown, _row: number, i: number): string | undefined {
    let written: number;
    if (this.binary !== undefined) {
      const bytes = this.binary(v);
      if (typeof bytes === "string") return bytes;
      this.reserve(bytes.length);
      this.bytes.set(bytes, this.position);
      written = bytes.length;
    } else {
      if (typeof v !== "string") return expected("string", v);
      const length = v.length;
      this.reserve(length * 3);
      // ASCII is copied inline: cheaper than a subarray and encodeInto for short strings.
      const bytes = this.bytes, at = this.position;
      let j = 0;
      for (; j < length; j++) {
        const c = v.charCodeAt(j);
        if (c >= 0x80) break;
        bytes[at + j] = c;
      }
      if (j === length) written = length;
      else {
        // A lone surrogate (JSON can spell one: `"\ud800"`) has no UTF-8 form: encodeInto would
        // store U+FFFD instead of what the caller gave.
        if (!v.isWellFormed()) {
          return "a string with a lone surrogate (invalid UTF-16) has no UTF-8 form";
        }
        written = encoder.encodeInto(v, bytes.subarray(at)).written;
      }
    }
    if (this.position + written > OFFSET_MAX) return "column exceeds 2 GiB";
    this.position += written;
    this.pushEmpty(i);
    return undefined;
  }
  private reserve(n: number): void {
    if (this.position + n > this.bytes.length) this.bytes = grow(this.bytes, this.position + n);
  }
  protected pushEmpty(i: number): void {
    if (i + 1 >= this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.offsets[i + 1] = this.position;
  }
  finish(): arrow.Data {
    return data({
      ...this.base(),
      valueOffsets: exact(this.offsets.subarray(0, this.length + 1)),
      data: exact(this.bytes.subarray(0, this.position)),
    });
  }
}

/** Field names that plain objects inherit; a lookup of them needs an own-property check. */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

interface ChildSlot {
  name: string;
  builder: Builder;
  inherited: boolean;
}

class StructBuilder extends Builder {
  readonly children: ChildSlot[];
  readonly names: Set<string>;
  readonly rejectUnknown: boolean;
  constructor(schema: StructType, type: arrow.Struct, init: Init) {
    super(type, init);
    this.rejectUnknown = init.rejectUnknown;
    this.children = schema.fields.map((f, k) => ({
      name: f.name,
      builder: makeBuilder(f.type, type.children[k]!.type, {
        ...init,
        path: init.path === "" ? f.name : `${init.path}.${f.name}`,
        nullable: f.nullable,
      }),
      inherited: INHERITED.has(f.name),
    }));
    this.names = new Set(schema.fields.map((f) => f.name));
  }
  protected push(v: unknown, row: number): string | undefined {
    if (typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) {
      return expected("an object", v);
    }
    const o = v as Record<string, unknown>;
    let seen = 0;
    for (const c of this.children) {
      const x = c.inherited && !Object.hasOwn(o, c.name) ? undefined : o[c.name];
      if (x !== undefined) seen++;
      c.builder.append(x, row);
    }
    if (this.rejectUnknown) {
      let keys = 0;
      for (const _ in o) keys++;
      if (keys > seen) {
        for (const k in o) {
          if (!this.names.has(k)) {
            throw new ValueError(row, this.path === "" ? k : `${this.path}.${k}`, "unknown field");
          }
        }
      }
    }
    return undefined;
  }
  protected pushEmpty(): void {
    for (const c of this.children) c.builder.appendNull();
  }
  finish(): arrow.Data {
    return data({ ...this.base(), children: this.children.map((c) => c.builder.finish()) });
  }
}

/** List and Map: int32 offsets into the child builders. */
abstract class NestedBuilder extends Builder {
  offsets: Int32Array;
  constructor(type: arrow.DataType, init: Init) {
    super(type, init);
    this.offsets = new Int32Array(init.capacity + 1);
  }
  /** Entries appended to the child so far. */
  protected abstract childLength(): number;
  protected pushEmpty(i: number): void {
    if (i + 1 >= this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.offsets[i + 1] = this.childLength();
  }
  protected nested(child: arrow.Data): arrow.Data {
    return data({
      ...this.base(),
      valueOffsets: exact(this.offsets.subarray(0, this.length + 1)),
      child,
    });
  }
}

class ListBuilder extends NestedBuilder {
  constructor(type: arrow.List, init: Init, readonly child: Builder) {
    super(type, init);
  }
  protected childLength(): number {
    return this.child.length;
  }
  protected push(v: unknown, row: number, i: number): string | undefined {
    if (!Array.isArray(v)) return expected("an array", v);
    for (const element of v) this.child.append(element, row);
    this.pushEmpty(i);
    return undefined;
  }
  finish(): arrow.Data {
    return this.nested(this.child.finish());
  }
}

/** Map: a Map, an array of `[key, value]` pairs (any key type), or an object (string keys). */
class MapBuilder extends NestedBuilder {
  constructor(type: arrow.Map_, init: Init, readonly keys: Builder, readonly values: Builder) {
    super(type, init);
  }
  protected childLength(): number {
    return this.keys.length;
  }
  protected push(v: unknown, row: number, i: number): string | undefined {
    if (Array.isArray(v) || v instanceof Map) {
      for (const pair of v as Iterable<unknown>) {
        if (!Array.isArray(pair) || pair.length !== 2) {
          return expected("an object or an array of [key, value] pairs", pair);
        }
        this.keys.append(pair[0], row);
        this.values.append(pair[1], row);
      }
    } else if (typeof v === "object" && !ArrayBuffer.isView(v)) {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue;
        this.keys.append(k, row);
        this.values.append(o[k], row);
      }
    } else {
      return expected("an object or an array of [key, value] pairs", v);
    }
    this.pushEmpty(i);
    return undefined;
  }
  finish(): arrow.Data {
    const entriesType = (this.type as arrow.Map_).children[0]!.type;
    return this.nested(data({
      type: entriesType,
      length: this.keys.length,
      nullCount: 0,
      children: [this.keys.finish(), this.values.finish()],
    }));
  }
}

function makeBuilder(type: DataType, arrowType: arrow.DataType, init: Init): Builder {
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct":
        return new StructBuilder(type, arrowType as arrow.Struct, init);
      case "array": {
        const listType = arrowType as arrow.List;
        const child = makeBuilder(type.elementType, listType.children[0]!.type, {
          ...init,
          path: `${init.path}[]`,
          nullable: type.containsNull,
        });
        return new ListBuilder(listType, init, child);
      }
      case "map": {
        const mapType = arrowType as arrow.Map_;
        const [k, v] = (mapType.children[0]!.type as arrow.Struct).children;
        const keys = makeBuilder(type.keyType, k!.type, {
          ...init,
          path: `${init.path}.key`,
          nullable: false,
        });
        const values = makeBuilder(type.valueType, v!.type, {
          ...init,
          path: `${init.path}.value`,
          nullable: type.valueContainsNull,
        });
        return new MapBuilder(mapType, init, keys, values);
      }
    }
  }
  const readers = init.readers;
  const numbers = (make: (n: number) => NumberValues, read: NumberReader) =>
    new NumberBuilder(arrowType, init, make, read);
  switch (type) {
    case "string":
      return new BytesBuilder(arrowType, init, undefined);
    case "binary":
      return new BytesBuilder(arrowType, init, (v) => readers.binary(v));
    case "long":
      return new Int64Builder(arrowType, init, (v) => readers.long(v));
    case "timestamp":
      return new Int64Builder(arrowType, init, (v) => readers.timestamp(v, false));
    case "timestamp_ntz":
      return new Int64Builder(arrowType, init, (v) => readers.timestamp(v, true));
    case "integer":
      return numbers((c) => new Int32Array(c), (v) => readInteger(v, "integer"));
    case "short":
      return numbers((c) => new Int16Array(c), (v) => readInteger(v, "short"));
    case "byte":
      return numbers((c) => new Int8Array(c), (v) => readInteger(v, "byte"));
    case "float":
      return numbers((c) => new Float32Array(c), (v) => readers.float(v, "float"));
    case "double":
      return numbers((c) => new Float64Array(c), (v) => readers.float(v, "double"));
    case "date":
      return numbers((c) => new Int32Array(c), (v) => readers.date(v));
    case "boolean":
      return new BoolBuilder(arrowType, init);
  }
  const d = decimalParams(type);
  if (d === undefined) {
    throw new InvalidArgumentError(`Cannot build column ${init.path}: unknown type ${type}`);
  }
  return new DecimalBuilder(arrowType, init, d.precision, d.scale);
}
