/**
 * Example plugins a team can copy: {@linkcode coldCompactionPlugin} plans compaction of cold
 * files only. See README.md ("Compaction").
 *
 * @example
 * ```ts
 * import { coldCompactionPlugin } from "./mod.ts";
 * if (coldCompactionPlugin().name !== "cold-compaction") throw new Error("unexpected name");
 * ```
 *
 * @module
 */
export {
  coldCompactionPlugin,
  type ColdCompactionPluginOptions,
} from "./cold_compaction_plugin.ts";
