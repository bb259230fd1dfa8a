/**
 * The built-in checkpoint plugin.
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../registry.ts";
 * import { CHECKPOINT_PLUGIN_NAME, checkpointPlugin } from "./mod.ts";
 * const registry = createPluginRegistry([checkpointPlugin()]).freeze();
 * if (registry.hookOrder("afterCommit")[0] !== CHECKPOINT_PLUGIN_NAME) throw new Error("missing");
 * ```
 *
 * @module
 */
export {
  CHECKPOINT_PLUGIN_NAME,
  CHECKPOINT_TIMEOUT_MS_DEFAULT,
  type CheckpointEncoderHandle,
  checkpointPlugin,
  type CheckpointPluginOptions,
} from "./checkpoint_plugin.ts";
