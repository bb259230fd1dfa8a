/**
 * Compaction (Delta `OPTIMIZE`, bin-packing): rewrite many small data files of a partition into few
 * larger ones, and commit the `remove`s of the old files and the `add`s of the new ones, all with
 * `dataChange: false`, so readers and streaming consumers see the same rows.
 *
 * {@linkcode compactTable} runs three phases, each its own module and testable alone (as delta-rs's
 * `optimize` splits `create_merge_plan`, `rewrite_files` and the commit):
 *
 * 1. **plan**: a planner chooses bins (the `planner` option, usually a registry's
 *    `runPlanCompaction`; without one, the built-in {@linkcode compactionPlugin} registered alone),
 *    and `checkCompactionPlan` checks them and keeps those inside `partitionFilter`;
 * 2. **rewrite a bin**: `rewriteBin` reads a bin's files in order, drops the rows their deletion
 *    vectors name and writes new zstd Parquet files, streaming;
 * 3. **commit rounds**: `commitRewrittenBins` commits with `commitActions`; concurrent appends never
 *    make it fail, and a concurrent removal of one of its input files drops the bins holding that
 *    file (their new files are deleted, they were never committed) and the rest is committed on the
 *    newer state, within `conflictRetriesMax` rounds.
 *
 * With `commitIntervalBins` it commits in steps, so a long run keeps its finished work; before
 * rewriting a step it drops the bins whose input files are no longer all active in the newest state
 * it knows, and it gives the event loop a turn between steps (the runner answers its acks then). New
 * files are deleted only when they are certainly not committed (a failure before the commit, or
 * bins dropped by a conflict); when a commit throws, its outcome is unknown, so that step's new files
 * are kept and the error is rethrown: if the commit did not land they are orphans, which vacuum
 * removes after the retention period.
 *
 * What it does NOT do:
 *
 * * it does not delete the files it removed from the table: vacuum does, after the retention period;
 * * it does not take the maintenance lock, nor choose the plugins that plan: `applyCompaction`
 *   (`ops/`) does, for `deno task compact` and the runner alike;
 * * it does not write checkpoints: the caller's `afterCommit` / `maybeCheckpoint` does;
 * * it does not sort or Z-order (a planner decides only which files go together);
 * * it refuses tables it cannot write (`assertWriteSupported`): column mapping `name`/`id`, and
 *   writer features it does not know. `appendOnly` tables are compacted: `dataChange: false`
 *   removes do not change data (Delta PROTOCOL, "Append-only Tables").
 *
 * ```
 * plan ─▶ check ─▶ for each step of bins: rewriteBin × bins ─▶ commitRewrittenBins (rounds)
 *                                             ▲                              │ concurrent remove
 *                                             └── next step (event loop turn) ◀┘ drops bins
 * ```
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import { assertWriteSupported } from "../../core/snapshot/protocol.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { createPluginRegistry } from "../registry.ts";
import type { CompactionBin } from "../types.ts";
import { checkCompactionPlan, checkPartitionFilter, fileKey } from "./check_compaction_plan.ts";
import { createCompactionContext } from "./compaction_context.ts";
import { compactionPlugin } from "./compaction_plugin.ts";
import {
  COMMIT_ATTEMPTS_MAX_DEFAULT,
  commitRewrittenBins,
  CONFLICT_RETRIES_MAX_DEFAULT,
  type FileSizeMetrics,
  sizeMetrics,
} from "./commit_rewritten_bins.ts";
import { type PlanCompactionOptions, targetSizeOf } from "./plan_compaction_bins.ts";
import {
  checkPositiveInt,
  deleteUncommittedFiles,
  MAX_CONCURRENT_IO_DEFAULT,
  OUTPUT_FILE_ROWS_MAX,
  rewriteBin,
  type RewriteBinOptions,
  type RewriteEngine,
  type RewrittenBin,
} from "./rewrite_bin.ts";

export {
  COMMIT_ATTEMPTS_MAX_DEFAULT,
  CONFLICT_RETRIES_MAX_DEFAULT,
  type FileSizeMetrics,
  MAX_CONCURRENT_IO_DEFAULT,
  OUTPUT_FILE_ROWS_MAX,
};

/** A planner: a plugin registry's `runPlanCompaction` bound to a context, or any function. */
export type CompactionPlanner = (
  snapshot: Snapshot,
) => Promise<CompactionBin[] | undefined> | CompactionBin[] | undefined;

