/**
 * Plugins of lakestrike: the plugin contract, the registry that checks plugins and runs their hooks,
 * the errors and loggers that go with them, and the built-in plugins (writer, checkpoint,
 * compaction, vacuum, retention). The plugin-author guide is `plugins/README.md`; the operations the
 * hooks serve (`compactTable`, `vacuumTable`) are the library's (`mod.ts`).
 *
 * @example
 * ```ts
 * import { createPluginRegistry, type Plugin, PLUGIN_API_VERSION } from "./mod.ts";
 *
 * function commitTagPlugin(options: { team: string }): Plugin {
 *   return {
 *     name: "commit-tag",
 *     apiVersion: PLUGIN_API_VERSION,
 *     hooks: {
 *       beforeCommit(draft) {
 *         draft.commitInfo.team = options.team;
 *       },
 *     },
 *   };
 * }
 *
 * const registry = createPluginRegistry([commitTagPlugin({ team: "ingest" })]).freeze();
 * if (registry.hookOrder("beforeCommit")[0] !== "commit-tag") throw new Error("not registered");
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export {
  createMemoryLogger,
  type LogLevel,
  type LogRecord,
  type MemoryLogger,
  noopLogger,
  withLogFields,
} from "./logger.ts";
export {
  createPluginRegistry,
  HOOK_TIMEOUT_MS_DEFAULT,
  type PluginRegistry,
  type PluginRegistryOptions,
} from "./registry.ts";
// The built-in plugins, and what a plugin's own hooks build on.
export { WRITER_PLUGIN_NAME, writerPlugin, type WriterPluginOptions } from "./writer/mod.ts";
export {
  CHECKPOINT_PLUGIN_NAME,
  checkpointPlugin,
  type CheckpointPluginOptions,
} from "./checkpoint/mod.ts";
export {
  type CompactionContextOptions,
  compactionPlugin,
  type CompactionPluginOptions,
  createCompactionContext,
  planCompactionBins,
  type PlanCompactionOptions,
} from "./compaction/mod.ts";
export { vacuumPlugin, type VacuumPluginOptions } from "./vacuum/mod.ts";
export {
  type KeepLastVersionsOptions,
  keepLastVersionsPlugin,
  type PartitionTtlOptions,
  partitionTtlPlugin,
  planPartitionTtl,
} from "./retention/mod.ts";
