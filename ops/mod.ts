/**
 * The maintenance operations, assembled once for every entry point: `deno task compact`,
 * `deno task vacuum` and the runner's maintenance schedule all call {@linkcode applyCompaction} and
 * {@linkcode applyVacuum}. Each takes a table its caller opened ({@linkcode MaintainedTable}) and the
 * caller's plugins, to which the built-in maintenance plugins are added
 * ({@linkcode createMaintenanceRegistry}); each runs under the table's maintenance lease
 * ({@linkcode runExclusive}). The operations themselves live in `plugins/compaction`,
 * `plugins/vacuum`, `plugins/retention` and `core/log`; this layer only decides what runs, in which
 * order, with which plugins, under which lock (ADR 0024). Every entry point opens its table with
 * {@linkcode openTable} (the commit protocol, its repair, create-if-missing; ADR 0029).
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../core/storage/memory.ts";
 * import { appendBatch, createTable } from "../core/write/mod.ts";
 * import { applyCompaction, applyVacuum } from "./mod.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema });
 * for (let i = 0; i < 5; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 * }
 * const compacted = await applyCompaction({ storage });
 * if (compacted.compaction.filesAfter !== 1) throw new Error("not compacted");
 * const vacuumed = await applyVacuum({ storage }, { dryRun: true });
 * if (vacuumed.vacuum.files.length !== 0) throw new Error("inside the retention window");
 * ```
 *
 * @module
 */
export {
  applyCompaction,
  type ApplyCompactionOptions,
  type ApplyCompactionResult,
} from "./apply_compaction.ts";
export {
  applyVacuum,
  type ApplyVacuumOptions,
  type ApplyVacuumResult,
  type DataRetentionReport,
} from "./apply_vacuum.ts";
export { type MaintainedTable, pluginTableOf } from "./maintained_table.ts";
export {
  MAINTENANCE_LEASE_MS,
  MaintenanceLockHeldError,
  maintenanceLockPath,
  runExclusive,
} from "./maintenance_lock.ts";
export { createMaintenanceRegistry, maintenancePlugins } from "./maintenance_registry.ts";
export {
  type CreateIfMissing,
  type OpenedTable,
  openTable,
  type OpenTableOptions,
} from "./open_table.ts";
