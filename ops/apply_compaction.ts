/**
 * Compaction as `deno task compact` and the runner's schedule both run it: one assembly of planning,
 * locking, rewriting and checkpointing, so the CLI and the schedule cannot drift apart.
 *
 * ```
 * load latest ─▶ plan (plugins) ─▶ no bin: nothing_to_do (no lock taken, nothing written)
 *                       │ bins
 *                       ▼
 *        dry run? ── yes ─▶ compactTable(dryRun) on that plan
 *                       │ no
 *                       ▼
 *   take the table's compact lease ─▶ reload ─▶ plan again ─▶ first binsPerRunMax bins
 *     ─▶ compactTable (rewrite, commit in steps of commitIntervalBins) ─▶ checkpoint if due
 * ```
 *
 * Planning goes through the registry's `planCompaction` hooks only, with the built-in
 * `compactionPlugin` registered after the caller's plugins (`createMaintenanceRegistry`): a team's
 * planner answers first, the built-in answers for the rest: bin-packing by default (an operator's
 * OPTIMIZE), the tiered planner with `strategy: "tiered"` (`plugins/compaction/plan_tiered_bins.ts`,
 * the runner's default, ADR 0036). The context's limits are `strategy`, and `targetSizeBytes`,
 * `minFiles` and `tierFanout` when the caller sets them. The first plan, on the latest state
 * and without the lease, spares a lease write when there is nothing to do; the plan under the lease
 * is the one that runs, since another compaction may have committed in between.
 *
 * What it does not do: open the table (its caller does), delete the removed files (vacuum does), or
 * retry when another job holds the lease (`MaintenanceLockHeldError`; the runner skips the tick, the
 * CLI exits with the error).
 *
 * @module
 */
import { type Clock, systemClock } from "../core/clock.ts";
import { InvalidArgumentError } from "../core/errors.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { maybeCheckpoint } from "../core/write/maybe_checkpoint.ts";
import {
  checkCompactionPlan,
  checkReadBudgetOptions,
  compactionPlanResult,
  type CompactionProgress,
  compactTable,
  type CompactTableResult,
  createCompactionContext,
  numRecordsOf,
  type PartitionFilter,
  type RewriteEngine,
  targetSizeOf,
} from "../plugins/compaction/mod.ts";
import { noopLogger } from "../plugins/logger.ts";
import type { PluginRegistry } from "../plugins/registry.ts";
import type { CompactionBin, CompactionLimits, Logger } from "../plugins/types.ts";
import { type MaintainedTable, pluginTableOf, protocolOptionOf } from "./maintained_table.ts";
import { runExclusive } from "./maintenance_lock.ts";
import { createMaintenanceRegistry } from "./maintenance_registry.ts";

/** Options of {@linkcode applyCompaction}. Every default is the CLI's. */
export interface ApplyCompactionOptions {
  /** The caller's frozen registry; the built-in planner is added (`createMaintenanceRegistry`). */
  plugins?: PluginRegistry;
  /** Target file size; default `delta.targetFileSize`, else 128 MiB. A planner limit too. */
  targetSizeBytes?: number;
  /** Least files per bin of the built-in bin-packing planner; default 5. A planner limit. */
  minFiles?: number;
  /**
   * The built-in planner's strategy: `binpack` (default: an operator's OPTIMIZE compacts every
   * small file now) or `tiered` (the runner's default, ADR 0036). A planner limit.
   */
  strategy?: "tiered" | "binpack";
  /** Growth factor between two tiers of the tiered planner; default 10. A planner limit. */
  tierFanout?: number;
  /**
   * The tiered planner's read budget bound, at least 1 (default 1.3; `Infinity` turns its read
   * bins off, ADR 0051). A planner limit.
   */
  readAmplificationMax?: number;
  /** Only partitions with these values. */
  partitionFilter?: PartitionFilter;
  /** Plan only, without the lease: nothing is written or committed. */
  dryRun?: boolean;
  /** Commit after every this many bins; default all bins in one commit. */
  commitIntervalBins?: number;
  /** Bins rewritten per run at most, the rest is left for the next run; default all. */
  binsPerRunMax?: number;
  /** Storage reads and writes in flight; default `compactTable`'s (8). */
  maxConcurrentIo?: number;
  /** The rewrite engine: `auto` (default: DuckDB where it rewrites exactly), `duckdb` or `wasm`. */
  engine?: RewriteEngine;
  /** DuckDB worker threads of the rewrite; default all cores. */
  threads?: number;
  /** Source of "now" for plugins, commits and the checkpoint; default the system clock. */
  clock?: Clock;
  /** Cancels the run between files; uncommitted new files are deleted. */
  signal?: AbortSignal;
  /** Where planner plugins log; default none. */
  logger?: Logger;
  /** Called as the rewrite advances. */
  onProgress?: (progress: CompactionProgress) => void;
  /**
   * The newest table state the caller knows (the runner's in-memory snapshot): planned and
   * committed on as it is, instead of loading the table twice (before and under the lease). Safe
   * when it is not the latest: the commit checks every later commit (a concurrent remove of an
   * input drops its bin, appends pass), as it does for commits landing during the rewrite.
   */
  snapshot?: Snapshot;
}

