/**
 * Vacuum as `deno task vacuum` and the runner's schedule both run it: one assembly of data
 * retention, vacuum and log cleanup, so the CLI and the schedule cannot drift apart.
 *
 * ```
 * take the table's vacuum lease (not for a dry run) ─▶ load latest
 *   ─▶ data retention: planDataRetention hooks, DELETE commit of their removes (dry run: plan only)
 *   ─▶ vacuumTable (retentionHorizon and filterVacuumCandidates hooks, floor, VACUUM START/END)
 *   ─▶ with `logs`: cleanupExpiredLogs below the newest qualifying checkpoint
 * ```
 *
 * Data retention runs only when the registry has `planDataRetention` hooks and `dataRetention` is
 * not turned off; an append-only table skips it with a warning (its files may not be removed). Its
 * removes are tombstones like any other: vacuum deletes their files once they are older than the
 * retention horizon (the same run, with a retention of zero hours).
 *
 * What it does not do: open the table (its caller does), or retry when another job holds the lease
 * (`MaintenanceLockHeldError`; the runner skips the tick, the CLI exits with the error).
 *
 * @module
 */
import { type Clock, systemClock } from "../core/clock.ts";
import type { Add } from "../core/log/actions.ts";
import { cleanupExpiredLogs, type CleanupExpiredLogsResult } from "../core/log/log_cleanup.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { noopLogger } from "../plugins/logger.ts";
import type { PluginRegistry } from "../plugins/registry.ts";
import { applyDataRetention } from "../plugins/retention/apply_data_retention.ts";
import type { Logger } from "../plugins/types.ts";
import {
  type VacuumMode,
  type VacuumProgress,
  type VacuumResult,
  vacuumTable,
} from "../plugins/vacuum/vacuum_table.ts";
import { type MaintainedTable, pluginTableOf, protocolOptionOf } from "./maintained_table.ts";
import { runExclusive } from "./maintenance_lock.ts";
import { createMaintenanceRegistry } from "./maintenance_registry.ts";

/** Options of {@linkcode applyVacuum}. Every default is the safe one. */
export interface ApplyVacuumOptions {
  /** The caller's frozen registry: retention and vacuum hooks (`createMaintenanceRegistry`). */
  plugins?: PluginRegistry;
  /** Commit the removes the `planDataRetention` hooks plan before vacuuming; default true. */
  dataRetention?: boolean;
  /** Retention in hours; default the table's `delta.deletedFileRetentionDuration` (168 h). */
  retentionHours?: number | undefined;
  /** Refuse a `retentionHours` below the table's retention; default true. */
  enforceRetention?: boolean;
  /** `full` (list the table root, the default) or `lite` (expired tombstones only). */
  mode?: VacuumMode;
  /** Plan only, without the lease: nothing is committed or deleted. */
  dryRun?: boolean;
  /** Also delete expired log files (`cleanupExpiredLogs`); default false. */
  logs?: boolean;
  /** Source of "now"; default the system clock. */
  clock?: Clock;
  /** Cancels the run between steps and delete batches. */
  signal?: AbortSignal;
  /** Where vacuum and plugins log; default none. */
  logger?: Logger;
  /** Delete calls in flight; default `vacuumTable`'s. */
  deleteConcurrency?: number;
  /** Top-level directories listed at once; default `vacuumTable`'s. */
  listConcurrency?: number;
  /** Called as listing and deleting progress. */
  onProgress?: (progress: VacuumProgress) => void;
}

/** What data retention did in {@linkcode applyVacuum}. */
export interface DataRetentionReport {
  /** Files whose data expired: removed (or, on a dry run, that would be). */
  files: Add[];
  /** Version of the `DELETE` commit, when one was written. */
  version?: number;
  /** Why nothing was planned: the table is append-only. */
  skipped?: "append_only";
}

/** What {@linkcode applyVacuum} did. */
export interface ApplyVacuumResult {
  /** Present when the registry has `planDataRetention` hooks and data retention is on. */
  retention?: DataRetentionReport;
  vacuum: VacuumResult;
  /** Present with `logs`. */
  logs?: CleanupExpiredLogsResult;
}