/** Progress of a compaction, reported after every input file and every commit. */
export interface CompactionProgress {
  phase: "rewrite" | "commit" | "done";
  binsTotal: number;
  binsDone: number;
  filesTotal: number;
  filesDone: number;
  bytesRead: number;
  bytesWritten: number;
  rowsWritten: number;
}

/** Options of {@linkcode compactTable}. */
export interface CompactTableOptions {
  /** Target file size; default table property `delta.targetFileSize`, else 128 MiB. */
  targetSizeBytes?: number;
  /** Least number of files per bin when the built-in plugin plans (no `planner`); default 5. */
  minFiles?: number;
  /** Only partitions with these values (`{date: "2024-01-02"}`). */
  partitionFilter?: Readonly<Record<string, string | null>>;
  /** Plan only: nothing is written or committed. */
  dryRun?: boolean;
  /** Commit after every this many bins; default all bins in one commit. */
  commitIntervalBins?: number;
  /** Storage reads and writes in flight; default {@linkcode MAX_CONCURRENT_IO_DEFAULT}. */
  maxConcurrentIo?: number;
  /** Rows per output file of the parquet-wasm engine at most; default {@linkcode OUTPUT_FILE_ROWS_MAX}. */
  outputFileRowsMax?: number;
  /** The rewrite engine: `auto` (default: DuckDB where it rewrites exactly), `duckdb` or `wasm`. */
  engine?: RewriteEngine | undefined;
  /** DuckDB worker threads; default all cores. */
  threads?: number | undefined;
  /** Rounds of dropping conflicting bins; default {@linkcode CONFLICT_RETRIES_MAX_DEFAULT}. */
  conflictRetriesMax?: number;
  /** Put attempts of each commit; default {@linkcode COMMIT_ATTEMPTS_MAX_DEFAULT}. */
  commitAttemptsMax?: number;
  /** Source of `modificationTime`, `deletionTimestamp` and commit timestamps. */
  clock?: Clock;
  /** Cancels the run between files; uncommitted new files are deleted. */
  signal?: AbortSignal;
  /**
   * Chooses the bins (e.g. `(s) => registry.runPlanCompaction(s, ctx)`); `undefined` from it is an
   * empty plan. Default: the built-in {@linkcode compactionPlugin}, bin-packing with
   * `targetSizeBytes`, `minFiles` and `partitionFilter`, registered alone.
   */
  planner?: CompactionPlanner;
  /** Called as the run advances. */
  onProgress?: (progress: CompactionProgress) => void;
  /** How commit files are created; default put-if-absent on `storage`. */
  commitProtocol?: CommitProtocol;
  /**
   * The storage's clock (`ops` reads it from the lease): no `deletionTimestamp` is earlier than its
   * now, whatever `clock` says (see `core/log/tombstone_time.ts`).
   */
  storageClock?: Clock | undefined;
}

/** What a compaction did (for a dry run: what it would rewrite). */
export interface CompactionMetrics {
  numFilesAdded: number;
  numFilesRemoved: number;
  numBytesAdded: number;
  numBytesRemoved: number;
  filesAdded: FileSizeMetrics;
  filesRemoved: FileSizeMetrics;
  partitionsOptimized: number;
  numBatches: number;
  totalConsideredFiles: number;
  totalFilesSkipped: number;
  numRowsRead: number;
  numRowsWritten: number;
  numDeletionVectorsRemoved: number;
  numBinsDroppedByConflict: number;
  numCommits: number;
}

/** Result of {@linkcode compactTable}. */
export interface CompactTableResult {
  /** The bins that were planned (after the partition filter). */
  plan: CompactionBin[];
  /** Versions committed, in order (empty for a dry run or nothing to do). */
  versions: number[];
  /** The newest table state known at the end. */
  snapshot: Snapshot;
  metrics: CompactionMetrics;
  dryRun: boolean;
  /** Active files before and after (after: in `snapshot`). */
  filesBefore: number;
  filesAfter: number;
}

/**
 * The result of a run that commits nothing: the plan and what it would rewrite (a dry run, or an
 * empty plan). Pure.
 */
