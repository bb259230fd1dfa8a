/**
 * The built-in compaction plugin: its `planCompaction` hook is the tiered planner
 * ({@linkcode planTieredBins}, the default) or the bin-packing one ({@linkcode planCompactionBins}).
 *
 * @module
 */
import { type Plugin, PLUGIN_API_VERSION } from "../types.ts";
import { planCompactionBins, type PlanCompactionOptions } from "./plan_compaction_bins.ts";
import { planTieredBins } from "./plan_tiered_bins.ts";

/** The built-in planners: size tiers (default) or Delta `OPTIMIZE`'s bin-packing. */
export type CompactionStrategy = "tiered" | "binpack";

/** Options of {@linkcode compactionPlugin}: the planners' options and the strategy. */
export interface CompactionPluginOptions extends PlanCompactionOptions {
  /**
   * Default `tiered`, unless `minFiles` is given (a bin-packing setting): then `binpack`. The
   * context's `limits.strategy` overrides it.
   */
  strategy?: CompactionStrategy;
  /** Growth factor between two tiers of the tiered planner; default 10. */
  tierFanout?: number;
}

/**
 * Make the built-in compaction plugin. Its `planCompaction` answers with the tiered plan (size
 * classes growing by `tierFanout`; a bin merges files of one class of one partition into the next
 * class, see `plan_tiered_bins.ts`) or, with strategy `binpack`, with the bin-packing plan (per
 * partition, small files into bins of at least `minFiles`). The context's limits `targetSizeBytes`,
 * `minFiles`, `strategy`, `tierFanout` and `readAmplificationMax`, when set (by `deno task compact` and the runner's
 * schedule), override the options; a `minFiles` without a strategy asks for bin-packing, as it did
 * before the tiered planner existed. Its hook has order `post`: it always answers, so it is asked
 * after every other planner, whatever the registration order. The maintenance operations (`ops/`)
 * register it in every registry they plan with, unless a plugin of the same name replaces it.
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../registry.ts";
 * import { compactionPlugin } from "./compaction_plugin.ts";
 * const registry = createPluginRegistry([compactionPlugin({ minFiles: 2 })]).freeze();
 * if (registry.hookOrder("planCompaction")[0] !== "compaction") throw new Error("not registered");
 * ```
 */
export function compactionPlugin(options: CompactionPluginOptions = {}): Plugin {
  return {
    name: "compaction",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      planCompaction: {
        order: "post",
        handler(snapshot, ctx) {
          const { strategy: ownStrategy, tierFanout, ...planOptions } = options;
          const target = ctx.limits.targetSizeBytes;
          if (target !== undefined) planOptions.targetSizeBytes = target;
          const minFiles = ctx.limits.minFiles;
          if (minFiles !== undefined) planOptions.minFiles = minFiles;
          const strategy = ctx.limits.strategy ?? ownStrategy ??
            (planOptions.minFiles === undefined ? "tiered" : "binpack");
          if (strategy === "binpack") return planCompactionBins(snapshot, planOptions);
          const fanout = ctx.limits.tierFanout ?? tierFanout;
          const readMax = ctx.limits.readAmplificationMax;
          return planTieredBins(snapshot, {
            ...(planOptions.targetSizeBytes === undefined
              ? {}
              : { targetSizeBytes: planOptions.targetSizeBytes }),
            ...(planOptions.partitionFilter === undefined
              ? {}
              : { partitionFilter: planOptions.partitionFilter }),
            ...(fanout === undefined ? {} : { fanout }),
            ...(readMax === undefined ? {} : { readAmplificationMax: readMax }),
          });
        },
      },
    },
  };
}
