/**
 * The built-in vacuum policy plugin: an operator's extra safety rules for vacuum, registered like
 * any other plugin. It can only make vacuum keep more (a longer minimum retention, spared paths);
 * it never makes vacuum delete a file the Delta rules keep.
 *
 * @module
 */
import { InvalidArgumentError } from "../../core/errors.ts";
import { type Plugin, PLUGIN_API_VERSION } from "../types.ts";

/** Options of {@linkcode vacuumPlugin}. */
export interface VacuumPluginOptions {
  /** Keep removed and unreferenced files at least this long, whatever the table or flags say. */
  minRetentionHours?: number;
  /** Never delete files under these path prefixes (relative to the table root). */
  sparePrefixes?: readonly string[];
  /** Never delete a file for which this returns true. */
  spare?: (path: string) => boolean;
}

/**
 * Create the vacuum policy plugin.
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../registry.ts";
 * import { vacuumPlugin } from "./vacuum_plugin.ts";
 * const registry = createPluginRegistry([vacuumPlugin({ sparePrefixes: ["exports/"] })]).freeze();
 * if (registry.hookOrder("filterVacuumCandidates")[0] !== "vacuum-policy") throw new Error("missing");
 * ```
 */
export function vacuumPlugin(options: VacuumPluginOptions = {}): Plugin {
  const { minRetentionHours, sparePrefixes = [], spare } = options;
  if (
    minRetentionHours !== undefined &&
    (typeof minRetentionHours !== "number" || !Number.isFinite(minRetentionHours) ||
      minRetentionHours < 0)
  ) {
    throw new InvalidArgumentError(
      `Cannot create vacuumPlugin: minRetentionHours must be a non-negative number, got ${minRetentionHours}`,
    );
  }
  const prefixes = [...sparePrefixes];
  return {
    name: "vacuum-policy",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      retentionHorizon: minRetentionHours === undefined
        ? undefined
        : (_snapshot, ctx) => ctx.clock.nowMs() - minRetentionHours * 3_600_000,
      filterVacuumCandidates: prefixes.length === 0 && spare === undefined
        ? undefined
        : (paths) =>
          paths.filter((p) => !prefixes.some((prefix) => p.startsWith(prefix)) && !spare?.(p)),
    },
  };
}
