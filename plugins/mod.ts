/**
 * Plugins of lakestrike: the plugin contract, the registry that checks plugins and runs their hooks,
 * and the errors and loggers that go with them. The plugin-author guide is `plugins/README.md`.
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
export * from "./logger.ts";
export { callHook, type CallHookOptions } from "./call_hook.ts";
export {
  createPluginRegistry,
  HOOK_TIMEOUT_MS_DEFAULT,
  type PluginRegistry,
  type PluginRegistryOptions,
} from "./registry.ts";
export * from "./writer/mod.ts";
export * from "./checkpoint/mod.ts";
export * from "./compaction/mod.ts";
export * from "./vacuum/mod.ts";
export * from "./retention/mod.ts";
