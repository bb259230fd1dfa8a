/**
 * The commit phase of a compaction: commit the `add`s of rewritten bins and the `remove`s of their
 * input files, all with `dataChange: false`, in rounds.
 *
 * Each round first drops the bins whose input files are no longer all active in the newest state it
 * knows (a concurrent delete or compaction removed one) and deletes their new files, then commits
 * the rest with `commitActions`. Concurrent appends never make a commit fail (Delta's conflict
 * rules); a concurrent removal of an input file does, and the next round, on the newer state, drops
 * the bins holding that file. At most `conflictRetriesMax` rounds follow the first.
 *
 * ```
 *            ┌──────────────── concurrent remove of an input file ───────────────┐
 *            ▼                                                                    │
 * drop bins whose inputs are gone (delete their files) ─▶ commit the rest ─▶ ok ─┴─▶ done
 *                                                             │ other failure: delete the files, throw
 *                                                             │ commit threw: outcome unknown, keep the files, rethrow
 * ```
 *
 * The new files are deleted only when they are certainly not committed: bins dropped by a
 * conflict, or a commit refused for a reason no round can fix. When a commit throws, its outcome is
 * unknown (it may have landed), so the files are kept and the error is rethrown: if the commit did
 * not land they are orphans, which vacuum removes after the retention period.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { LakestrikeError } from "../../core/errors.ts";
import type { Action, Add, Remove } from "../../core/log/actions.ts";
import { commitActions, type CommitDraft, type CommitResult } from "../../core/log/commit.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import { tombstoneTimestampMs } from "../../core/log/tombstone_time.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { fileKey, type PartitionFilter } from "./check_compaction_plan.ts";
import { deleteUncommittedFiles, type RewrittenBin } from "./rewrite_bin.ts";

/** Default rounds of "drop the bins a concurrent remove touched, commit the rest". */
export const CONFLICT_RETRIES_MAX_DEFAULT = 10;
/** Default put attempts per commit (compaction commits lose races to appenders often). */
export const COMMIT_ATTEMPTS_MAX_DEFAULT = 100;

/** Size statistics of a set of files, as delta-rs's `MetricDetails`. */
export interface FileSizeMetrics {
  avg: number;
  max: number;
  min: number;
  totalFiles: number;
  totalSize: number;
}

/** {@linkcode FileSizeMetrics} of files of `sizes` bytes. */
export function sizeMetrics(sizes: readonly number[]): FileSizeMetrics {
  if (sizes.length === 0) return { avg: 0, max: 0, min: 0, totalFiles: 0, totalSize: 0 };
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    avg: total / sizes.length,
    max: Math.max(...sizes),
    min: Math.min(...sizes),
    totalFiles: sizes.length,
    totalSize: total,
  };
}

/** Options of {@linkcode commitRewrittenBins}. */
export interface CommitRewrittenBinsOptions {
  /** The target size the bins were rewritten for (recorded in `operationParameters`). */
  targetSizeBytes: number;
  /** The run's partition filter (recorded as the `predicate`). */
  partitionFilter?: PartitionFilter | undefined;
  /** Source of `deletionTimestamp` and the commit timestamp; default the system clock. */
  clock?: Clock;
  /** Rounds after the first; default {@linkcode CONFLICT_RETRIES_MAX_DEFAULT}. */
  conflictRetriesMax?: number | undefined;
  /** Put attempts of each commit; default {@linkcode COMMIT_ATTEMPTS_MAX_DEFAULT}. */
  commitAttemptsMax?: number | undefined;
  /** How commit files are created; default put-if-absent on the storage. */
  commitProtocol?: CommitProtocol | undefined;
  /**
   * A table time read earlier (the timestamp of the snapshot the run planned on): no
   * `deletionTimestamp` is earlier (see `core/log/tombstone_time.ts`).
   */
  notBeforeMs?: number | undefined;
  /** The storage's clock: no `deletionTimestamp` is earlier than its now. */
  storageClock?: Clock | undefined;
}

