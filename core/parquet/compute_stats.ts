/**
 * Delta per-file statistics (Delta PROTOCOL, "Per-file Statistics") computed from the Arrow table
 * that is written to one data file.
 *
 * Rules, following what Delta Spark writes:
 * * Only the first `numIndexedCols` leaf columns (default 32, `delta.dataSkippingNumIndexedCols`;
 *   -1 means all) are indexed, counted in schema order through nested structs; an array or map
 *   column counts as one leaf.
 * * `nullCount` is written for every indexed leaf (a leaf under a null struct counts as null);
 *   `minValues` / `maxValues` for every indexed leaf except binary, boolean, array and map columns.
 * * Strings compare by UTF-8 bytes (as Parquet and Delta order them; docs/design.md, toolchain
 *   note 4) and keep a prefix of `stringPrefixLength` code points (default 32). A truncated max gets U+10FFFF appended
 *   so it stays greater than or equal to every value.
 * * Timestamps are ISO-8601 with milliseconds: min rounded down, max rounded up to the next
 *   millisecond, so both stay valid bounds; `timestamp_ntz` is written without the `Z`.
 * * NaN is ignored for min/max; a bound that is infinite is left out (JSON has no infinity).
 * * Decimals and longs are written as exact JSON numbers.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { physicalName } from "../schema/column_mapping.ts";
import { decimalParams } from "../schema/parse_schema.ts";
import type { DataType, StructField, StructType } from "../schema/types.ts";
import { formatUnscaledDecimal } from "../values/decimal_text.ts";

/** A JSON number kept as text, so that decimals keep every digit. */
export class JsonNumber {
  /** The number's JSON text, e.g. `"-12.50"`. */
  readonly text: string;
  /** Wraps the JSON text of a number. */
  constructor(text: string) {
    this.text = text;
  }
  /** The JSON text. */
  toString(): string {
    return this.text;
  }
}

/** A min or max value: JSON number (number, bigint or exact text), or string. */
export type StatsValue = number | bigint | string | JsonNumber;

/** Min or max values, nested like the schema. */
export interface StatsValues {
  [key: string]: StatsValue | StatsValues;
}

/** Null counts, nested like the schema. */
export interface NullCounts {
  [key: string]: number | NullCounts;
}

/** Delta per-file statistics of one data file. */
export interface FileStats {
  numRecords: number;
  minValues: StatsValues;
  maxValues: StatsValues;
  nullCount: NullCounts;
}

/** Options of {@linkcode computeStats}. */
export interface ComputeStatsOptions {
  /** Leaf columns to index (`delta.dataSkippingNumIndexedCols`); default 32, -1 for all. */
  numIndexedCols?: number;
  /** Code points kept of string min/max values; default 32. */
  stringPrefixLength?: number;
  /** Key the statistics by column mapping physical name (the table's columns may use either). */
  physicalNames?: boolean;
}

/** Default of `delta.dataSkippingNumIndexedCols`. */
export const DEFAULT_NUM_INDEXED_COLS = 32;
/** Default string prefix length of min/max statistics. */
export const DEFAULT_STRING_PREFIX_LENGTH = 32;

/**
 * Computes the Delta statistics of the rows in `table`, whose columns follow `schema` (as built by
 * `createArrowTable`, or read back from Parquet).
 *
 * @example
 * ```ts
 * import { createArrowTable } from "./create_arrow_table.ts";
 * import { computeStats, statsToJson } from "./compute_stats.ts";
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "integer" as const, nullable: true, metadata: {} }],
 * };
 * const table = createArrowTable(schema, [{ n: 3 }, { n: null }, { n: -1 }]);
 * const json = statsToJson(computeStats(table, schema));
 * if (json !== '{"numRecords":3,"minValues":{"n":-1},"maxValues":{"n":3},"nullCount":{"n":1}}') {
 *   throw new Error(json);
 * }
 * ```
 */
