/**
 * Values: the one place where JavaScript values, JSON values and text become Delta values and Arrow
 * columns. The edge and the core both use it, so a value means the same thing on every path.
 *
 * * `calendar.ts`: civil dates, and the 0001-01-01 .. 9999-12-31 range Delta readers accept;
 * * `datetime_text.ts`: the one parser and formatter of dates and timestamps as text;
 * * `decimal_text.ts`: decimals as text, bounded whatever the input;
 * * `value_readers.ts`: what each Delta type accepts; numeric timestamps are epoch microseconds
 *   (ADR 0027);
 * * `column_builder.ts` and `build_record_batch.ts`: schema-driven Arrow builders.
 *
 * Nothing here does IO or knows the log, the runner or the plugins.
 *
 * @example
 * ```ts
 * import { buildRecordBatch, formatTimestamp } from "./mod.ts";
 * const batch = buildRecordBatch(
 *   { type: "struct", fields: [{ name: "ts", type: "timestamp", nullable: true, metadata: {} }] },
 *   [{ ts: 1_704_067_200_000_001 }, { ts: "2024-01-01T00:00:00.000002Z" }],
 * );
 * const ts = batch.getChild("ts")!.data[0]!.values as BigInt64Array;
 * if (formatTimestamp(ts[0]!, true) !== "2024-01-01T00:00:00.000001Z") throw new Error();
 * if (ts[1] !== 1_704_067_200_000_002n) throw new Error("unexpected");
 * ```
 *
 * @module
 */
export {
  civilFromDays,
  DATE_DAYS_MAX,
  DATE_DAYS_MIN,
  DATE_RANGE_TEXT,
  daysFromCivil,
  isCivilDate,
  isDateDaysInRange,
  isTimestampMicrosInRange,
  MICROS_PER_DAY,
  TIMESTAMP_MICROS_MAX,
  TIMESTAMP_MICROS_MIN,
} from "./calendar.ts";
export {
  formatDate,
  formatTimestamp,
  type FormatTimestampOptions,
  parseDate,
  type ParsedTimestamp,
  parseTimestamp,
} from "./datetime_text.ts";
export { formatUnscaledDecimal, parseDecimal } from "./decimal_text.ts";
export {
  describeValue,
  expected,
  FLOAT32_MAX,
  INTEGER_RANGES,
  readInteger,
  readTimestampText,
  SPECIAL_FLOATS,
  timestampInRange,
  VALUE_READERS,
  type ValueReaders,
} from "./value_readers.ts";
export {
  type ColumnBuilder,
  type ColumnBuilderOptions,
  createColumnBuilder,
  type UnknownFields,
  ValueError,
} from "./column_builder.ts";
export { buildRecordBatch, type BuildRecordBatchOptions } from "./build_record_batch.ts";