/** What {@linkcode commitRewrittenBins} did. */
export interface CommitRewrittenBinsResult {
  /** The newest table state known: after the commit, or as the last round read it. */
  snapshot: Snapshot;
  /** The committed version; absent when every bin was dropped. */
  version?: number;
  /** Bins whose files were swapped by the commit. */
  committed: RewrittenBin[];
  /** Bins dropped because a concurrent commit removed one of their input files (files deleted). */
  dropped: RewrittenBin[];
}

const pathsOf = (bins: readonly RewrittenBin[]) => bins.flatMap((r) => r.adds.map((a) => a.path));

/**
 * Commit `rewritten` on `snapshot`, the newest state the caller knows, in rounds (see the module
 * documentation).
 *
 * @throws {LakestrikeError} `COMMIT_FAILED` when a concurrent metadata or protocol change stops the
 * commit, or the rounds run out (the new files are deleted first)
 * @throws the storage's or commit protocol's error when a commit throws (the new files are kept)
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { commitRewrittenBins } from "./commit_rewritten_bins.ts";
 * import { rewriteBin } from "./rewrite_bin.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema });
 * for (let i = 0; i < 2; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 * }
 * const bin = { partitionValues: {}, files: [...snapshot.files] };
 * const rewritten = await rewriteBin(storage, snapshot, bin, { targetSizeBytes: 1 << 20 });
 * const r = await commitRewrittenBins(storage, snapshot, [rewritten], { targetSizeBytes: 1 << 20 });
 * if (r.version !== 3 || r.snapshot.files.length !== 1) throw new Error("not committed");
 * ```
 */
export async function commitRewrittenBins(
  storage: ObjectStorage,
  snapshot: Snapshot,
  rewritten: readonly RewrittenBin[],
  options: CommitRewrittenBinsOptions,
): Promise<CommitRewrittenBinsResult> {
  const clock = options.clock ?? systemClock;
  const conflictRetriesMax = options.conflictRetriesMax ?? CONFLICT_RETRIES_MAX_DEFAULT;
  let current = snapshot;
  let done = [...rewritten];
  const dropped: RewrittenBin[] = [];
  for (let round = 0;; round++) {
    // Drop the bins whose input files are no longer all active in `current`. `commitActions` only
    // checks the commits after `current.version`: a remove that landed before it (read past by an
    // earlier commit of the caller's) would otherwise be undone, re-adding deleted rows or
    // duplicating rewritten ones.
    const stillActive = new Set(current.files.map(fileKey));
    const gone = done.filter((r) => !r.bin.files.every((f) => stillActive.has(fileKey(f))));
    if (gone.length > 0) {
      await deleteUncommittedFiles(storage, pathsOf(gone)); // never committed
      dropped.push(...gone);
      done = done.filter((r) => !gone.includes(r));
    }
    if (done.length === 0) return { snapshot: current, committed: [], dropped };
    // Never earlier than the table's own time: a clock behind must not age the tombstones.
    const now = tombstoneTimestampMs(
      clock,
      current,
      Math.max(options.notBeforeMs ?? 0, options.storageClock?.nowMs() ?? 0),
    );
    const actions: Action[] = [];
    for (const r of done) {
      for (const add of r.adds) actions.push({ add });
    }
    for (const r of done) {
      for (const f of r.bin.files) actions.push({ remove: removeOf(f, now) });
    }
    const draft: CommitDraft = {
      operation: "OPTIMIZE",
      operationParameters: operationParameters(options.partitionFilter, options.targetSizeBytes),
      commitInfo: { operationMetrics: operationMetrics(done) },
      actions,
    };
    // When this throws, the outcome is unknown (a put that failed may have landed, a commit store
    // may say "outcome is unknown"): the table may now reference the new files, so they are kept.
    const result: CommitResult = await commitActions(storage, current, draft, {
      clock,
      maxAttempts: options.commitAttemptsMax ?? COMMIT_ATTEMPTS_MAX_DEFAULT,
      ...(options.commitProtocol ? { protocol: options.commitProtocol } : {}),
    });
    current = result.snapshot;
    if (result.ok) return { snapshot: current, version: result.version, committed: done, dropped };
    if (result.kind !== "concurrent_delete_delete" && result.kind !== "max_attempts") {
      await deleteUncommittedFiles(storage, pathsOf(done));
      throw new LakestrikeError("COMMIT_FAILED", `Cannot commit compaction: ${result.reason}`);
    }
    if (round >= conflictRetriesMax) {
      await deleteUncommittedFiles(storage, pathsOf(done));
      throw new LakestrikeError(
        "COMMIT_FAILED",
        `Cannot commit compaction: gave up after ${round + 1} rounds (${result.reason})`,
      );
    }
    // The next round drops the bins whose input files a concurrent commit removed.
  }
}