export function computeStats(
  table: arrow.Table,
  schema: StructType,
  options: ComputeStatsOptions = {},
): FileStats {
  const ctx: Ctx = {
    remaining: options.numIndexedCols ?? DEFAULT_NUM_INDEXED_COLS,
    prefixLength: options.stringPrefixLength ?? DEFAULT_STRING_PREFIX_LENGTH,
    physicalNames: options.physicalNames ?? false,
  };
  const stats: FileStats = {
    numRecords: table.numRows,
    minValues: {},
    maxValues: {},
    nullCount: {},
  };
  const columns = schema.fields.map((f) => {
    const v = table.getChild(physicalName(f)) ?? table.getChild(f.name);
    return v === null
      ? undefined
      : v.data.map((d) => ({ data: d as arrow.Data, parentValid: undefined }));
  });
  visitStruct(schema.fields, columns, ctx, stats.minValues, stats.maxValues, stats.nullCount);
  return stats;
}

/**
 * The smallest and largest value of one primitive column of a data file, and its null count, as a
 * writer or a Parquet footer knows them (NaN is never a bound; `min` and `max` are absent when no
 * value is non-null and not NaN). Values by Delta type:
 *
 * * `integer`, `short`, `byte`, `float`, `double`: number; `date`: number of days since 1970-01-01;
 * * `long`: bigint; `timestamp`, `timestamp_ntz`: bigint microseconds since 1970-01-01 (UTC);
 * * `decimal(p,s)`: bigint, the unscaled value; `string`: string;
 * * `boolean`, `binary`: no bounds (Delta statistics have none for them).
 */
export interface ColumnBounds {
  /** Rows where the column is null. */
  nullCount: number;
  /** The smallest value (strings in UTF-8 byte order). */
  min?: number | bigint | string;
  /** The largest value (strings in UTF-8 byte order). */
  max?: number | bigint | string;
}

/**
 * The Delta statistics of a data file of `numRecords` rows whose columns are the flat primitive
 * `fields`, each with its {@linkcode ColumnBounds} (`bounds[i]` for `fields[i]`), by exactly the
 * rules of {@linkcode computeStats} (indexed columns, string prefixes, timestamp rounding, no
 * infinite bounds, exact longs and decimals): the statistics of a file written by another engine
 * (DuckDB) without an Arrow table of its rows.
 *
 * @throws {TypeError} when a field is nested or has no bounds
 *
 * @example
 * ```ts
 * import { statsFromBounds, statsToJson } from "./compute_stats.ts";
 * const fields = [
 *   { name: "n", type: "integer" as const, nullable: true, metadata: {} },
 *   { name: "ts", type: "timestamp" as const, nullable: true, metadata: {} },
 * ];
 * const stats = statsFromBounds(fields, 3, [
 *   { nullCount: 1, min: -1, max: 3 },
 *   { nullCount: 0, min: 1_500n, max: 2_500n },
 * ]);
 * const json = statsToJson(stats);
 * const want = '{"numRecords":3,"minValues":{"n":-1,"ts":"1970-01-01T00:00:00.001Z"},' +
 *   '"maxValues":{"n":3,"ts":"1970-01-01T00:00:00.003Z"},"nullCount":{"n":1,"ts":0}}';
 * if (json !== want) throw new Error(json);
 * ```
 */
export function statsFromBounds(
  fields: readonly StructField[],
  numRecords: number,
  bounds: readonly ColumnBounds[],
  options: ComputeStatsOptions = {},
): FileStats {
  let remaining = options.numIndexedCols ?? DEFAULT_NUM_INDEXED_COLS;
  const prefixLength = options.stringPrefixLength ?? DEFAULT_STRING_PREFIX_LENGTH;
  const stats: FileStats = { numRecords, minValues: {}, maxValues: {}, nullCount: {} };
  for (let i = 0; i < fields.length && remaining !== 0; i++) {
    const field = fields[i]!;
    const b = bounds[i];
    if (typeof field.type !== "string") {
      throw new TypeError(`statsFromBounds takes primitive columns, ${field.name} is nested`);
    }
    if (b === undefined) throw new TypeError(`statsFromBounds: no bounds for ${field.name}`);
    if (remaining > 0) remaining--;
    const key = options.physicalNames ? physicalName(field) : field.name;
    stats.nullCount[key] = b.nullCount;
    const lo = b.min === undefined
      ? undefined
      : formatBound(field.type, "min", b.min, prefixLength);
    const hi = b.max === undefined
      ? undefined
      : formatBound(field.type, "max", b.max, prefixLength);
    if (lo !== undefined) stats.minValues[key] = lo;
    if (hi !== undefined) stats.maxValues[key] = hi;
  }
  return stats;
}

