/**
 * The built-in compaction plugin: its `planCompaction` hook is {@linkcode planCompactionBins}.
 *
 * @module
 */
import { type Plugin, PLUGIN_API_VERSION } from "../types.ts";
import { planCompactionBins, type PlanCompactionOptions } from "./plan_compaction_bins.ts";

/** Options of {@linkcode compactionPlugin}: the planner's options. */
export type CompactionPluginOptions = PlanCompactionOptions;

/**
 * Make the built-in compaction plugin. Its `planCompaction` answers with the default bin-packing
 * plan (per partition, small files into bins of at least `minFiles`). The context's limits
 * `targetSizeBytes` and `minFiles`, when set (by `deno task compact` and the runner's schedule),
 * override the options. Its hook has order `post`: it always answers, so it is asked after every
 * other planner, whatever the registration order. The maintenance operations (`ops/`) register it
 * in every registry they plan with, unless a plugin of the same name replaces it.
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
          const planOptions: PlanCompactionOptions = { ...options };
          const target = ctx.limits.targetSizeBytes;
          if (target !== undefined) planOptions.targetSizeBytes = target;
          const minFiles = ctx.limits.minFiles;
          if (minFiles !== undefined) planOptions.minFiles = minFiles;
          return planCompactionBins(snapshot, planOptions);
        },
      },
    },
  };
}