/** The `remove` of a compacted file (Delta PROTOCOL, "Add File and Remove File"). */
function removeOf(f: Add, deletionTimestamp: number): Remove {
  const remove: Remove = {
    path: f.path,
    deletionTimestamp,
    dataChange: false,
    extendedFileMetadata: true,
    partitionValues: f.partitionValues,
    size: f.size,
  };
  if (f.stats != null) remove.stats = f.stats;
  if (f.tags != null) remove.tags = f.tags;
  if (f.deletionVector != null) remove.deletionVector = f.deletionVector;
  if (f.baseRowId != null) remove.baseRowId = f.baseRowId;
  if (f.defaultRowCommitVersion != null) remove.defaultRowCommitVersion = f.defaultRowCommitVersion;
  return remove;
}

/** `operationParameters` as Spark's OPTIMIZE records them (predicate list, zOrderBy) + targetSize. */
function operationParameters(
  filter: PartitionFilter | undefined,
  target: number,
): Record<string, unknown> {
  const predicate = Object.entries(filter ?? {}).map(([k, v]) =>
    v === null ? `${k} IS NULL` : `${k} = '${v.replaceAll("'", "''")}'`
  );
  return {
    predicate: JSON.stringify(predicate),
    zOrderBy: "[]",
    auto: false,
    targetSize: String(target),
  };
}

/**
 * `operationMetrics` of one commit: Spark's names (`numRemovedFiles`, `numAddedFiles`,
 * `numRemovedBytes`, `numAddedBytes`, `numDeletionVectorsRemoved`, as strings like Spark) and
 * delta-rs's (`numFilesAdded`, `numFilesRemoved`, `filesAdded`/`filesRemoved` as JSON of
 * `{avg,max,min,totalFiles,totalSize}`, `partitionsOptimized`, `numBatches`, ...).
 */
function operationMetrics(done: readonly RewrittenBin[]): Record<string, unknown> {
  const added = done.flatMap((r) => r.adds.map((a) => a.size));
  const removed = done.flatMap((r) => r.bin.files.map((f) => f.size));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const dvs = done.flatMap((r) => r.bin.files).filter((f) => f.deletionVector).length;
  return {
    numRemovedFiles: String(removed.length),
    numAddedFiles: String(added.length),
    numRemovedBytes: String(sum(removed)),
    numAddedBytes: String(sum(added)),
    numDeletionVectorsRemoved: String(dvs),
    numFilesAdded: added.length,
    numFilesRemoved: removed.length,
    filesAdded: JSON.stringify(sizeMetrics(added)),
    filesRemoved: JSON.stringify(sizeMetrics(removed)),
    partitionsOptimized: new Set(done.map((r) => JSON.stringify(r.bin.partitionValues))).size,
    numBatches: done.length,
    numRowsWritten: sum(done.map((r) => r.rowsWritten)),
    preserveInsertionOrder: true,
  };
}
