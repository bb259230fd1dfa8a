/**
 * Retention: built-in plugins that decide how long data and history stay
 * ({@linkcode keepLastVersionsPlugin}, {@linkcode partitionTtlPlugin}) and
 * {@linkcode applyDataRetention}, which commits the removes of expired data. Writing your own:
 * README.md ("Vacuum and retention").
 *
 * @example
 * ```ts
 * import { keepLastVersionsPlugin, partitionTtlPlugin } from "./mod.ts";
 * const plugins = [keepLastVersionsPlugin({ versions: 100 }), partitionTtlPlugin({ column: "date", days: 30 })];
 * if (plugins.length !== 2) throw new Error("unexpected");
 * ```
 *
 * @module
 */
export * from "./keep_last_versions_plugin.ts";
export * from "./partition_ttl_plugin.ts";
export * from "./apply_data_retention.ts";
