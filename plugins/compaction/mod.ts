/**
 * Compaction (Delta `OPTIMIZE`): the built-in {@linkcode compactionPlugin} that plans bins of small
 * files (size tiers by default, {@linkcode planTiers}; or bin-packing), and {@linkcode compactTable}, the operation that rewrites them and commits
 * the result with `dataChange: false`, made of three phases usable alone:
 * {@linkcode checkCompactionPlan}, {@linkcode rewriteBin} and {@linkcode commitRewrittenBins}. It
 * does not delete files; vacuum does. `deno task compact` and the runner reach it through
 * `applyCompaction` (`ops/`), which takes the lock and plans with the plugins.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { createPluginRegistry } from "../registry.ts";
 * import { compactionPlugin, compactTable, createCompactionContext } from "./mod.ts";
 *
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema });
 * for (let i = 0; i < 5; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 * }
 * const registry = createPluginRegistry([compactionPlugin({ strategy: "binpack" })]).freeze();
 * const result = await compactTable(storage, snapshot, {
 *   planner: (s) => registry.runPlanCompaction(s, createCompactionContext(storage, s)),
 * });
 * if (result.filesAfter !== 1) throw new Error(`expected one file, got ${result.filesAfter}`);
 * ```
 *
 * @module
 */
export {
  compactionPlugin,
  type CompactionPluginOptions,
  type CompactionStrategy,
} from "./compaction_plugin.ts";
export {
  checkReadBudgetOptions,
  isDue,
  numRecordsOf,
  partitionsToCompact,
  type PartitionTiers,
  planTieredBins,
  type PlanTieredOptions,
  planTiers,
  readBudgetOf,
  type ReadBudgetOptions,
  TIER_FANOUT_DEFAULT,
  tierCountOf,
  type TieredPlan,
  tierOf,
  type TierSummary,
  TRIGGER_FILES_DEFAULT,
  type TriggerOptions,
} from "./plan_tiered_bins.ts";
export { type CompactionContextOptions, createCompactionContext } from "./compaction_context.ts";
export {
  COMMIT_ATTEMPTS_MAX_DEFAULT,
  type CompactionMetrics,
  type CompactionPlanner,
  compactionPlanResult,
  type CompactionProgress,
  compactTable,
  type CompactTableOptions,
  type CompactTableResult,
  CONFLICT_RETRIES_MAX_DEFAULT,
  type FileSizeMetrics,
  MAX_CONCURRENT_IO_DEFAULT,
  OUTPUT_FILE_ROWS_MAX,
} from "./compact_table.ts";
export {
  checkCompactionPlan,
  checkPartitionFilter,
  type PartitionFilter,
} from "./check_compaction_plan.ts";
export {
  rewriteBin,
  type RewriteBinOptions,
  type RewriteEngine,
  type RewrittenBin,
} from "./rewrite_bin.ts";
export { duckdbCanRewrite, preloadDuckDB } from "./rewrite_bin_duckdb.ts";
export {
  commitRewrittenBins,
  type CommitRewrittenBinsOptions,
  type CommitRewrittenBinsResult,
} from "./commit_rewritten_bins.ts";
export {
  MIN_FILES_DEFAULT,
  parseByteSize,
  parsePartitionFilter,
  planCompactionBins,
  type PlanCompactionOptions,
  TARGET_FILE_SIZE_PROPERTY,
  TARGET_SIZE_BYTES_DEFAULT,
  targetSizeOf,
} from "./plan_compaction_bins.ts";