/** A bound of a primitive column (see {@linkcode ColumnBounds}) as `computeStats` writes it. */
function formatBound(
  type: string,
  which: "min" | "max",
  v: number | bigint | string,
  prefixLength: number,
): StatsValue | undefined {
  switch (type) {
    case "binary":
    case "boolean":
      return undefined;
    case "string":
      return which === "min"
        ? truncateMin(String(v), prefixLength)
        : truncateMax(String(v), prefixLength);
    case "long": {
      const n = BigInt(v);
      return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n;
    }
    case "timestamp":
    case "timestamp_ntz": {
      const us = BigInt(v);
      const ms = which === "min" ? floorDiv(us, 1000n) : -floorDiv(-us, 1000n);
      return formatMillis(ms, type === "timestamp");
    }
    case "date":
      return formatDate(Number(v));
    case "integer":
    case "short":
    case "byte":
    case "float":
    case "double":
      return Number.isFinite(v) ? Number(v) : undefined;
  }
  const d = decimalParams(type);
  return d === undefined ? undefined : formatDecimal(BigInt(v), d.scale);
}

interface Ctx {
  remaining: number;
  prefixLength: number;
  physicalNames: boolean;
}

/** One chunk of a column, with the rows where an enclosing struct is null (0) if any. */
interface Chunk {
  data: arrow.Data;
  parentValid: Uint8Array | undefined;
}

function visitStruct(
  fields: readonly StructField[],
  columns: readonly (Chunk[] | undefined)[],
  ctx: Ctx,
  min: StatsValues,
  max: StatsValues,
  nulls: NullCounts,
): void {
  for (let i = 0; i < fields.length; i++) {
    if (ctx.remaining === 0) return;
    const field = fields[i]!;
    const key = ctx.physicalNames ? physicalName(field) : field.name;
    const chunks = columns[i];
    if (typeof field.type !== "string" && field.type.type === "struct") {
      const childFields = field.type.fields;
      const childColumns = childFields.map((f, c) =>
        chunks === undefined ? undefined : chunks.map((ch) => structChild(ch, f, c))
      );
      const cMin: StatsValues = {};
      const cMax: StatsValues = {};
      const cNulls: NullCounts = {};
      visitStruct(childFields, childColumns, ctx, cMin, cMax, cNulls);
      if (Object.keys(cMin).length > 0) min[key] = cMin;
      if (Object.keys(cMax).length > 0) max[key] = cMax;
      if (Object.keys(cNulls).length > 0) nulls[key] = cNulls;
      continue;
    }
    if (ctx.remaining > 0) ctx.remaining--;
    if (chunks === undefined) continue;
    const leaf = leafStats(field.type, chunks, ctx);
    nulls[key] = leaf.nullCount;
    if (leaf.min !== undefined) min[key] = leaf.min;
    if (leaf.max !== undefined) max[key] = leaf.max;
  }
}

function structChild(chunk: Chunk, field: StructField, index: number): Chunk {
  const { data } = chunk;
  const type = data.type as arrow.Struct;
  let c = type.children.findIndex((f) => f.name === physicalName(field));
  if (c < 0) c = type.children.findIndex((f) => f.name === field.name);
  if (c < 0) c = index;
  const n = data.length;
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) valid[i] = isValidAt(chunk, i) ? 1 : 0;
  return { data: data.children[c]!, parentValid: valid };
}

