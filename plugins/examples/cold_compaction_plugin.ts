/**
 * An example of a team's own compaction plugin: compact only "cold" files, those whose
 * `modificationTime` is older than `minAgeMs`, so the partitions live writers are filling are left
 * alone until they settle (fewer rewrites of data that is about to grow anyway). It reuses the
 * built-in bin-packing ({@linkcode planCompactionBins}) on the cold files.
 *
 * It only plans; the rewrite and the commit are `compactTable`'s, and it deletes nothing.
 *
 * It imports lakestrike as a team's plugin would, through the package's entry points
 * (`@lakestrike/lakestrike` and `@lakestrike/lakestrike/plugins`), never through its internal files.
 *
 * @module
 */
import type { Snapshot } from "@lakestrike/lakestrike";
import {
  planCompactionBins,
  type PlanCompactionOptions,
  type Plugin,
  PLUGIN_API_VERSION,
} from "@lakestrike/lakestrike/plugins";

/** Options of {@linkcode coldCompactionPlugin}. */
export interface ColdCompactionPluginOptions extends PlanCompactionOptions {
  /** A file is cold when `ctx.clock.nowMs() - modificationTime >= minAgeMs`; default 1 hour. */
  minAgeMs?: number;
}

/**
 * Make the cold-files compaction plugin. Register it before (or instead of) the built-in
 * `compactionPlugin`: `planCompaction` is "first answer wins", and this one always answers.
 *
 * @example
 * ```ts
 * import { createManualClock, createMemoryStorage, type Snapshot } from "@lakestrike/lakestrike";
 * import { createCompactionContext, createPluginRegistry } from "@lakestrike/lakestrike/plugins";
 * import { coldCompactionPlugin } from "./cold_compaction_plugin.ts";
 *
 * const files = [0, 1, 2, 3_600_000].map((t, i) => ({
 *   path: `f${i}.parquet`, partitionValues: {}, size: 10, modificationTime: t, dataChange: true,
 * }));
 * const snapshot = { files, metadata: { partitionColumns: [], configuration: {} } } as unknown as Snapshot;
 * const registry = createPluginRegistry([coldCompactionPlugin({ minAgeMs: 3_600_000, minFiles: 2 })])
 *   .freeze();
 * const ctx = createCompactionContext(createMemoryStorage(), snapshot, {
 *   clock: createManualClock(3_600_002),
 * });
 * const bins = await registry.runPlanCompaction(snapshot, ctx);
 * // The file written at 3,600,000 is still hot: only the first three are planned.
 * if (bins?.length !== 1 || bins[0]!.files.length !== 3) throw new Error("unexpected plan");
 * ```
 */
export function coldCompactionPlugin(options: ColdCompactionPluginOptions = {}): Plugin {
  const minAgeMs = options.minAgeMs ?? 3_600_000;
  return {
    name: "cold-compaction",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      planCompaction(snapshot: Snapshot, ctx) {
        const horizon = ctx.clock.nowMs() - minAgeMs;
        const cold = snapshot.files.filter((f) => f.modificationTime <= horizon);
        const planOptions: PlanCompactionOptions = { ...options };
        const target = ctx.limits.targetSizeBytes;
        if (target !== undefined) planOptions.targetSizeBytes = target;
        const bins = planCompactionBins({ files: cold, metadata: snapshot.metadata }, planOptions);
        ctx.logger.info("planned cold bins", { coldFiles: cold.length, bins: bins.length });
        return bins;
      },
    },
  };
}