/** What {@linkcode applyCompaction} did. */
export interface ApplyCompactionResult {
  /**
   * `nothing_to_do`: the plan on the latest state was empty, so no lease was taken and nothing was
   * written; `done`: the plan ran (or, for a dry run, was planned).
   */
  status: "nothing_to_do" | "done";
  /** The plan, the versions committed and the metrics (an empty plan for `nothing_to_do`). */
  compaction: CompactTableResult;
  /** Bins planned beyond `binsPerRunMax`, left for the next run. */
  binsDeferred: number;
}

/** Rows a bin reads (a file without stats counts its bytes): what its rewrite costs, roughly. */
function rowsOfBin(bin: CompactionBin): number {
  return bin.files.reduce((n, f) => n + (numRecordsOf(f) ?? f.size), 0);
}

function checkOptions(options: ApplyCompactionOptions): void {
  const entries = [
    ["targetSizeBytes", options.targetSizeBytes],
    ["minFiles", options.minFiles],
    ["tierFanout", options.tierFanout],
    ["commitIntervalBins", options.commitIntervalBins],
    ["binsPerRunMax", options.binsPerRunMax],
    ["maxConcurrentIo", options.maxConcurrentIo],
    ["threads", options.threads],
  ] as const;
  checkReadBudgetOptions(options);
  for (const [name, value] of entries) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
      throw new InvalidArgumentError(
        `Cannot compact: ${name} must be a positive integer, got ${value}`,
      );
    }
  }
  const strategy = options.strategy;
  if (strategy !== undefined && strategy !== "tiered" && strategy !== "binpack") {
    throw new InvalidArgumentError(
      `Cannot compact: strategy must be 'tiered' or 'binpack', got '${strategy}'`,
    );
  }
}

/** `signal` and `other` as one signal; either may be absent. */
function bothSignals(
  signal: AbortSignal | undefined,
  other: AbortSignal | undefined,
): AbortSignal | undefined {
  if (signal === undefined) return other;
  return other === undefined ? signal : AbortSignal.any([signal, other]);
}

/**
 * Compact `table` (see the module documentation): plan with the plugins, take the table's
 * `compact` lease unless it is a dry run or there is nothing to do, rewrite and commit the bins,
 * and write a checkpoint when one is due.
 *
 * @throws {MaintenanceLockHeldError} when another compaction of the table holds the lease
 * @throws what `compactTable` throws (invalid plan, unsupported table, commit failures), and a
 * `PluginHookError` when a planner fails
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../core/storage/memory.ts";
 * import { appendBatch, createTable } from "../core/write/mod.ts";
 * import { applyCompaction } from "./apply_compaction.ts";
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
 * const r = await applyCompaction({ storage }, { minFiles: 2 });
 * if (r.status !== "done" || r.compaction.filesAfter !== 1) throw new Error("not compacted");
 * const again = await applyCompaction({ storage }, { minFiles: 2 });
 * if (again.status !== "nothing_to_do") throw new Error("compacted twice");
 * ```
 */