function isValidAt(chunk: Chunk, i: number): boolean {
  if (chunk.parentValid !== undefined && chunk.parentValid[i] === 0) return false;
  const { data } = chunk;
  const bitmap = data.nullBitmap;
  if (bitmap === undefined || bitmap.length === 0) return true;
  const bit = data.offset + i;
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

interface LeafStats {
  nullCount: number;
  min?: StatsValue;
  max?: StatsValue;
}

function leafStats(type: DataType, chunks: readonly Chunk[], ctx: Ctx): LeafStats {
  if (typeof type !== "string" || type === "binary" || type === "boolean") {
    return { nullCount: countNulls(chunks) };
  }
  switch (type) {
    case "string":
      return stringStats(chunks, ctx.prefixLength);
    case "long":
      return bigintStats(
        chunks,
        (v) => (v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v),
        (v) => v,
      );
    case "timestamp":
    case "timestamp_ntz": {
      const z = type === "timestamp";
      // Values are in the Arrow column's unit (microseconds for our files; a foreign file may hold
      // seconds, milliseconds or nanoseconds, e.g. INT96 read back as nanoseconds).
      const unit = (chunks[0]?.data.type as arrow.Timestamp | undefined)?.unit ?? 2;
      const perMs = [1n, 1n, 1000n, 1_000_000n][unit] ?? 1000n;
      const toMs = unit === 0 ? 1000n : 1n;
      return bigintStats(
        chunks,
        (v) => formatMillis(floorDiv(v, perMs) * toMs, z),
        (v) => formatMillis(-floorDiv(-v, perMs) * toMs, z),
      );
    }
    case "date":
      return numberStats(chunks, formatDate);
    case "integer":
    case "short":
    case "byte":
    case "float":
    case "double":
      return numberStats(chunks, (v) => (Number.isFinite(v) ? v : undefined));
    default: {
      const d = decimalParams(type);
      if (d === undefined) return { nullCount: countNulls(chunks) };
      return decimalStats(chunks, d.scale);
    }
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function countNulls(chunks: readonly Chunk[]): number {
  let nulls = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.data.length; i++) if (!isValidAt(chunk, i)) nulls++;
  }
  return nulls;
}

function numberStats(
  chunks: readonly Chunk[],
  format: (v: number) => StatsValue | undefined,
): LeafStats {
  let nulls = 0;
  let min = Infinity;
  let max = -Infinity;
  let seen = false;
  for (const chunk of chunks) {
    const values = chunk.data.values as ArrayLike<number>;
    for (let i = 0; i < chunk.data.length; i++) {
      if (!isValidAt(chunk, i)) {
        nulls++;
        continue;
      }
      const v = values[i]!;
      if (Number.isNaN(v)) continue;
      seen = true;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return withBounds(nulls, seen ? format(min) : undefined, seen ? format(max) : undefined);
}

function bigintStats(
  chunks: readonly Chunk[],
  formatMin: (v: bigint) => StatsValue | undefined,
  formatMax: (v: bigint) => StatsValue | undefined,
): LeafStats {
  let nulls = 0;
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const chunk of chunks) {
    const values = chunk.data.values as BigInt64Array;
    for (let i = 0; i < chunk.data.length; i++) {
      if (!isValidAt(chunk, i)) {
        nulls++;
        continue;
      }
      const v = values[i]!;
      if (min === undefined || v < min) min = v;
      if (max === undefined || v > max) max = v;
    }
  }
  return withBounds(
    nulls,
    min === undefined ? undefined : formatMin(min),
    max === undefined ? undefined : formatMax(max),
  );
}

function decimalStats(chunks: readonly Chunk[], scale: number): LeafStats {
  let nulls = 0;
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const chunk of chunks) {
    const words = chunk.data.values as Uint32Array;
    const stride = (chunk.data.type as arrow.Decimal).bitWidth / 32;
    for (let i = 0; i < chunk.data.length; i++) {
      if (!isValidAt(chunk, i)) {
        nulls++;
        continue;
      }
      let v = 0n;
      for (let w = stride - 1; w >= 0; w--) v = (v << 32n) | BigInt(words[i * stride + w]!);
      v = BigInt.asIntN(stride * 32, v);
      if (min === undefined || v < min) min = v;
      if (max === undefined || v > max) max = v;
    }
  }
  return withBounds(
    nulls,
    min === undefined ? undefined : formatDecimal(min, scale),
    max === undefined ? undefined : formatDecimal(max, scale),
  );
}

const decoder = new TextDecoder();

function stringStats(chunks: readonly Chunk[], prefixLength: number): LeafStats {
  let nulls = 0;
  let min: Uint8Array | undefined;
  let max: Uint8Array | undefined;
  for (const chunk of chunks) {
    const offsets = chunk.data.valueOffsets as Int32Array | BigInt64Array;
    const bytes = chunk.data.values as Uint8Array;
    const wide = offsets instanceof BigInt64Array;
    for (let i = 0; i < chunk.data.length; i++) {
      if (!isValidAt(chunk, i)) {
        nulls++;
        continue;
      }
      const start = wide ? Number(offsets[i]) : (offsets[i] as number);
      const end = wide ? Number(offsets[i + 1]) : (offsets[i + 1] as number);
      const v = bytes.subarray(start, end);
      if (min === undefined || compareBytes(v, min) < 0) min = v;
      if (max === undefined || compareBytes(v, max) > 0) max = v;
    }
  }
  return withBounds(
    nulls,
    min === undefined ? undefined : truncateMin(decoder.decode(min), prefixLength),
    max === undefined ? undefined : truncateMax(decoder.decode(max), prefixLength),
  );
}

function withBounds(
  nullCount: number,
  min: StatsValue | undefined,
  max: StatsValue | undefined,
): LeafStats {
  const s: LeafStats = { nullCount };
  if (min !== undefined) s.min = min;
  if (max !== undefined) s.max = max;
  return s;
}

/** Compares byte strings lexicographically as unsigned bytes (the UTF-8 order of strings). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const MAX_CODE_POINT = "\u{10FFFF}";

/**
 * The min bound of a string statistic: its first `prefixLength` code points (a prefix never sorts
 * after the string).
 */
export function truncateMin(s: string, prefixLength: number): string {
  const cps = Array.from(s);
  return cps.length <= prefixLength ? s : cps.slice(0, prefixLength).join("");
}

/**
 * The max bound of a string statistic: its first `prefixLength` code points followed by U+10FFFF,
 * which sorts after any continuation, or the string itself when it is short enough. Code points
 * U+10FFFF right after the prefix are kept, because the appended one would not exceed them.
 */
export function truncateMax(s: string, prefixLength: number): string {
  const cps = Array.from(s);
  if (cps.length <= prefixLength) return s;
  let keep = prefixLength;
  while (keep < cps.length && cps[keep] === MAX_CODE_POINT) keep++;
  if (keep === cps.length) return s;
  return cps.slice(0, keep).join("") + MAX_CODE_POINT;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

const MS_MAX = 8_640_000_000_000_000n;

function formatMillis(ms: bigint, utc: boolean): string | undefined {
  if (ms > MS_MAX || ms < -MS_MAX) return undefined;
  const iso = new Date(Number(ms)).toISOString();
  return utc ? iso : iso.slice(0, -1);
}

function formatDate(days: number): string | undefined {
  const ms = days * 86_400_000;
  if (Math.abs(ms) > 8.64e15) return undefined;
  return new Date(ms).toISOString().split("T")[0];
}

/** Formats an unscaled decimal as exact JSON number text, e.g. (-1250n, 2) -> "-12.50". */
export function formatDecimal(unscaled: bigint, scale: number): JsonNumber {
  return new JsonNumber(formatUnscaledDecimal(unscaled, scale));
}

/**
 * Serializes statistics to the JSON of an `add` action's `stats` field. Big integers and decimals
 * are written as exact JSON numbers.
 *
 * @example
 * ```ts
 * import { JsonNumber, statsToJson } from "./compute_stats.ts";
 * const json = statsToJson({
 *   numRecords: 1,
 *   minValues: { id: 9007199254740993n, d: new JsonNumber("1.50") },
 *   maxValues: { id: 9007199254740993n, d: new JsonNumber("1.50") },
 *   nullCount: { id: 0, d: 0 },
 * });
 * if (!json.includes('"minValues":{"id":9007199254740993,"d":1.50}')) throw new Error(json);
 * ```
 */
export function statsToJson(stats: FileStats): string {
  return `{"numRecords":${stats.numRecords},"minValues":${toJson(stats.minValues)},"maxValues":${
    toJson(stats.maxValues)
  },"nullCount":${toJson(stats.nullCount)}}`;
}

function toJson(v: StatsValue | StatsValues | NullCounts): string {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof JsonNumber) return v.text;
  if (typeof v !== "object") return JSON.stringify(v);
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) parts.push(`${JSON.stringify(k)}:${toJson(x)}`);
  return `{${parts.join(",")}}`;
}