export function compactionPlanResult(
  snapshot: Snapshot,
  plan: CompactionBin[],
  dryRun: boolean,
): CompactTableResult {
  const inputs = plan.flatMap((b) => b.files);
  const metrics: CompactionMetrics = {
    numFilesAdded: 0,
    numFilesRemoved: 0,
    numBytesAdded: 0,
    numBytesRemoved: 0,
    filesAdded: sizeMetrics([]),
    filesRemoved: sizeMetrics(inputs.map((f) => f.size)),
    partitionsOptimized: new Set(plan.map((b) => JSON.stringify(b.partitionValues))).size,
    numBatches: plan.length,
    totalConsideredFiles: snapshot.files.length,
    totalFilesSkipped: snapshot.files.length - inputs.length,
    numRowsRead: 0,
    numRowsWritten: 0,
    numDeletionVectorsRemoved: 0,
    numBinsDroppedByConflict: 0,
    numCommits: 0,
  };
  const filesBefore = snapshot.files.length;
  return { plan, versions: [], snapshot, metrics, dryRun, filesBefore, filesAfter: filesBefore };
}

/** The planner without a `planner` option: the built-in {@linkcode compactionPlugin}, registered alone. */
function builtinPlanner(
  storage: ObjectStorage,
  clock: Clock,
  options: CompactTableOptions,
): CompactionPlanner {
  const planOptions: PlanCompactionOptions = {};
  if (options.targetSizeBytes !== undefined) planOptions.targetSizeBytes = options.targetSizeBytes;
  if (options.minFiles !== undefined) planOptions.minFiles = options.minFiles;
  if (options.partitionFilter !== undefined) planOptions.partitionFilter = options.partitionFilter;
  // The library's OPTIMIZE bin-packs, as Delta's does; the tiered planner is chosen by `ops`.
  const registry = createPluginRegistry([compactionPlugin({ ...planOptions, strategy: "binpack" })])
    .freeze();
  const dryRun = options.dryRun ?? false;
  return (snapshot) =>
    registry.runPlanCompaction(
      snapshot,
      createCompactionContext(storage, snapshot, { clock, dryRun }),
    );
}