export async function applyCompaction(
  table: MaintainedTable,
  options: ApplyCompactionOptions = {},
): Promise<ApplyCompactionResult> {
  checkOptions(options);
  const registry = createMaintenanceRegistry(options.plugins);
  const clock = options.clock ?? systemClock;
  const storage = table.storage;
  const dryRun = options.dryRun ?? false;
  const limits: CompactionLimits = {
    ...(options.targetSizeBytes === undefined ? {} : { targetSizeBytes: options.targetSizeBytes }),
    ...(options.minFiles === undefined ? {} : { minFiles: options.minFiles }),
    strategy: options.strategy ?? "binpack",
    ...(options.tierFanout === undefined ? {} : { tierFanout: options.tierFanout }),
    ...(options.readAmplificationMax === undefined
      ? {}
      : { readAmplificationMax: options.readAmplificationMax }),
  };
  const { name, uri } = pluginTableOf(table);

  /** Phase "plan": the registry's planners on `snapshot`, checked and filtered. */
  const plan = async (snapshot: Snapshot, signal: AbortSignal | undefined) => {
    // A table whose delta.targetFileSize cannot be read is refused as such, not as a plugin failure.
    targetSizeOf(snapshot.metadata.configuration, options.targetSizeBytes);
    const ctx = createCompactionContext(storage, snapshot, {
      name,
      uri,
      clock,
      logger: options.logger ?? noopLogger,
      limits,
      dryRun,
      ...(signal ? { signal } : {}),
    });
    const planned = (await registry.runPlanCompaction(snapshot, ctx)) ?? [];
    return checkCompactionPlan(snapshot, planned, options.partitionFilter);
  };

  /** Rewrite and commit the first `binsPerRunMax` bins of `all` on `snapshot`. */
  const run = async (
    snapshot: Snapshot,
    all: CompactionBin[],
    signal: AbortSignal | undefined,
    storageClock?: Clock,
  ): Promise<ApplyCompactionResult> => {
    const bins = all.slice(0, options.binsPerRunMax ?? all.length);
    // The tiered plan's order chose which bins run (every tier gets a turn); within the run the
    // cheapest go first, so the many small merges are committed (every `commitIntervalBins`)
    // before a merge of millions of rows holds the run for seconds (ADR 0051).
    if (limits.strategy === "tiered") {
      bins.sort((a, b) => rowsOfBin(a) - rowsOfBin(b));
    }
    const compaction = await compactTable(storage, snapshot, {
      planner: () => bins,
      ...(options.targetSizeBytes === undefined
        ? {}
        : { targetSizeBytes: options.targetSizeBytes }),
      ...(options.partitionFilter === undefined
        ? {}
        : { partitionFilter: options.partitionFilter }),
      dryRun,
      ...(options.commitIntervalBins === undefined
        ? {}
        : { commitIntervalBins: options.commitIntervalBins }),
      ...(options.maxConcurrentIo === undefined
        ? {}
        : { maxConcurrentIo: options.maxConcurrentIo }),
      engine: options.engine,
      threads: options.threads,
      clock,
      ...(signal ? { signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(table.protocol ? { commitProtocol: table.protocol } : {}),
      storageClock,
    });
    return { status: "done", compaction, binsDeferred: all.length - bins.length };
  };

  // The cheap check first: no lease write when there is nothing to compact.
  const latest = options.snapshot ?? await loadSnapshot(storage, protocolOptionOf(table));
  const first = await plan(latest, options.signal);
  if (first.length === 0) {
    return {
      status: "nothing_to_do",
      compaction: compactionPlanResult(latest, [], dryRun),
      binsDeferred: 0,
    };
  }
  if (dryRun) return await run(latest, first, options.signal);
  return await runExclusive(storage, "compact", async (leaseSignal, storageClock) => {
    const signal = bothSignals(options.signal, leaseSignal);
    // Reload under the lease: another compaction may have committed since (with the caller's
    // snapshot, the commit's conflict check covers what landed after it).
    const current = options.snapshot ?? await loadSnapshot(storage, protocolOptionOf(table));
    const result = await run(current, await plan(current, signal), signal, storageClock);
    if (result.compaction.versions.length > 0) {
      // Compaction commits bypass the runner's afterCommit: take a due checkpoint here.
      await maybeCheckpoint(storage, result.compaction.snapshot, { clock });
    }
    return result;
  }, clock);
}
