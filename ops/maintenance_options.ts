/**
 * A table's maintenance schedule settings, owned by the maintenance layer: the type the runner's
 * scheduler reads (`batch/runner/maintenance_scheduler.ts`) and the `tables[].maintenance`
 * section of `lakestrike.config.ts` are this one type, checked by this one schema
 * ({@linkcode checkMaintenance}, ADR 0028).
 *
 * A leaf module: it imports only the schema vocabulary of `config/section_schema.ts`.
 *
 * @module
 */
import {
  bool,
  checkSection,
  intIn,
  section,
  show,
  unknownSetting,
  z,
} from "../config/section_schema.ts";

/**
 * The runner's maintenance schedule of a table. Compaction runs when a partition has accumulated
 * enough small files (`compactTriggerFiles`, 50, or `compactTriggerBytes`, the target size), checked
 * after every commit, and every `compactIntervalMs` (300,000) as a fallback; it plans with size
 * tiers (`compactStrategy`, ADR 0036). Vacuum deletes files, so it runs (every `vacuumIntervalMs`,
 * 3,600,000) only when `vacuumEnabled` is true. Every field is optional.
 */
export interface MaintenanceSettings {
  /** Run compaction (triggered and timed); default true. */
  compactEnabled?: boolean;
  /** Time between compaction ticks (the fallback); default the scheduler's `compactIntervalMs`. */
  compactIntervalMs?: number;
  /** Target file size of compaction; default `delta.targetFileSize`, else 128 MiB. */
  compactTargetSizeBytes?: number;
  /**
   * Least small files per bin of the bin-packing planner; default 5. Set without
   * `compactStrategy`, it selects bin-packing (as `deno task compact --min-files`).
   */
  compactMinFiles?: number;
  /** The built-in planner: `tiered` (default) or `binpack` (Delta OPTIMIZE's). */
  compactStrategy?: "tiered" | "binpack";
  /** Growth factor between two tiers of the tiered planner; default 10. */
  compactTierFanout?: number;
  /** Compact a partition after a commit when it has accumulated enough small files; default true. */
  compactTriggerEnabled?: boolean;
  /** Small (not full) files of a partition that trigger its compaction; default 50. */
  compactTriggerFiles?: number;
  /**
   * Compact a partition that holds more files than a reader tolerates (its read budget, ADR 0051):
   * its smallest files merge across tiers; default true.
   */
  compactReadBudgetEnabled?: boolean;
  /** Bytes of small files of a partition that trigger its compaction; default the target size. */
  compactTriggerBytes?: number;
  /**
   * The rewrite engine of compaction: `auto` (default: DuckDB for the bins it rewrites exactly,
   * parquet-wasm for the others), `duckdb` or `wasm` (ADR 0043).
   */
  compactEngine?: "auto" | "duckdb" | "wasm";
  /**
   * DuckDB threads of the runner's compactions; default 1, so that ingest keeps a core (the
   * rewrite runs outside the event loop either way). `deno task compact` uses every core.
   */
  compactThreads?: number;
  /** Run vacuum ticks; default false (vacuum deletes files). */
  vacuumEnabled?: boolean;
  /** Time between vacuum ticks; default the scheduler's `vacuumIntervalMs`. */
  vacuumIntervalMs?: number;
  /** Vacuum retention in hours; default the table's `delta.deletedFileRetentionDuration`. */
  vacuumRetentionHours?: number;
  /** Commit the removes of expired data before vacuuming, when plugins plan any; default true. */
  vacuumApplyDataRetention?: boolean;
}

const hours = {
  error: (issue: { input?: unknown }) => `expected hours >= 0, got ${show(issue.input)}`,
};

/** The `tables[].maintenance` section's schema. */
export const MAINTENANCE_SECTION = section({
  compactEnabled: bool().optional(),
  compactIntervalMs: intIn(1_000, 7 * 86_400_000).optional(),
  compactTargetSizeBytes: intIn(1, 2 ** 40).optional(),
  compactMinFiles: intIn(1, 100_000).optional(),
  compactStrategy: z.enum(["tiered", "binpack"], {
    error: (issue: { input?: unknown }) =>
      `expected 'tiered' or 'binpack', got ${show(issue.input)}`,
  }).optional(),
  compactTierFanout: intIn(2, 1_000).optional(),
  compactTriggerEnabled: bool().optional(),
  compactTriggerFiles: intIn(2, 100_000).optional(),
  compactReadBudgetEnabled: bool().optional(),
  compactTriggerBytes: intIn(1, 2 ** 40).optional(),
  compactEngine: z.enum(["auto", "duckdb", "wasm"], {
    error: (issue: { input?: unknown }) =>
      `expected 'auto', 'duckdb' or 'wasm', got ${show(issue.input)}`,
  }).optional(),
  compactThreads: intIn(1, 1_024).optional(),
  vacuumEnabled: bool().optional(),
  vacuumIntervalMs: intIn(1_000, 30 * 86_400_000).optional(),
  vacuumRetentionHours: z.number(hours).min(0, hours).optional(),
  vacuumApplyDataRetention: bool().optional(),
}, unknownSetting);

/**
 * A table's maintenance settings (`{}` when absent); pushes every problem onto `issues`, named by
 * its path under `at`.
 *
 * @example
 * ```ts
 * import { checkMaintenance } from "./maintenance_options.ts";
 * const issues: string[] = [];
 * checkMaintenance({ compactMinFiles: 0 }, "tables[0].maintenance", issues);
 * if (issues[0] !== "tables[0].maintenance.compactMinFiles: expected an integer from 1 to 100000, got 0") {
 *   throw new Error(issues[0]);
 * }
 * checkMaintenance({ compactStrategy: "lsm" }, "m", issues);
 * if (issues[1] !== "m.compactStrategy: expected 'tiered' or 'binpack', got 'lsm'") throw new Error(issues[1]);
 * ```
 */
export function checkMaintenance(v: unknown, at: string, issues: string[]): MaintenanceSettings {
  if (v === undefined) return {};
  const parsed = checkSection(MAINTENANCE_SECTION, v, at, issues) ?? {};
  const out: MaintenanceSettings = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
