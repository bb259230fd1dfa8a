/**
 * Value checks of Arrow data: no null where a field says non-nullable
 * ({@linkcode validateArrowNulls}), and, about Delta rather than Arrow
 * ({@linkcode validateArrowValues}), every date and timestamp lies in 0001-01-01 .. 9999-12-31 and
 * every decimal fits its precision. Arrow holds any int32 day or
 * int64 microsecond and any 128-bit decimal; Delta readers do not. Spark reads dates and timestamps
 * of years 1 to 9999 only, a partition directory of another year (`date=10183-09-21`,
 * `date=0NaN-NaN-NaN`) makes every scan of the table fail, and a decimal beyond its precision does
 * not fit the fixed-length bytes Parquet stores it in.
 *
 * Only valid slots are judged: a slot under a null struct parent is not data. Run both after
 * `validateArrowLayout` (they read buffers the layout check vouches for).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { LakestrikeError } from "../errors.ts";
import {
  DATE_RANGE_TEXT,
  isDateDaysInRange,
  isTimestampMicrosInRange,
} from "../values/calendar.ts";

/** A value of Arrow data that no Delta reader can read back. */
export class ArrowValueError extends LakestrikeError {
  /** Path of the offending column, e.g. `user.born`, `tags[]`, `attrs.value`. */
  readonly column: string;
  /** Index of the top-level row that holds the value (0-based, within the table). */
  readonly row: number;
  /** What is wrong. */
  readonly reason: string;
  /** Create the error for a column path, a row and a reason. */
  constructor(column: string, row: number, reason: string) {
    super(
      "INVALID_ARGUMENT",
      `Cannot accept row ${row}: column ${JSON.stringify(column)}: ${reason}`,
    );
    this.name = "ArrowValueError";
    this.column = column;
    this.row = row;
    this.reason = reason;
  }
}

/**
 * Check every valid date, timestamp and decimal of every column, nested ones included.
 *
 * @throws {ArrowValueError} naming the first value out of range, its column path and its row.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { validateArrowValues } from "./validate_arrow_values.ts";
 * const days = (d: number[]) => arrow.makeVector(arrow.makeData({ type: new arrow.DateDay(), length: d.length, data: Int32Array.from(d) }));
 * validateArrowValues(new arrow.Table({ d: days([0, 2_932_896]) }));
 * let refused = false;
 * try {
 *   validateArrowValues(new arrow.Table({ d: days([2_147_483_647]) }));
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("a date past 9999-12-31 must be refused");
 * ```
 */
export function validateArrowValues(table: arrow.Table | arrow.RecordBatch): void {
  const batches = table instanceof arrow.RecordBatch ? [table] : table.batches;
  let base = 0;
  for (const batch of batches) {
    const rowOf = (i: number) => base + i;
    batch.schema.fields.forEach((f, k) => {
      checkValues(batch.data.children[k]!, f.name, rowOf, undefined);
    });
    base += batch.numRows;
  }
}

/**
 * Check that no field that `expected` declares non-nullable holds a null, nested fields included
 * (a struct child's null under a null parent is not one). Columns are matched to `expected` by
 * name (default: the table's own schema, i.e. what the data declares about itself), nested fields
 * by position; columns `expected` does not name are not checked.
 *
 * @throws {ArrowValueError} naming the first null, its column path and its row.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { validateArrowNulls } from "./validate_arrow_values.ts";
 * const table = new arrow.Table({ n: arrow.vectorFromArray([1, null], new arrow.Int32()) });
 * validateArrowNulls(table);
 * const strict = new arrow.Schema([new arrow.Field("n", new arrow.Int32(), false)]);
 * let refused = false;
 * try {
 *   validateArrowNulls(table, strict);
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("a null in a non-nullable field must be refused");
 * ```
 */
export function validateArrowNulls(
  table: arrow.Table | arrow.RecordBatch,
  expected?: arrow.Schema,
): void {
  const batches = table instanceof arrow.RecordBatch ? [table] : table.batches;
  let base = 0;
  for (const batch of batches) {
    const rowOf = (i: number) => base + i;
    const index = new Map(batch.schema.fields.map((f, k) => [f.name, k]));
    for (const f of (expected ?? batch.schema).fields) {
      const k = index.get(f.name);
      if (k === undefined) continue;
      checkNulls(batch.data.children[k]!, f.type, f.nullable, f.name, rowOf, undefined);
    }
    base += batch.numRows;
  }
}

type RowOf = (i: number) => number;

