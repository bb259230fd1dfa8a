/**
 * Table properties (`metaData.configuration`) the writer understands, with their defaults and
 * validation (Delta PROTOCOL and Delta Spark's `DeltaConfigs`).
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import { parseIntervalMs } from "../snapshot/txn.ts";
import { COMMIT_PROTOCOL_PROPERTY, parseCommitProtocolName } from "../log/commit_protocol.ts";

/** Default of `delta.checkpointInterval` (delta-rs and Spark). */
export const DEFAULT_CHECKPOINT_INTERVAL = 100;
/** Default of `delta.dataSkippingNumIndexedCols`. */
export const DEFAULT_DATA_SKIPPING_NUM_INDEXED_COLS = 32;
/** Default of `delta.deletedFileRetentionDuration`: one week. */
export const DEFAULT_DELETED_FILE_RETENTION_MS = 7 * 86_400_000;
/** The table property that bounds how long `txn` (producer dedupe) entries live. */
export const SET_TRANSACTION_RETENTION_PROPERTY = "delta.setTransactionRetentionDuration";
/**
 * `delta.setTransactionRetentionDuration` of the tables lakestrike creates (ADR 0020), unless the
 * creator sets its own: the `txn` of a producer that has not committed for 7 days expires (its
 * retries are no longer recognised as duplicates) and the next checkpoint drops it, so producer
 * ids that are used once (one per edge incarnation) do not pile up in every snapshot forever.
 * 7 days is far beyond the minutes an edge retries one batch, and leaves a client producer a week
 * to come back after a restart. (Delta's own default, when the property is absent, is no expiry;
 * tables created by other engines keep theirs.)
 */
export const DEFAULT_SET_TRANSACTION_RETENTION = "interval 7 days";
/** The table property that bounds how long log files (commits, checkpoints) are kept. */
export const LOG_RETENTION_PROPERTY = "delta.logRetentionDuration";
/**
 * `delta.logRetentionDuration` of the tables lakestrike creates for ingestion (the runner's and the
 * commands' `openTable` with `createIfMissing`, ADR 0032), unless the config sets its own: 1 day
 * instead of Delta's 30. A table at its ceiling of commits per second writes
 * about 2 million versions a day, and expired log cleanup (after every checkpoint, to the UTC
 * midnight before `now - retention`) then keeps 1 to 2 days of them instead of 30 to 31. Time
 * travel and a stream reader's lag are bounded by it; vacuum and `txn` dedupe are not (they read
 * the tombstones and `txn`s that checkpoints carry).
 */
export const DEFAULT_CREATED_LOG_RETENTION = "interval 1 days";
/** The table property that says how long removed files stay for readers (and tombstones live). */
export const DELETED_FILE_RETENTION_PROPERTY = "delta.deletedFileRetentionDuration";
/**
 * `delta.deletedFileRetentionDuration` of the tables lakestrike creates for ingestion (ADR 0048),
 * unless the config sets its own: 1 day instead of Delta's 7, as the log's retention. Every file
 * compaction removes leaves a tombstone that every checkpoint carries for this long (Delta
 * PROTOCOL, "Add File and Remove File": a `remove` stays in the table's state until it expires),
 * about 3 million a day at 10,000 events/s: a week of them made every checkpoint, written every
 * few seconds, and every open of the table pay for 20 million. What the week bought is already
 * bounded by the log's day: a reader cannot time travel, nor a stream resume, further back than
 * the log it would replay. A query running longer than a day on one snapshot is what this gives
 * up (vacuum, when enabled, may then delete files it still reads).
 */
export const DEFAULT_CREATED_DELETED_FILE_RETENTION = "interval 1 days";
/**
 * `delta.checkpointInterval` the tables lakestrike creates for ingestion write down (ADR 0032),
 * unless the config sets its own: lakestrike's default, written so that every writer of the table
 * uses it (Delta Spark's default is 10, a checkpoint every 0.25 s at 40 commits per second).
 */
export const DEFAULT_CREATED_CHECKPOINT_INTERVAL = String(DEFAULT_CHECKPOINT_INTERVAL);

/**
 * The properties `openTable` (`ops/open_table.ts`) gives a table it creates, under those the
 * config sets (ADR 0032, ADR 0048). `createTable` itself adds only `delta.setTransactionRetentionDuration`.
 */
export const CREATED_TABLE_PROPERTIES_DEFAULT: Readonly<Record<string, string>> = Object.freeze({
  "delta.checkpointInterval": DEFAULT_CREATED_CHECKPOINT_INTERVAL,
  [LOG_RETENTION_PROPERTY]: DEFAULT_CREATED_LOG_RETENTION,
  [DELETED_FILE_RETENTION_PROPERTY]: DEFAULT_CREATED_DELETED_FILE_RETENTION,
});

