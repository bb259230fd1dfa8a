/**
 * The runner's metrics, all labelled by `table` (the configured tables only, so label sets stay
 * bounded), rendered by `GET /metrics` in the Prometheus text format.
 *
 * | metric | type | meaning |
 * |---|---|---|
 * | `lakestrike_runner_requests_total{status}` | counter | answers of the batch endpoint by HTTP status |
 * | `lakestrike_runner_ack_latency_seconds{table}` | histogram | request arrival to `200` answer; a bucket at every table's SLA |
 * | `lakestrike_runner_ack_within_sla_total{table}` | counter | `200` answers within the table's `ackSlaMs` |
 * | `lakestrike_runner_ack_sla_breaches_total{table}` | counter | `200` answers over the table's `ackSlaMs` |
 * | `lakestrike_runner_ack_sla_seconds{table}` | gauge | the table's `ackSlaMs` |
 * | `lakestrike_runner_ack_p99_seconds{table}` | gauge | rolling p99 of the last minute's answers (0 without any) |
 * | `lakestrike_runner_ack_sla_crossings_total{table}` | counter | times the rolling p99 went over the SLA (each logged) |
 * | `lakestrike_runner_errors_total{table,error}` | counter | error answers of the batch endpoint by error code (`table` empty when unknown) |
 * | `lakestrike_runner_commit_latency_seconds{table}` | histogram | one `commitActions` call, put retries included |
 * | `lakestrike_runner_group_size_batches{table}` | histogram | batches per commit (group commit) |
 * | `lakestrike_runner_batches_total{table,outcome}` | counter | `committed`, `duplicate`, `rejected` (4xx), `failed` (5xx) |
 * | `lakestrike_runner_rows_total{table}` | counter | rows committed |
 * | `lakestrike_runner_bytes_total{table}` | counter | Arrow IPC body bytes of committed batches |
 * | `lakestrike_runner_files_total{table}` | counter | data files committed |
 * | `lakestrike_runner_commits_total{table}` | counter | versions written |
 * | `lakestrike_runner_conflicts_total{table}` | counter | put attempts lost to another writer, plus conflicts `commitActions` returned |
 * | `lakestrike_runner_retries_total{table}` | counter | group retries after reloading the snapshot on a conflict |
 * | `lakestrike_runner_buffer_depth{table}` | gauge | batches waiting for the next commit |
 * | `lakestrike_runner_table_version{table}` | gauge | version of the runner's in-memory snapshot |
 * | `lakestrike_runner_after_commit_skipped_total{table}` | counter | afterCommit runs skipped because `afterCommitPendingMax` runs were waiting |
 * | `lakestrike_runner_ceiling_waits_total{table}` | counter | groups that waited for the table's commits-per-second ceiling |
 *
 * @module
 */
import {
  type Counter,
  createPrometheusRegistry,
  type Gauge,
  type Histogram,
  LATENCY_BUCKETS_SECONDS,
  type PrometheusRegistry,
} from "./prometheus.ts";

/** Buckets of `lakestrike_runner_group_size_batches`. */
export const GROUP_SIZE_BUCKETS: readonly number[] = Object.freeze([1, 2, 4, 8, 16, 32, 64, 128]);

/** The runner's instruments and the registry that renders them. */
export interface RunnerMetrics {
  readonly registry: PrometheusRegistry;
  readonly requests: Counter;
  readonly ackLatency: Histogram;
  readonly commitLatency: Histogram;
  readonly groupSize: Histogram;
  readonly batches: Counter;
  readonly rows: Counter;
  readonly bytes: Counter;
  readonly files: Counter;
  readonly commits: Counter;
  readonly conflicts: Counter;
  readonly retries: Counter;
  readonly bufferDepth: Gauge;
  readonly tableVersion: Gauge;
  readonly afterCommitSkipped: Counter;
  readonly ceilingWaits: Counter;
  readonly ackWithinSla: Counter;
  readonly ackSlaBreaches: Counter;
  readonly ackSla: Gauge;
  readonly ackP99: Gauge;
  readonly ackSlaCrossings: Counter;
  readonly errors: Counter;
}

/** Options of {@linkcode createRunnerMetrics}. */
export interface RunnerMetricsOptions {
  /** Buckets of the ack histogram (default the latency buckets; the runner adds each SLA). */
  ackLatencyBucketsSeconds?: readonly number[];
}

/**
 * Create the runner's metrics in `registry` (a fresh one by default).
 *
 * @example
 * ```ts
 * import { createRunnerMetrics } from "./runner_metrics.ts";
 * const m = createRunnerMetrics();
 * m.commits.inc({ table: "events" });
 * if (!m.registry.render().includes('lakestrike_runner_commits_total{table="events"} 1')) {
 *   throw new Error("not rendered");
 * }
 * ```
 */
export function createRunnerMetrics(
  registry: PrometheusRegistry = createPrometheusRegistry(),
  options: RunnerMetricsOptions = {},
): RunnerMetrics {
  const p = "lakestrike_runner_";
  return {
    registry,
    requests: registry.counter(`${p}requests_total`, "Answers of the batch endpoint by status."),
    ackLatency: registry.histogram(
      `${p}ack_latency_seconds`,
      "Time from request arrival to the 200 answer.",
      options.ackLatencyBucketsSeconds ?? LATENCY_BUCKETS_SECONDS,
    ),
    commitLatency: registry.histogram(
      `${p}commit_latency_seconds`,
      "Time of one commit, put retries included.",
      LATENCY_BUCKETS_SECONDS,
    ),
    groupSize: registry.histogram(
      `${p}group_size_batches`,
      "Batches per commit.",
      GROUP_SIZE_BUCKETS,
    ),
    batches: registry.counter(`${p}batches_total`, "Batches by outcome."),
    rows: registry.counter(`${p}rows_total`, "Rows committed."),
    bytes: registry.counter(`${p}bytes_total`, "Arrow IPC bytes of committed batches."),
    files: registry.counter(`${p}files_total`, "Data files committed."),
    commits: registry.counter(`${p}commits_total`, "Versions written."),
    conflicts: registry.counter(
      `${p}conflicts_total`,
      "Commit attempts lost to another writer, plus conflicts returned.",
    ),
    retries: registry.counter(`${p}retries_total`, "Group retries after reloading the snapshot."),
    bufferDepth: registry.gauge(`${p}buffer_depth`, "Batches waiting for the next commit."),
    tableVersion: registry.gauge(`${p}table_version`, "Version of the in-memory snapshot."),
    afterCommitSkipped: registry.counter(
      `${p}after_commit_skipped_total`,
      "afterCommit runs skipped because too many were waiting.",
    ),
    ceilingWaits: registry.counter(
      `${p}ceiling_waits_total`,
      "Groups that waited for the table's commits-per-second ceiling.",
    ),
    ackWithinSla: registry.counter(
      `${p}ack_within_sla_total`,
      "200 answers within the table's ackSlaMs.",
    ),
    ackSlaBreaches: registry.counter(
      `${p}ack_sla_breaches_total`,
      "200 answers over the table's ackSlaMs.",
    ),
    ackSla: registry.gauge(`${p}ack_sla_seconds`, "The table's ackSlaMs, in seconds."),
    ackP99: registry.gauge(`${p}ack_p99_seconds`, "Rolling p99 of the last minute's answers."),
    ackSlaCrossings: registry.counter(
      `${p}ack_sla_crossings_total`,
      "Times the rolling ack p99 went over the table's SLA.",
    ),
    errors: registry.counter(`${p}errors_total`, "Error answers of the batch endpoint by code."),
  };
}