function checkNulls(
  d: arrow.Data,
  type: arrow.DataType,
  nullable: boolean,
  path: string,
  rowOf: RowOf,
  parentValid: ((i: number) => boolean) | undefined,
): void {
  const valid = parentValid === undefined
    ? (i: number) => ownValid(d, i)
    : (i: number) => ownValid(d, i) && parentValid(i);
  if (!nullable && d.nullCount > 0) {
    for (let i = 0; i < d.length; i++) {
      if (!ownValid(d, i) && (parentValid === undefined || parentValid(i))) {
        throw new ArrowValueError(path, rowOf(i), "null in a non-nullable field");
      }
    }
  }
  if (arrow.DataType.isStruct(type)) {
    type.children.forEach((f, k) =>
      checkNulls(d.children[k]!, f.type, f.nullable, `${path}.${f.name}`, rowOf, valid)
    );
  } else if (
    arrow.DataType.isList(type) || arrow.DataType.isLargeList(type) || arrow.DataType.isMap(type)
  ) {
    const offsets = d.valueOffsets as Int32Array | BigInt64Array;
    const childRowOf = (j: number) => rowOf(ownerOf(offsets, d.length, j));
    const child = d.children[0]!;
    if (arrow.DataType.isMap(type)) {
      const [k, v] = (type.children[0]!.type as arrow.Struct).children;
      checkNulls(child.children[0]!, k!.type, false, `${path}.key`, childRowOf, undefined);
      checkNulls(child.children[1]!, v!.type, v!.nullable, `${path}.value`, childRowOf, undefined);
    } else {
      const f = type.children[0]!;
      checkNulls(child, f.type, f.nullable, `${path}[]`, childRowOf, undefined);
    }
  } else if (arrow.DataType.isFixedSizeList(type)) {
    const f = type.children[0]!;
    const size = type.listSize;
    const childRowOf = (j: number) => rowOf(Math.floor(j / size));
    checkNulls(d.children[0]!, f.type, f.nullable, `${path}[]`, childRowOf, undefined);
  }
}

function ownValid(d: arrow.Data, i: number): boolean {
  const bitmap = d.nullBitmap;
  if (d.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return true;
  const bit = d.offset + i;
  return ((bitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

/** Microseconds per unit of `TimeUnit` (SECOND, MILLISECOND, MICROSECOND, NANOSECOND). */
const MICROS_PER_UNIT = [1_000_000n, 1_000n, 1n] as const;

function timestampMicros(raw: bigint, unit: arrow.TimeUnit): bigint {
  if (unit === arrow.TimeUnit.NANOSECOND) return raw / 1_000n;
  return raw * MICROS_PER_UNIT[unit];
}

/** Index of the list slot whose offsets range holds child index `j` (binary search). */
function ownerOf(offsets: ArrayLike<number | bigint>, length: number, j: number): number {
  let lo = 0, hi = length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Number(offsets[mid]!) <= j) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function checkValues(
  d: arrow.Data,
  path: string,
  rowOf: RowOf,
  parentValid: ((i: number) => boolean) | undefined,
): void {
  const type = d.type as arrow.DataType;
  const valid = parentValid === undefined
    ? (i: number) => ownValid(d, i)
    : (i: number) => ownValid(d, i) && parentValid(i);
  const fail = (i: number, reason: string): never => {
    throw new ArrowValueError(path, rowOf(i), reason);
  };
  if (arrow.DataType.isDate(type)) {
    const values = d.values as Int32Array | BigInt64Array;
    const millis = type.unit === arrow.DateUnit.MILLISECOND;
    for (let i = 0; i < d.length; i++) {
      if (!valid(i)) continue;
      const days = millis ? Math.floor(Number(values[i]!) / 86_400_000) : Number(values[i]!);
      if (!isDateDaysInRange(days)) fail(i, `date ${days} (days) is outside ${DATE_RANGE_TEXT}`);
    }
  } else if (arrow.DataType.isTimestamp(type)) {
    const values = d.values as BigInt64Array;
    for (let i = 0; i < d.length; i++) {
      if (!valid(i)) continue;
      const micros = timestampMicros(BigInt(values[i]!), type.unit);
      if (!isTimestampMicrosInRange(micros)) {
        fail(i, `timestamp ${values[i]} is outside ${DATE_RANGE_TEXT}`);
      }
    }
  } else if (arrow.DataType.isDecimal(type)) {
    const words = d.values as Uint32Array;
    const stride = d.stride;
    const bound = 10n ** BigInt(type.precision);
    for (let i = 0; i < d.length; i++) {
      if (!valid(i)) continue;
      let u = 0n;
      for (let k = stride - 1; k >= 0; k--) u = (u << 32n) | BigInt(words[stride * i + k]!);
      const s = BigInt.asIntN(32 * stride, u);
      if (s >= bound || -s >= bound) fail(i, `value exceeds precision ${type.precision}`);
    }
  } else if (arrow.DataType.isStruct(type)) {
    type.children.forEach((f, k) => checkValues(d.children[k]!, `${path}.${f.name}`, rowOf, valid));
  } else if (
    arrow.DataType.isList(type) || arrow.DataType.isLargeList(type) || arrow.DataType.isMap(type)
  ) {
    const offsets = d.valueOffsets as Int32Array | BigInt64Array;
    const child = d.children[0]!;
    const childRowOf = (j: number) => rowOf(ownerOf(offsets, d.length, j));
    if (arrow.DataType.isMap(type)) {
      checkValues(child.children[0]!, `${path}.key`, childRowOf, undefined);
      checkValues(child.children[1]!, `${path}.value`, childRowOf, undefined);
    } else checkValues(child, `${path}[]`, childRowOf, undefined);
  } else if (arrow.DataType.isFixedSizeList(type)) {
    const size = type.listSize;
    checkValues(d.children[0]!, `${path}[]`, (j) => rowOf(Math.floor(j / size)), undefined);
  }
}
