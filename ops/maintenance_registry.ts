/**
 * The plugin registry maintenance runs with: the caller's plugins, then the built-in maintenance
 * plugins. The built-ins are plugins like any other (no operation has a fallback of its own): today
 * {@linkcode compactionPlugin}, the default bin-packing planner, whose `planCompaction` hook has
 * order `post`, so a team's planners are asked first whatever the registration order. A plugin of
 * the same name replaces a built-in (as the runner's config replaces its writer).
 *
 * @module
 */
import { InvalidArgumentError } from "../core/errors.ts";
import { compactionPlugin } from "../plugins/compaction/compaction_plugin.ts";
import { createPluginRegistry, type PluginRegistry } from "../plugins/registry.ts";
import type { Plugin } from "../plugins/types.ts";

/** The built-in maintenance plugins, fresh: today the default compaction planner. */
export function maintenancePlugins(): Plugin[] {
  return [compactionPlugin()];
}

/**
 * A frozen registry of `plugins` (a list, or a registry its owner froze and maybe set up) followed
 * by the built-in {@linkcode maintenancePlugins} whose names are not taken. A registry that already
 * holds every built-in is returned as it is; otherwise it is extended (`registry.extend`), which
 * leaves it unchanged.
 *
 * @throws {InvalidArgumentError} when `plugins` is a registry that is not frozen
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../plugins/registry.ts";
 * import { createMaintenanceRegistry } from "./maintenance_registry.ts";
 * const team = createPluginRegistry([]).freeze();
 * const registry = createMaintenanceRegistry(team);
 * if (registry.hookOrder("planCompaction").join() !== "compaction") throw new Error("not registered");
 * if (createMaintenanceRegistry(registry) !== registry) throw new Error("registered twice");
 * ```
 */
export function createMaintenanceRegistry(
  plugins: PluginRegistry | readonly Plugin[] = [],
): PluginRegistry {
  const list = Array.isArray(plugins) ? plugins as readonly Plugin[] : undefined;
  const names = new Set(list ? list.map((p) => p.name) : (plugins as PluginRegistry).pluginNames);
  const builtins = maintenancePlugins().filter((p) => !names.has(p.name));
  if (list) return createPluginRegistry([...list, ...builtins]).freeze();
  const registry = plugins as PluginRegistry;
  if (!registry.frozen) {
    throw new InvalidArgumentError("Cannot run maintenance: the plugin registry is not frozen");
  }
  return builtins.length === 0 ? registry : registry.extend(builtins).freeze();
}