/**
 * Vacuum `table` (see the module documentation): under the table's `vacuum` lease unless it is a
 * dry run, commit the removes of expired data, delete what the retention no longer needs and, with
 * `logs`, the expired log files.
 *
 * @throws {MaintenanceLockHeldError} when another vacuum of the table holds the lease
 * @throws what `applyDataRetention`, `vacuumTable` and `cleanupExpiredLogs` throw (a retention below
 * the table's while it is enforced, an unsupported table, a failing hook, a commit that conflicts)
 *
 * @example
 * ```ts
 * import { createManualClock } from "../core/clock.ts";
 * import { createMemoryStorage } from "../core/storage/memory.ts";
 * import { createTable } from "../core/write/create_table.ts";
 * import { applyVacuum } from "./apply_vacuum.ts";
 * const clock = createManualClock(Date.UTC(2025, 0, 1));
 * const storage = createMemoryStorage({ clock });
 * await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "x", type: "long", nullable: true, metadata: {} }] },
 *   clock,
 * });
 * await storage.put("part-crashed.parquet", new Uint8Array(10)); // never committed
 * clock.advance(8 * 24 * 3_600_000);
 * const r = await applyVacuum({ storage }, { clock });
 * if (r.vacuum.files[0]?.path !== "part-crashed.parquet") throw new Error("not vacuumed");
 * ```
 */
export async function applyVacuum(
  table: MaintainedTable,
  options: ApplyVacuumOptions = {},
): Promise<ApplyVacuumResult> {
  const registry = createMaintenanceRegistry(options.plugins);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? noopLogger;
  const dryRun = options.dryRun ?? false;
  const storage = table.storage;
  const pluginTable = pluginTableOf(table);
  const job = async (
    signal: AbortSignal | undefined,
    storageClock?: Clock,
  ): Promise<ApplyVacuumResult> => {
    const signalOption = signal ? { signal } : {};
    const storageNow = storageClock === undefined ? {} : { storageClock };
    let snapshot = await loadSnapshot(storage, protocolOptionOf(table));
    const out: Partial<ApplyVacuumResult> = {};
    const wantsRetention = (options.dataRetention ?? true) &&
      registry.hookOrder("planDataRetention").length > 0;
    if (wantsRetention) {
      if (snapshot.metadata.configuration["delta.appendOnly"] === "true") {
        logger.warn("Vacuum: data retention skipped on an append-only table", {
          table: pluginTable.name,
        });
        out.retention = { files: [], skipped: "append_only" };
      } else {
        const applied = await applyDataRetention(storage, snapshot, registry, {
          clock,
          ...storageNow,
          dryRun,
          table: pluginTable,
          logger,
          ...signalOption,
          ...protocolOptionOf(table),
        });
        out.retention = { files: applied.files };
        if (applied.version !== undefined) out.retention.version = applied.version;
        snapshot = applied.snapshot;
      }
    }
    signal?.throwIfAborted();
    const vacuum = await vacuumTable(storage, snapshot, {
      plugins: registry,
      ...(options.retentionHours === undefined ? {} : { retentionHours: options.retentionHours }),
      enforceRetention: options.enforceRetention ?? true,
      mode: options.mode ?? "full",
      dryRun,
      clock,
      ...storageNow,
      table: pluginTable,
      logger,
      ...signalOption,
      ...(options.deleteConcurrency === undefined
        ? {}
        : { deleteConcurrency: options.deleteConcurrency }),
      ...(options.listConcurrency === undefined
        ? {}
        : { listConcurrency: options.listConcurrency }),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...protocolOptionOf(table),
    });
    const result: ApplyVacuumResult = { ...out, vacuum };
    if (!options.logs) return result;
    signal?.throwIfAborted();
    const latest = await loadSnapshot(storage, protocolOptionOf(table));
    // Like vacuum's horizon: the earlier of this host's clock and the storage's (ADR 0035).
    const logClock = storageClock === undefined
      ? clock
      : { nowMs: () => Math.min(clock.nowMs(), storageClock.nowMs()) };
    result.logs = await cleanupExpiredLogs(storage, latest, { dryRun, clock: logClock });
    return result;
  };
  // A dry run changes nothing, so it needs no lease.
  if (dryRun) return await job(options.signal);
  return await runExclusive(
    storage,
    "vacuum",
    (leaseSignal, storageClock) =>
      job(
        options.signal === undefined ? leaseSignal : AbortSignal.any([options.signal, leaseSignal]),
        storageClock,
      ),
    clock,
  );
}
