/**
 * The write side of lakestrike: create tables, write Arrow batches as partitioned Parquet data
 * files, append them (data files plus an optimistic-concurrency commit), and checkpoint on schedule.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createArrowTable } from "../parquet/create_arrow_table.ts";
 * import { appendBatch, createTable, maybeCheckpoint } from "./mod.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "integer" as const, nullable: true, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema, configuration: { "delta.checkpointInterval": "2" } });
 * for (let i = 0; i < 2; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ n: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 *   await maybeCheckpoint(storage, snapshot);
 * }
 * if (!(await storage.head("_delta_log/00000000000000000002.checkpoint.parquet"))) {
 *   throw new Error("checkpoint missing");
 * }
 * ```
 *
 * @module
 */
export { appendBatch, type AppendBatchOptions, type AppendBatchResult } from "./append_batch.ts";
export { createTable, type CreateTableOptions, DEFAULT_PROTOCOL } from "./create_table.ts";
export {
  isCheckpointDue,
  maybeCheckpoint,
  type MaybeCheckpointOptions,
  type MaybeCheckpointResult,
} from "./maybe_checkpoint.ts";
export { escapePartitionValue, HIVE_DEFAULT_PARTITION, partitionPath } from "./partition_path.ts";
export { formatTimestampMicros, serializePartitionValue } from "./partition_value.ts";
export { type PartitionSlice, splitByPartition, takeRows } from "./split_by_partition.ts";
export {
  checkpointIntervalOf,
  DEFAULT_CHECKPOINT_INTERVAL,
  DEFAULT_DATA_SKIPPING_NUM_INDEXED_COLS,
  DEFAULT_DELETED_FILE_RETENTION_MS,
  deletedFileRetentionMsOf,
  numIndexedColsOf,
  validateTableProperties,
} from "./table_properties.ts";
export { validateBatch } from "./validate_batch.ts";
export {
  FILE_ROWS_MAX,
  PARQUET_EXTENSIONS,
  WRITE_CONCURRENCY_MAX_DEFAULT,
  writeDataFiles,
  type WriteDataFilesOptions,
} from "./write_data_files.ts";
export {
  type CheckpointWritten,
  writeCheckpoint,
  type WriteCheckpointOptions,
} from "../log/checkpoint_write.ts";
export {
  commitActions,
  type CommitDraft,
  type CommitOptions,
  type CommitResult,
} from "../log/commit.ts";
