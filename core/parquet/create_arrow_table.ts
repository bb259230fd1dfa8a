/**
 * A schema-driven builder of Arrow tables from plain JavaScript rows. It writes typed arrays,
 * offsets and validity bitmaps directly: 5-7x faster than `tableFromJSON` or per-value builders,
 * and nulls stay nulls instead of becoming 0 (docs/design.md, toolchain note 2).
 *
 * Accepted values per Delta type (`null` or `undefined` is a null):
 *
 * | Delta type | JavaScript value |
 * |---|---|
 * | string | string |
 * | long | bigint, or a safe-integer number |
 * | integer, short, byte | integer number in range |
 * | float, double | number |
 * | boolean | boolean |
 * | binary | Uint8Array |
 * | date | days since epoch (number), "YYYY-MM-DD", or a Date (its UTC day) |
 * | timestamp, timestamp_ntz | Date, epoch microseconds (bigint or integer number), or an ISO-8601 string |
 * | decimal(p,s) | decimal string ("12.30"), number, or bigint holding the unscaled value |
 * | struct | object keyed by logical field name |
 * | array | array |
 * | map | Map, array of [key, value] pairs, or a plain object |
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { InvalidArgumentError } from "../errors.ts";
import { decimalParams } from "../schema/parse_schema.ts";
import { deltaSchemaToArrow, deltaTypeToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { DataType, StructField, StructType } from "../schema/types.ts";

/** Options of {@linkcode createArrowTable}. */
export interface CreateArrowTableOptions {
  /** Name the columns by their column mapping physical names (rows stay keyed by logical name). */
  physicalNames?: boolean;
}

/**
 * Builds an Arrow table with the Arrow form of `schema` (see `deltaSchemaToArrow`) from rows keyed
 * by logical field name. A missing key is a null.
 *
 * @throws {InvalidArgumentError} when a value does not fit its type, or is null in a non-nullable
 * field.
 *
 * @example
 * ```ts
 * import { createArrowTable } from "./create_arrow_table.ts";
 * const table = createArrowTable(
 *   {
 *     type: "struct",
 *     fields: [
 *       { name: "id", type: "long", nullable: false, metadata: {} },
 *       { name: "name", type: "string", nullable: true, metadata: {} },
 *     ],
 *   },
 *   [{ id: 1n, name: "a" }, { id: 2, name: null }],
 * );
 * if (table.numRows !== 2 || table.getChild("name")?.get(1) !== null) throw new Error("unexpected");
 * ```
 */
export function createArrowTable(
  schema: StructType,
  rows: readonly Record<string, unknown>[],
  options: CreateArrowTableOptions = {},
): arrow.Table {
  const arrowSchema = deltaSchemaToArrow(schema, options);
  const n = rows.length;
  const children = schema.fields.map((field, i) => {
    const values = new Array<unknown>(n);
    const name = field.name;
    for (let r = 0; r < n; r++) values[r] = rows[r]![name];
    return buildData(field, arrowSchema.fields[i]!.type, values, undefined, field.name, options);
  });
  const data = arrow.makeData({
    type: new arrow.Struct(arrowSchema.fields),
    length: n,
    nullCount: 0,
    children,
  });
  return new arrow.Table([new arrow.RecordBatch(arrowSchema, data)]);
}

/** Validity of a column being built: bitmap plus null count. */
interface Validity {
  bitmap: Uint8Array;
  nullCount: number;
}

/**
 * Computes the validity bitmap of `values`. A null where the field is not nullable is an error,
 * unless the enclosing struct is null in that row (`parentValid[i] === 0`).
 */
function validityOf(
  values: ArrayLike<unknown>,
  nullable: boolean,
  parentValid: Uint8Array | undefined,
  where: string,
): Validity {
  const n = values.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined || (parentValid !== undefined && parentValid[i] === 0)) {
      if (!nullable && (parentValid === undefined || parentValid[i] === 1)) {
        throw new InvalidArgumentError(
          `Cannot build column ${where}: row ${i} is null but the field is not nullable`,
        );
      }
      nullCount++;
    } else {
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
  }
  return { bitmap: nullCount === 0 ? new Uint8Array(0) : bitmap, nullCount };
}

function isValid(v: Validity, i: number): boolean {
  return v.nullCount === 0 || (v.bitmap[i >> 3]! & (1 << (i & 7))) !== 0;
}

function bad(where: string, row: number, what: string, v: unknown): never {
  const shown = typeof v === "bigint" ? `${v}n` : typeof v === "string" ? JSON.stringify(v) : v;
  throw new InvalidArgumentError(
    `Cannot build column ${where}: row ${row} is not ${what} (got ${String(shown)})`,
  );
}

