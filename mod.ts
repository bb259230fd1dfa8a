/**
 * lakestrike: a low-latency ingestion service for Delta Lake tables. This entry point is the
 * library: open a table, read its snapshot, scan its rows, create it, append Arrow batches, and
 * maintain it (compaction, vacuum, checkpoints).
 *
 * The rest of the package has entry points of its own:
 *
 * | import | what |
 * |---|---|
 * | `@lakestrike/lakestrike` | this library |
 * | `@lakestrike/lakestrike/config` | `defineConfig` and the types of `lakestrike.config.ts` |
 * | `@lakestrike/lakestrike/plugins` | the plugin API, its registry and the built-in plugins |
 * | `@lakestrike/lakestrike/edge` | the edge app (`createEdgeApp`), runtime-neutral |
 * | `@lakestrike/lakestrike/runner` | the batch runner (`startRunner`, `createRunner`) |
 * | `@lakestrike/lakestrike/aws` | S3 storage and the `s3-dynamodb` commit protocol (`registerAws`) |
 *
 * Nothing here loads the AWS SDK: call `registerAws()` of the AWS entry point before opening an
 * `s3://` table.
 *
 * @example
 * ```ts
 * import { appendBatch, createArrowTable, createTable, openStorage, scanSnapshot } from "./mod.ts";
 * const storage = openStorage("memory://mod-example");
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * const v0 = await createTable(storage, { schema });
 * const appended = await appendBatch(storage, v0, createArrowTable(schema, [{ id: 1 }, { id: 2 }]));
 * if (!appended.ok) throw new Error(appended.reason);
 * let rows = 0;
 * for await (const batch of scanSnapshot(storage, appended.snapshot)) rows += batch.length;
 * if (rows !== 2) throw new Error(`expected 2 rows, got ${rows}`);
 * ```
 *
 * @module
 */

// Errors and time.
export {
  CorruptLogError,
  InvalidArgumentError,
  isLakestrikeError,
  LakestrikeError,
  type LakestrikeErrorCode,
  NotFoundError,
  TableNotFoundError,
  UnsupportedFeatureError,
} from "./core/errors.ts";
export { type Clock, createManualClock, type ManualClock, systemClock } from "./core/clock.ts";

// Storage: a table's location.
export {
  createLocalStorage,
  createMemoryStorage,
  type ListOptions,
  type MemoryStorageOptions,
  type ObjectMeta,
  type ObjectStorage,
  openStorage,
  type PutOptions,
  type PutResult,
  registerStorageScheme,
  type StorageFactory,
} from "./core/storage/mod.ts";

// Schemas.
export type {
  ArrayType,
  DataType,
  MapType,
  PrimitiveTypeName,
  StructField,
  StructType,
} from "./core/schema/mod.ts";
export { parseSchema, serializeSchema } from "./core/schema/mod.ts";

// The log and commit protocols.
export type {
  Action,
  Add,
  CommitInfo,
  DomainMetadata,
  Metadata,
  Protocol,
  Remove,
  Txn,
} from "./core/log/actions.ts";
export {
  COMMIT_PROTOCOL_PROPERTY,
  type CommitProtocol,
  CommitProtocolMismatchError,
  type CommitProtocolName,
} from "./core/log/commit_protocol.ts";
export {
  type CommitProtocolConfig,
  type CommitProtocolFactory,
  CommitProtocolUnknownError,
  type DynamoDbSettings,
  registerCommitProtocol,
  resolveCommitProtocol,
} from "./core/log/resolve_commit_protocol.ts";
export {
  type CheckpointWritten,
  writeCheckpoint,
  type WriteCheckpointOptions,
} from "./core/log/checkpoint_write.ts";
export {
  cleanupExpiredLogs,
  type CleanupExpiredLogsOptions,
  type CleanupExpiredLogsResult,
} from "./core/log/log_cleanup.ts";

// Reading: snapshots and scans.
export type { Snapshot } from "./core/snapshot/snapshot.ts";
export {
  type HistoryEntry,
  loadHistory,
  type LoadHistoryOptions,
  loadSnapshot,
  type LoadSnapshotOptions,
  versionAtTimestamp,
} from "./core/snapshot/load_snapshot.ts";
export { txnVersion } from "./core/snapshot/txn.ts";
export { type ScanOptions, scanSnapshot } from "./core/scan/scan_snapshot.ts";
export { rowToJson, valueToJson } from "./core/scan/row_to_json.ts";
export {
  type Decimal,
  formatDate,
  formatDecimal,
  formatTimestamp,
  isDecimal,
  type LogicalRow,
  type LogicalValue,
} from "./core/scan/logical_row.ts";

// Writing: tables and batches.
export {
  createArrowTable,
  type CreateArrowTableOptions,
} from "./core/parquet/create_arrow_table.ts";
export { type ParquetCompression } from "./core/parquet/write_parquet_file.ts";
export {
  appendBatch,
  type AppendBatchOptions,
  type AppendBatchResult,
} from "./core/write/append_batch.ts";
export { type CommitResult } from "./core/log/commit.ts";
export { createTable, type CreateTableOptions } from "./core/write/create_table.ts";

// Maintenance: compaction and vacuum, alone or (`apply*`) with plugins and the table's lease, as
// the runner and the commands run them. Their plugin hooks are `./plugins`.
export {
  applyCompaction,
  type ApplyCompactionOptions,
  type ApplyCompactionResult,
  applyVacuum,
  type ApplyVacuumOptions,
  type ApplyVacuumResult,
  type CreateIfMissing,
  type MaintainedTable,
  type OpenedTable,
  openTable,
  type OpenTableOptions,
} from "./ops/mod.ts";
export {
  compactTable,
  type CompactTableOptions,
  type CompactTableResult,
} from "./plugins/compaction/mod.ts";
export { type VacuumOptions, type VacuumResult, vacuumTable } from "./plugins/vacuum/mod.ts";
export {
  applyDataRetention,
  type ApplyDataRetentionOptions,
  type ApplyDataRetentionResult,
} from "./plugins/retention/mod.ts";
