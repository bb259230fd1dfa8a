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
 * The runner's maintenance schedule of a table. Compaction runs every `compactIntervalMs`
 * (300,000) when the table has enough small files; vacuum deletes files, so it runs (every
 * `vacuumIntervalMs`, 3,600,000) only when `vacuumEnabled` is true. Every field is optional.
 */
export interface MaintenanceSettings {
  /** Run compaction ticks; default true. */
  compactEnabled?: boolean;
  /** Time between compaction ticks; default the scheduler's `compactIntervalMs`. */
  compactIntervalMs?: number;
  /** Target file size of compaction; default `delta.targetFileSize`, else 128 MiB. */
  compactTargetSizeBytes?: number;
  /** Least small files per bin of the default planner; default 5. */
  compactMinFiles?: number;
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