const POSITIVE_INT = /^[1-9][0-9]*$/;
const INT = /^-?[0-9]+$/;

type Check = (value: string) => string | undefined;

const interval: Check = (v) => {
  const ms = parseIntervalMs(v);
  return ms === undefined || ms < 0 ? "an interval such as 'interval 7 days'" : undefined;
};
const bool: Check = (v) => (v === "true" || v === "false" ? undefined : "true or false");

// Properties a lakestrike table may carry at protocol 1/2. Others under `delta.` need table
// features this writer does not implement (change data feed, deletion vectors, column mapping, ...).
const KNOWN: Record<string, Check> = {
  "delta.checkpointInterval": (v) => (POSITIVE_INT.test(v) ? undefined : "a positive integer"),
  "delta.dataSkippingNumIndexedCols": (v) =>
    INT.test(v) && Number(v) >= -1 ? undefined : "an integer >= -1",
  "delta.deletedFileRetentionDuration": interval,
  "delta.logRetentionDuration": interval,
  [SET_TRANSACTION_RETENTION_PROPERTY]: interval,
  "delta.appendOnly": bool,
  "delta.enableExpiredLogCleanup": bool,
  "delta.checkpoint.writeStatsAsJson": bool,
  "delta.checkpoint.writeStatsAsStruct": bool,
  "delta.columnMapping.mode": (
    v,
  ) => (v === "none" ? undefined : "'none' (column mapping is not supported)"),
  "delta.enableChangeDataFeed": (
    v,
  ) => (v === "false" ? undefined : "false (change data feed is not supported)"),
  "delta.enableDeletionVectors": (
    v,
  ) => (v === "false" ? undefined : "false (deletion vectors are not supported)"),
  "delta.targetFileSize": (v) => (POSITIVE_INT.test(v) ? undefined : "a positive integer"),
};

/**
 * Validate table properties given to `createTable`: known `delta.` keys must hold valid values,
 * unknown `delta.` keys are refused, `lakestrike.commitProtocol` must name a commit protocol
 * (`local`, `s3`, `s3-dynamodb`); other keys (an application's own) pass unchanged.
 *
 * @throws {InvalidArgumentError} naming the property and what it must be
 *
 * @example
 * ```ts
 * import { validateTableProperties } from "./table_properties.ts";
 * validateTableProperties({ "delta.checkpointInterval": "10", "team.owner": "ingest" });
 * let refused = false;
 * try {
 *   validateTableProperties({ "delta.checkpointInterval": "0" });
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("0 is not a valid checkpoint interval");
 * ```
 */
export function validateTableProperties(configuration: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(configuration)) {
    if (typeof value !== "string") {
      throw new InvalidArgumentError(
        `Cannot create table: property ${key} must be a string, got ${typeof value}`,
      );
    }
    if (key === COMMIT_PROTOCOL_PROPERTY) {
      parseCommitProtocolName(value, `table property ${key}`);
      continue;
    }
    if (!key.startsWith("delta.")) continue;
    const check = KNOWN[key];
    if (check === undefined) {
      throw new InvalidArgumentError(`Cannot create table: unknown table property ${key}`);
    }
    const want = check(value);
    if (want !== undefined) {
      throw new InvalidArgumentError(
        `Cannot create table: property ${key} must be ${want}, got ${JSON.stringify(value)}`,
      );
    }
  }
}

/** `delta.checkpointInterval` of a table configuration, or its default. */
export function checkpointIntervalOf(configuration: Readonly<Record<string, string>>): number {
  const v = configuration["delta.checkpointInterval"];
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_CHECKPOINT_INTERVAL;
}

/** `delta.dataSkippingNumIndexedCols` of a table configuration, or its default. */
export function numIndexedColsOf(configuration: Readonly<Record<string, string>>): number {
  const v = configuration["delta.dataSkippingNumIndexedCols"];
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= -1 ? n : DEFAULT_DATA_SKIPPING_NUM_INDEXED_COLS;
}

/**
 * `delta.deletedFileRetentionDuration` of a table configuration in ms, or its default (168 h) when
 * it is missing, cannot be parsed or is negative (tables other engines wrote may hold such values;
 * a negative retention would put the vacuum horizon in the future).
 */
export function deletedFileRetentionMsOf(configuration: Readonly<Record<string, string>>): number {
  const v = configuration["delta.deletedFileRetentionDuration"];
  const ms = v === undefined ? undefined : parseIntervalMs(v);
  return ms === undefined || !Number.isFinite(ms) || ms < 0
    ? DEFAULT_DELETED_FILE_RETENTION_MS
    : ms;
}