function buildData(
  field: Pick<StructField, "type" | "nullable">,
  arrowType: arrow.DataType,
  values: ArrayLike<unknown>,
  parentValid: Uint8Array | undefined,
  where: string,
  options: CreateArrowTableOptions,
): arrow.Data {
  const type = field.type;
  const validity = validityOf(values, field.nullable, parentValid, where);
  const n = values.length;
  const base = {
    type: arrowType,
    length: n,
    nullCount: validity.nullCount,
    nullBitmap: validity.bitmap,
  };
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct":
        return buildStruct(type, arrowType as arrow.Struct, values, validity, where, options);
      case "array":
        return buildList(
          type.elementType,
          type.containsNull,
          arrowType as arrow.List,
          values,
          validity,
          where,
          options,
        );
      case "map":
        return buildMap(type, arrowType as arrow.Map_, values, validity, where, options);
    }
  }
  switch (type) {
    case "string":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Utf8,
        ...encodeStrings(values, validity, where),
      });
    case "binary":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Binary,
        ...encodeBinaries(values, validity, where),
      });
    case "long":
    case "timestamp":
    case "timestamp_ntz":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Int64,
        data: encodeInt64(values, validity, where, type === "long" ? toLong : toMicros),
      });
    case "integer":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Int32,
        data: encodeInts(new Int32Array(n), values, validity, where, -2147483648, 2147483647),
      });
    case "short":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Int16,
        data: encodeInts(new Int16Array(n), values, validity, where, -32768, 32767),
      });
    case "byte":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Int8,
        data: encodeInts(new Int8Array(n), values, validity, where, -128, 127),
      });
    case "float":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Float32,
        data: encodeFloats(new Float32Array(n), values, validity, where),
      });
    case "double":
      return arrow.makeData({
        ...base,
        type: arrowType as arrow.Float64,
        data: encodeFloats(new Float64Array(n), values, validity, where),
      });
    case "boolean": {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) {
        if (!isValid(validity, i)) continue;
        const v = values[i];
        if (typeof v !== "boolean") bad(where, i, "a boolean", v);
        if (v) bits[i >> 3]! |= 1 << (i & 7);
      }
      return arrow.makeData({ ...base, type: arrowType as arrow.Bool, data: bits });
    }
    case "date": {
      const days = new Int32Array(n);
      for (let i = 0; i < n; i++) if (isValid(validity, i)) days[i] = toDays(values[i], where, i);
      return arrow.makeData({ ...base, type: arrowType as arrow.DateDay, data: days });
    }
    default: {
      const d = decimalParams(type);
      if (d === undefined) {
        throw new InvalidArgumentError(`Cannot build column ${where}: unknown type ${type}`);
      }
      const words = new Uint32Array(n * 4);
      const limit = 10n ** BigInt(d.precision);
      for (let i = 0; i < n; i++) {
        if (!isValid(validity, i)) continue;
        const unscaled = toUnscaled(values[i], d.scale, where, i);
        if (unscaled >= limit || unscaled <= -limit) {
          bad(where, i, `within decimal(${d.precision},${d.scale})`, values[i]);
        }
        let x = BigInt.asUintN(128, unscaled);
        for (let w = 0; w < 4; w++) {
          words[i * 4 + w] = Number(x & 0xffffffffn);
          x >>= 32n;
        }
      }
      return arrow.makeData({ ...base, type: arrowType as arrow.Decimal, data: words });
    }
  }
}

function buildStruct(
  type: StructType,
  arrowType: arrow.Struct,
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
  options: CreateArrowTableOptions,
): arrow.Data {
  const n = values.length;
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!isValid(validity, i)) continue;
    const v = values[i];
    if (typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array) {
      bad(where, i, "an object", v);
    }
    valid[i] = 1;
  }
  const children = type.fields.map((f, c) => {
    const child = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      child[i] = valid[i] ? (values[i] as Record<string, unknown>)[f.name] : null;
    }
    return buildData(f, arrowType.children[c]!.type, child, valid, `${where}.${f.name}`, options);
  });
  return arrow.makeData({
    type: arrowType,
    length: n,
    nullCount: validity.nullCount,
    nullBitmap: validity.bitmap,
    children,
  });
}

