/**
 * Append an Arrow batch to a table: validate it, write its data files with `writeDataFiles` (split
 * by partition, at most `FILE_ROWS_MAX` rows per Parquet file, several files at once), and commit
 * the `add` actions through the commit loop.
 *
 * What it does not do: it never removes or rewrites files (compaction does), and it leaves the data
 * files of a commit that failed in storage (vacuum removes such orphans).
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Action, Add } from "../log/actions.ts";
import {
  commitActions,
  type CommitDraft,
  type CommitOptions,
  type CommitResult,
  isDuplicateTxn,
} from "../log/commit.ts";
import type { CommitProtocol } from "../log/commit_protocol.ts";
import type { ParquetCompression } from "../parquet/write_parquet_file.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { assertWriteSupported } from "../snapshot/protocol.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { validateBatch } from "./validate_batch.ts";
import { writeDataFiles, type WriteDataFilesOptions } from "./write_data_files.ts";

/** Options of {@linkcode appendBatch}. */
export interface AppendBatchOptions {
  /** Idempotency token (Delta `txn`): a batch whose `(appId, version)` is committed is skipped. */
  txn?: { appId: string; version: number };
  /** Source of `modificationTime` and the commit timestamp; default the system clock. */
  clock?: Clock;
  /** Parquet codec; default `zstd`. */
  compression?: ParquetCompression;
  /** Commit attempts; see `commitActions`. */
  maxAttempts?: number;
  /** Extra `commitInfo` fields. */
  commitInfo?: Record<string, unknown>;
  /** The table's commit protocol; see `commitActions` (default put-if-absent). */
  protocol?: CommitProtocol;
}

/** Result of {@linkcode appendBatch}: the commit result plus the files written (none on duplicates). */
export type AppendBatchResult = CommitResult & { adds: Add[] };

/**
 * Append `batch` to the table whose current state is `snapshot`. Returns the commit result; on
 * success its `snapshot` is the new table state. An empty batch commits nothing and returns the
 * current version.
 *
 * @throws {LakestrikeError} `SCHEMA_MISMATCH` when the batch does not fit the table schema
 * @throws {UnsupportedFeatureError} when the table needs a writer feature lakestrike lacks
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createArrowTable } from "../parquet/create_arrow_table.ts";
 * import { createTable } from "./create_table.ts";
 * import { appendBatch } from "./append_batch.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [
 *     { name: "id", type: "long" as const, nullable: false, metadata: {} },
 *     { name: "region", type: "string" as const, nullable: true, metadata: {} },
 *   ],
 * };
 * const v0 = await createTable(storage, { schema, partitionColumns: ["region"] });
 * const batch = createArrowTable(schema, [{ id: 1, region: "eu" }, { id: 2, region: "us" }]);
 * const r = await appendBatch(storage, v0, batch, { txn: { appId: "edge-1", version: 1 } });
 * if (!r.ok || r.version !== 1 || r.snapshot.files.length !== 2) throw new Error("bad append");
 * ```
 */
export async function appendBatch(
  storage: ObjectStorage,
  snapshot: Snapshot,
  batch: arrow.Table,
  options: AppendBatchOptions = {},
): Promise<AppendBatchResult> {
  assertWriteSupported(snapshot.protocol, snapshot.metadata);
  const clock = options.clock ?? systemClock;
  const partitionColumns = snapshot.metadata.partitionColumns;
  const table = validateBatch(batch, snapshot.schema);
  const txnActions: Action[] = [];
  if (options.txn !== undefined) {
    const { appId, version } = options.txn;
    if (
      typeof appId !== "string" || appId === "" || !Number.isSafeInteger(version) || version < 0
    ) {
      throw new InvalidArgumentError(
        `Cannot append batch: txn needs a non-empty appId and a non-negative integer version`,
      );
    }
    txnActions.push({ txn: { appId, version, lastUpdated: clock.nowMs() } });
  }
  // Check idempotency before writing any data file, so a retried batch leaves no orphans.
  if (isDuplicateTxn(snapshot, { actions: txnActions })) {
    return {
      ok: true,
      version: snapshot.version,
      snapshot,
      attempts: 0,
      duplicate: true,
      adds: [],
    };
  }
  if (table.numRows === 0 && txnActions.length === 0) {
    return { ok: true, version: snapshot.version, snapshot, attempts: 0, adds: [] };
  }

  const write: WriteDataFilesOptions = { clock };
  if (options.compression !== undefined) write.compression = options.compression;
  const adds = await writeDataFiles(storage, snapshot, table, write);

  const draft: CommitDraft = {
    operation: "WRITE",
    operationParameters: { mode: "Append", partitionBy: JSON.stringify(partitionColumns) },
    actions: [...adds.map((add): Action => ({ add })), ...txnActions],
  };
  if (options.commitInfo !== undefined) draft.commitInfo = options.commitInfo;
  const commitOptions: CommitOptions = { clock };
  if (options.maxAttempts !== undefined) commitOptions.maxAttempts = options.maxAttempts;
  if (options.protocol !== undefined) commitOptions.protocol = options.protocol;
  const result = await commitActions(storage, snapshot, draft, commitOptions);
  return { ...result, adds: result.ok && result.duplicate ? [] : adds };
}