/** Throw for options no run can use, before the planner is asked. */
function checkOptions(snapshot: Snapshot, options: CompactTableOptions): void {
  checkPositiveInt("maxConcurrentIo", options.maxConcurrentIo ?? MAX_CONCURRENT_IO_DEFAULT);
  checkPositiveInt("outputFileRowsMax", options.outputFileRowsMax ?? OUTPUT_FILE_ROWS_MAX);
  checkPositiveInt("commitIntervalBins", options.commitIntervalBins ?? Infinity, true);
  const minFiles = options.minFiles;
  if (minFiles !== undefined && !(Number.isSafeInteger(minFiles) && minFiles >= 1)) {
    throw new InvalidArgumentError(`Cannot compact: minFiles must be >= 1, got ${minFiles}`);
  }
  checkPartitionFilter(snapshot, options.partitionFilter);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Compact the table whose state is `snapshot` (see the module documentation).
 *
 * @throws {InvalidArgumentError} for invalid options or a plan that breaks the rules of
 * `checkCompactionPlan` (nothing is written)
 * @throws {UnsupportedFeatureError} when the table cannot be written by lakestrike
 * @throws {LakestrikeError} `COMMIT_FAILED` when a concurrent metadata or protocol change stops the
 * commit, or the retry budgets run out (uncommitted new files are deleted first)
 * @throws the storage's or commit protocol's error when a commit throws: its outcome is unknown, so
 * the new files of that step are kept (vacuum removes them if the commit did not land)
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { compactTable } from "./compact_table.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema });
 * for (let i = 0; i < 3; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 * }
 * const result = await compactTable(storage, snapshot, { minFiles: 2 });
 * if (result.filesAfter !== 1 || result.metrics.numFilesRemoved !== 3) throw new Error("not compacted");
 * ```
 */
export async function compactTable(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: CompactTableOptions = {},
): Promise<CompactTableResult> {
  assertWriteSupported(snapshot.protocol, snapshot.metadata);
  checkOptions(snapshot, options);
  const clock = options.clock ?? systemClock;
  const target = targetSizeOf(snapshot.metadata.configuration, options.targetSizeBytes);
  const interval = options.commitIntervalBins ?? Infinity;

  // Phase 1: plan, and check the plan before anything is read or written.
  const planner = options.planner ?? builtinPlanner(storage, clock, options);
  const plan = checkCompactionPlan(
    snapshot,
    (await planner(snapshot)) ?? [],
    options.partitionFilter,
  );
  const dryRun = options.dryRun ?? false;
  const planned = compactionPlanResult(snapshot, plan, dryRun);
  if (dryRun || plan.length === 0) return planned;

  const metrics = planned.metrics;
  const progress: CompactionProgress = {
    phase: "rewrite",
    binsTotal: plan.length,
    binsDone: 0,
    filesTotal: plan.reduce((n, b) => n + b.files.length, 0),
    filesDone: 0,
    bytesRead: 0,
    bytesWritten: 0,
    rowsWritten: 0,
  };
  const report = () => options.onProgress?.({ ...progress });
  const rewriteOptions: RewriteBinOptions = {
    targetSizeBytes: target,
    maxConcurrentIo: options.maxConcurrentIo,
    outputFileRowsMax: options.outputFileRowsMax,
    engine: options.engine,
    threads: options.threads,
    clock,
    signal: options.signal,
    onFileRead: (add) => {
      progress.bytesRead += add.size;
      progress.filesDone++;
      report();
    },
    onFileWritten: (add, rows) => {
      progress.bytesWritten += add.size;
      progress.rowsWritten += rows;
    },
  };
  let current = snapshot;
  const versions: number[] = [];
  const committedBins: RewrittenBin[] = [];
  for (let s = 0; s < plan.length; s += interval) {
    if (s > 0) await yieldToEventLoop(); // let the process's other work (ingest acks) run
    options.signal?.throwIfAborted();
    // A bin whose input files a commit of an earlier step read past is dropped before any work.
    const { live, gone } = splitByActive(current, plan.slice(s, s + interval));
    metrics.numBinsDroppedByConflict += gone;
    progress.binsDone += gone;
    // Phase 2: rewrite the step's bins.
    const rewritten = await rewriteStep(storage, snapshot, live, rewriteOptions, () => {
      progress.binsDone++;
      report();
    });
    if (rewritten.length === 0) continue;
    // Phase 3: commit rounds; they own the new files from here on.
    progress.phase = "commit";
    report();
    const committed = await commitRewrittenBins(storage, current, rewritten, {
      targetSizeBytes: target,
      partitionFilter: options.partitionFilter,
      clock,
      conflictRetriesMax: options.conflictRetriesMax,
      commitAttemptsMax: options.commitAttemptsMax,
      commitProtocol: options.commitProtocol,
      notBeforeMs: snapshot.timestampMs,
      storageClock: options.storageClock,
    });
    current = committed.snapshot;
    metrics.numBinsDroppedByConflict += committed.dropped.length;
    if (committed.version === undefined) continue;
    versions.push(committed.version);
    metrics.numCommits++;
    committedBins.push(...committed.committed);
  }
  progress.phase = "done";
  report();
  addCommittedMetrics(metrics, committedBins);
  return { ...planned, versions, snapshot: current, metrics, filesAfter: current.files.length };
}

/** The bins whose input files are all active in `current`, and how many are not. */
function splitByActive(
  current: Snapshot,
  bins: readonly CompactionBin[],
): { live: CompactionBin[]; gone: number } {
  const active = new Set(current.files.map(fileKey));
  const live = bins.filter((bin) => bin.files.every((f) => active.has(fileKey(f))));
  return { live, gone: bins.length - live.length };
}

/** Rewrite `bins` one after the other; a failure deletes the step's new files (none committed). */
async function rewriteStep(
  storage: ObjectStorage,
  snapshot: Snapshot,
  bins: readonly CompactionBin[],
  options: RewriteBinOptions,
  onBinDone: () => void,
): Promise<RewrittenBin[]> {
  const rewritten: RewrittenBin[] = [];
  try {
    for (const bin of bins) {
      rewritten.push(await rewriteBin(storage, snapshot, bin, options));
      onBinDone();
    }
  } catch (e) {
    await deleteUncommittedFiles(storage, rewritten.flatMap((r) => r.adds.map((a) => a.path)));
    throw e;
  }
  return rewritten;
}

/** Set the added and removed files, bytes, rows and deletion vectors of the committed bins. */
function addCommittedMetrics(metrics: CompactionMetrics, committed: readonly RewrittenBin[]): void {
  const added = committed.flatMap((r) => r.adds.map((a) => a.size));
  const removed = committed.flatMap((r) => r.bin.files);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  metrics.numFilesAdded = added.length;
  metrics.numFilesRemoved = removed.length;
  metrics.numBytesAdded = sum(added);
  metrics.numBytesRemoved = sum(removed.map((f) => f.size));
  metrics.filesAdded = sizeMetrics(added);
  metrics.filesRemoved = sizeMetrics(removed.map((f) => f.size));
  metrics.numDeletionVectorsRemoved = removed.filter((f) => f.deletionVector).length;
  metrics.numRowsRead = sum(committed.map((r) => r.rowsRead));
  metrics.numRowsWritten = sum(committed.map((r) => r.rowsWritten));
}