function buildList(
  elementType: DataType,
  containsNull: boolean,
  arrowType: arrow.List,
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
  options: CreateArrowTableOptions,
): arrow.Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const flat: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (isValid(validity, i)) {
      const v = values[i];
      if (!Array.isArray(v)) bad(where, i, "an array", v);
      for (const e of v) flat.push(e);
    }
    offsets[i + 1] = flat.length;
  }
  const child = buildData(
    { type: elementType, nullable: containsNull },
    arrowType.children[0]!.type,
    flat,
    undefined,
    `${where}.element`,
    options,
  );
  return arrow.makeData({
    type: arrowType,
    length: n,
    nullCount: validity.nullCount,
    nullBitmap: validity.bitmap,
    valueOffsets: offsets,
    child,
  });
}

function buildMap(
  type: { keyType: DataType; valueType: DataType; valueContainsNull: boolean },
  arrowType: arrow.Map_,
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
  options: CreateArrowTableOptions,
): arrow.Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const keys: unknown[] = [];
  const vals: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (isValid(validity, i)) {
      const v = values[i];
      let entries: Iterable<unknown>;
      if (v instanceof Map) entries = v.entries();
      else if (Array.isArray(v)) entries = v;
      else if (typeof v === "object" && v !== null) entries = Object.entries(v);
      else bad(where, i, "a Map", v);
      for (const e of entries) {
        if (!Array.isArray(e) || e.length !== 2) bad(where, i, "a list of [key, value] pairs", v);
        keys.push(e[0]);
        vals.push(e[1]);
      }
    }
    offsets[i + 1] = keys.length;
  }
  const entriesType = arrowType.children[0]!.type as arrow.Struct;
  const keyData = buildData(
    { type: type.keyType, nullable: false },
    entriesType.children[0]!.type,
    keys,
    undefined,
    `${where}.key`,
    options,
  );
  const valueData = buildData(
    { type: type.valueType, nullable: type.valueContainsNull },
    entriesType.children[1]!.type,
    vals,
    undefined,
    `${where}.value`,
    options,
  );
  const child = arrow.makeData({
    type: entriesType,
    length: keys.length,
    nullCount: 0,
    children: [keyData, valueData],
  });
  return arrow.makeData({
    type: arrowType,
    length: n,
    nullCount: validity.nullCount,
    nullBitmap: validity.bitmap,
    valueOffsets: offsets,
    child,
  });
}

const encoder = new TextEncoder();

/** UTF-8 encodes strings into one buffer; ASCII is copied inline, the rest via `encodeInto`. */
function encodeStrings(
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
): { valueOffsets: Int32Array; data: Uint8Array } {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let buf = new Uint8Array(Math.max(64, n * 16));
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (isValid(validity, i)) {
      const s = values[i];
      if (typeof s !== "string") bad(where, i, "a string", s);
      const len = s.length;
      if (pos + len * 3 > buf.length) buf = grow(buf, pos + len * 3);
      let j = 0;
      for (; j < len; j++) {
        const c = s.charCodeAt(j);
        if (c >= 0x80) break;
        buf[pos + j] = c;
      }
      pos += j === len ? len : encoder.encodeInto(s, buf.subarray(pos)).written;
      if (pos > 0x7fffffff) {
        throw new InvalidArgumentError(
          `Cannot build column ${where}: more than 2 GiB of string data`,
        );
      }
    }
    offsets[i + 1] = pos;
  }
  return { valueOffsets: offsets, data: buf.subarray(0, pos) };
}

function encodeBinaries(
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
): { valueOffsets: Int32Array; data: Uint8Array } {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let buf = new Uint8Array(Math.max(64, n * 16));
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (isValid(validity, i)) {
      const b = values[i];
      if (!(b instanceof Uint8Array)) bad(where, i, "a Uint8Array", b);
      if (pos + b.length > buf.length) buf = grow(buf, pos + b.length);
      buf.set(b, pos);
      pos += b.length;
      if (pos > 0x7fffffff) {
        throw new InvalidArgumentError(
          `Cannot build column ${where}: more than 2 GiB of binary data`,
        );
      }
    }
    offsets[i + 1] = pos;
  }
  return { valueOffsets: offsets, data: buf.subarray(0, pos) };
}

function grow(buf: Uint8Array, needed: number): Uint8Array<ArrayBuffer> {
  const next = new Uint8Array(Math.max(needed, buf.length * 2));
  next.set(buf);
  return next;
}

function encodeInts<T extends Int8Array | Int16Array | Int32Array>(
  out: T,
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
  min: number,
  max: number,
): T {
  for (let i = 0; i < out.length; i++) {
    if (!isValid(validity, i)) continue;
    const v = values[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      bad(where, i, `an integer in [${min}, ${max}]`, v);
    }
    out[i] = v;
  }
  return out;
}

