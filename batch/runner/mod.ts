/**
 * The batch runner: an HTTP intake (Hono) implementing the edge-to-runner wire contract over one
 * group-committing committer loop per table, with health and Prometheus metrics endpoints. No
 * `Deno.*` here: an entry point serves `createRunner(deps).app.fetch`.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { createPluginRegistry } from "../../plugins/registry.ts";
 * import { checkpointPlugin } from "../../plugins/checkpoint/mod.ts";
 * import { writerPlugin } from "../../plugins/writer/mod.ts";
 * import { createRunner } from "./mod.ts";
 * const storage = createMemoryStorage();
 * await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "n", type: "long", nullable: true, metadata: {} }] },
 * });
 * const runner = createRunner({
 *   tables: { events: { storage, uri: "memory://events" } },
 *   registry: createPluginRegistry([writerPlugin(), checkpointPlugin()]).freeze(),
 *   runnerToken: "secret",
 *   limits: { requestBodyBytesMax: 8 * 1024 * 1024 },
 * });
 * await runner.ready();
 * const health = await (await runner.app.request("/healthz")).json();
 * if (health.tables.events.version !== 0) throw new Error("not loaded");
 * await runner.close();
 * ```
 *
 * @module
 */
export {
  createRunner,
  PRODUCER_LENGTH_MAX,
  type Runner,
  RUNNER_LIMITS_DEFAULT,
  type RunnerDeps,
  type RunnerLimits,
  type RunnerTable,
  type RunnerTableStats,
} from "./runner.ts";
export {
  type BatchEntry,
  type BatchOutcome,
  type CommittedVersion,
  type Committer,
  COMMITTER_LIMITS_DEFAULT,
  type CommitterDeps,
  type CommitterLimits,
  type CommitterStats,
  type CommitterTable,
  type CommitterTimers,
  createCommitter,
  type RunnerCommitOptions,
} from "./committer.ts";
export {
  type CommitCeiling,
  COMMITS_PER_SECOND_MAX_DEFAULT,
  createCommitCeiling,
} from "./commit_ceiling.ts";
export { createRunnerMetrics, GROUP_SIZE_BUCKETS, type RunnerMetrics } from "./runner_metrics.ts";
export {
  type Counter,
  createPrometheusRegistry,
  escapeLabelValue,
  type Gauge,
  type Histogram,
  type Labels,
  LATENCY_BUCKETS_SECONDS,
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusRegistry,
} from "./prometheus.ts";
export {
  COMPACT_BINS_PER_RUN_MAX_DEFAULT,
  COMPACT_COMMIT_INTERVAL_BINS_DEFAULT,
  COMPACT_INTERVAL_MS_DEFAULT,
  type CompactionRunSummary,
  createMaintenanceScheduler,
  JITTER_RATIO_DEFAULT,
  MAINTENANCE_DURATION_BUCKETS_SECONDS,
  MAINTENANCE_INTERVAL_MS_MIN,
  MAINTENANCE_IO_CONCURRENCY_DEFAULT,
  MAINTENANCE_TABLES_MAX,
  type MaintenanceKind,
  type MaintenanceKindStats,
  type MaintenanceOutcome,
  type MaintenanceScheduler,
  type MaintenanceSchedulerOptions,
  type MaintenanceSchedulerStats,
  type MaintenanceSkipReason,
  type MaintenanceTable,
  type MaintenanceTimers,
  type MaintenanceTrigger,
  type NamedMaintenanceTable,
  registerMaintenanceMetrics,
  type TableMaintenanceSettings,
  VACUUM_INTERVAL_MS_DEFAULT,
  type VacuumRunSummary,
} from "./maintenance_scheduler.ts";
