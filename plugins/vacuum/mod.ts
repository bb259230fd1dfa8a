/**
 * Vacuum: {@linkcode vacuumTable} deletes files a Delta table no longer references once they are
 * older than the retention horizon; {@linkcode vacuumPlugin} adds an operator's safety policy.
 *
 * @example
 * ```ts
 * import { vacuumPlugin, vacuumTable } from "./mod.ts";
 * if (typeof vacuumTable !== "function" || vacuumPlugin().name !== "vacuum-policy") {
 *   throw new Error("missing export");
 * }
 * ```
 *
 * @module
 */
export * from "./vacuum_table.ts";
export * from "./vacuum_plugin.ts";