function encodeFloats<T extends Float32Array | Float64Array>(
  out: T,
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
): T {
  for (let i = 0; i < out.length; i++) {
    if (!isValid(validity, i)) continue;
    const v = values[i];
    if (typeof v !== "number") bad(where, i, "a number", v);
    out[i] = v;
  }
  return out;
}

const TWO_32 = 4294967296;

/**
 * Fills 64-bit integers. Safe-integer numbers are written as two 32-bit words without creating a
 * bigint per value (the common case for timestamps from a Date).
 */
function encodeInt64(
  values: ArrayLike<unknown>,
  validity: Validity,
  where: string,
  convert: (v: unknown, where: string, row: number) => number | bigint,
): BigInt64Array {
  const n = values.length;
  const out = new BigInt64Array(n);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    if (!isValid(validity, i)) continue;
    const v = convert(values[i], where, i);
    if (typeof v === "bigint") {
      out[i] = v;
    } else {
      const hi = Math.floor(v / TWO_32);
      words[2 * i] = v - hi * TWO_32;
      words[2 * i + 1] = hi >>> 0;
    }
  }
  return out;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toLong(v: unknown, where: string, row: number): number | bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint" && v >= INT64_MIN && v <= INT64_MAX) return v;
  bad(where, row, "a 64-bit integer (bigint or safe-integer number)", v);
}

function toMicros(v: unknown, where: string, row: number): number | bigint {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) bad(where, row, "a valid Date", v);
    const micros = ms * 1000;
    return Number.isSafeInteger(micros) ? micros : BigInt(ms) * 1000n;
  }
  if (typeof v === "number" || typeof v === "bigint") return toLong(v, where, row);
  if (typeof v === "string") {
    const micros = parseTimestampMicros(v);
    if (micros !== undefined) return micros;
  }
  bad(where, row, "a timestamp (Date, epoch microseconds or ISO-8601 string)", v);
}

const TS_RE =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an ISO-8601 timestamp to epoch microseconds, keeping sub-millisecond digits. A string
 * without a zone is read as UTC (the wall clock of a `timestamp_ntz`).
 */
export function parseTimestampMicros(s: string): bigint | undefined {
  const m = TS_RE.exec(s.trim());
  if (m === null) return undefined;
  const time = m[2] === undefined ? "00:00:00" : m[2].length === 5 ? `${m[2]}:00` : m[2];
  let zone = m[4] ?? "Z";
  if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${time}${zone.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[3] ?? "").padEnd(6, "0").slice(0, 6);
  return BigInt(ms) * 1000n + BigInt(frac);
}

const MS_PER_DAY = 86_400_000;
const DATE_RE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;

function toDays(v: unknown, where: string, row: number): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return Math.floor(v.getTime() / MS_PER_DAY);
  if (typeof v === "string") {
    const m = DATE_RE.exec(v);
    if (m !== null) {
      const d = new Date(0);
      d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      const days = d.getTime() / MS_PER_DAY;
      if (Number.isInteger(days) && d.getUTCDate() === Number(m[3])) return days;
    }
  }
  bad(where, row, "a date (days since epoch, YYYY-MM-DD or Date)", v);
}

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Converts a decimal value to its unscaled integer at `scale`; extra fraction digits are an error. */
function toUnscaled(v: unknown, scale: number, where: string, row: number): bigint {
  if (typeof v === "bigint") return v;
  const s = typeof v === "number" && Number.isFinite(v)
    ? String(v)
    : typeof v === "string"
    ? v.trim()
    : undefined;
  const m = s === undefined ? null : DECIMAL_RE.exec(s);
  if (m === null || (m[2] === "" && (m[3] ?? "") === "")) bad(where, row, "a decimal", v);
  let digits = (m[2] ?? "") + (m[3] ?? "");
  let exp = -(m[3] ?? "").length + Number(m[4] ?? 0) + scale;
  if (exp < 0) {
    const cut = digits.slice(digits.length + exp);
    if (/[^0]/.test(cut)) bad(where, row, `a decimal with at most ${scale} fraction digits`, v);
    digits = digits.slice(0, digits.length + exp);
    exp = 0;
  }
  const unscaled = BigInt(digits === "" ? "0" : digits) * 10n ** BigInt(exp);
  return m[1] === "-" ? -unscaled : unscaled;
}

/** Builds one Arrow column (`Data`) of a Delta type from plain values, as `createArrowTable` does. */
export function createArrowData(
  type: DataType,
  values: ArrayLike<unknown>,
  options: CreateArrowTableOptions & { nullable?: boolean } = {},
): arrow.Data {
  return buildData(
    { type, nullable: options.nullable ?? true },
    deltaTypeToArrow(type, options),
    values,
    undefined,
    "value",
    options,
  );
}
