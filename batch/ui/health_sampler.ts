/**
 * The runner's table-health sampler: once per `intervalMs` it reads the runner's own state (its
 * metrics, its in-memory snapshots, the maintenance scheduler's last outcomes, each table's
 * `_last_checkpoint`) and keeps, per table, a ring of the last `samplesMax` samples (ack p50 and
 * p99, events/s, commits/s, version) plus the latest table figures. `GET /metrics.json` answers
 * {@linkcode HealthSampler.report}; the dashboard (`dashboard.ts`) draws it. The same tick runs the
 * SLA check of the runner (`AckSla.check`: the p99 warnings), so a table that stops receiving
 * batches still recovers.
 *
 * ```
 *   tick (every intervalMs) ─▶ per table: rates from counter deltas, ack quantiles of the tick's
 *                              span, version ─▶ ring [ ... ≤ samplesMax ]
 *                           └▶ file figures when the version moved (tableHealth), last checkpoint
 *                              every checkpointEveryTicks ticks, maintenance outcomes when new
 * ```
 *
 * Nothing here writes to storage or blocks a commit: storage reads are one `_last_checkpoint`
 * get and head per table every few seconds, and a failed read keeps the previous figure.
 *
 * @module
 */
import { loadLastCheckpoint } from "../../core/log/last_checkpoint.ts";
import { LAST_CHECKPOINT_PATH } from "../../core/log/paths.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import type { Runner } from "../runner/runner.ts";
import type {
  MaintenanceOutcome,
  MaintenanceSchedulerStats,
} from "../runner/maintenance_scheduler.ts";
import { type TableHealth, tableHealth } from "../table_health.ts";
import { formatBytes } from "../format_bytes.ts";

/** Samples kept per table: five minutes at one a second. */
export const HEALTH_SAMPLES_MAX_DEFAULT = 300;

/** Time between samples. */
export const HEALTH_INTERVAL_MS_DEFAULT = 1_000;

/** Span of the ack quantiles of one sample: smooths a second with few answers. */
export const HEALTH_ACK_SPAN_MS_DEFAULT = 10_000;

/** Columns of a table's samples, oldest first, ready for a chart (`t` in epoch seconds). */
export interface HealthSeries {
  t: number[];
  ackP50Ms: (number | null)[];
  ackP99Ms: (number | null)[];
  eventsPerS: number[];
  commitsPerS: number[];
  version: (number | null)[];
}

/** One maintenance job as the dashboard shows it. */
export interface MaintenanceRun {
  status: MaintenanceOutcome["status"];
  /** When the sampler first saw this outcome (epoch ms): within one interval of its end. */
  atMs: number;
  durationMs: number;
  trigger: string | null;
  /** What it did, in a few words (`3 bins: 24 files → 3, 1.2 MiB written`). */
  did: string;
}

/** The report of one table. */
export interface TableReport {
  slaMs: number;
  version: number | null;
  /** Ack quantiles of the last span, answers within and over the SLA since start. */
  ack: {
    p50Ms: number | null;
    p99Ms: number | null;
    withinSla: number;
    breaches: number;
    /** The rolling p99 (one minute) is over the SLA. */
    breaching: boolean;
  };
  /** File figures at `health.version` (`null` before the first snapshot). */
  health: TableHealth | null;
  /** The last checkpoint's version and how long ago it was written, when known. */
  checkpoint: { version: number; ageMs: number } | null;
  compaction: MaintenanceRun | null;
  vacuum: MaintenanceRun | null;
  /** Error answers of the batch endpoint by code, since start. */
  errors: Record<string, number>;
  series: HealthSeries;
}

/** What `GET /metrics.json` answers. */
export interface HealthReport {
  nowMs: number;
  intervalMs: number;
  tables: Record<string, TableReport>;
}

/** The sampler (see the module doc). */
export interface HealthSampler {
  /** Take one sample of every table now (the timer calls it; tests may too). */
  tick(): Promise<void>;
  /** Arm the timer. */
  start(): void;
  /** Disarm it. */
  stop(): void;
  /** Everything sampled so far. */
  report(): HealthReport;
}

/** Options of {@linkcode createHealthSampler}. */
export interface HealthSamplerOptions {
  runner: Runner;
  /** The tables' storage (to read `_last_checkpoint`), by name. */
  tables: Readonly<Record<string, { storage: ObjectStorage }>>;
  /** The maintenance scheduler's stats, when it runs. */
  maintenance?: () => MaintenanceSchedulerStats;
  nowMs?: () => number;
  intervalMs?: number;
  samplesMax?: number;
  /** Ticks between reads of `_last_checkpoint` (default 5). */
  checkpointEveryTicks?: number;
}

interface TableState {
  series: HealthSeries;
  lastRows: number;
  lastCommits: number;
  health: TableHealth | null;
  checkpoint: { version: number; writtenAtMs: number } | null;
  runs: Record<"compact" | "vacuum", { outcome: MaintenanceOutcome; run: MaintenanceRun } | null>;
}

/** What a maintenance job did, in a few words. */
export function describeOutcome(o: MaintenanceOutcome): string {
  if (o.status === "skipped") return `skipped: ${o.reason}`;
  if (o.status === "failed") return `failed: ${String(o.error)}`;
  if (o.status === "aborted") return "aborted";
  if (o.compaction !== undefined) {
    const c = o.compaction;
    return `${c.bins} bins: ${c.filesRemoved} files → ${c.filesAdded}, ${
      formatBytes(c.bytesWritten)
    } written, ${c.versions.length} commits`;
  }
  if (o.vacuum !== undefined) {
    const v = o.vacuum;
    return `${v.files.length} files deleted (${formatBytes(v.bytes)})${
      v.expiredFiles ? `, ${v.expiredFiles} expired` : ""
    }`;
  }
  return "ran";
}

function emptySeries(): HealthSeries {
  return { t: [], ackP50Ms: [], ackP99Ms: [], eventsPerS: [], commitsPerS: [], version: [] };
}

/**
 * Create the sampler of a runner's tables.
 *
 * @example
 * ```ts ignore
 * const sampler = createHealthSampler({ runner, tables, maintenance: () => scheduler.stats() });
 * sampler.start();
 * // ... GET /metrics.json answers sampler.report()
 * sampler.stop();
 * ```
 */
export function createHealthSampler(options: HealthSamplerOptions): HealthSampler {
  const { runner } = options;
  const nowMs = options.nowMs ?? (() => Date.now());
  const intervalMs = options.intervalMs ?? HEALTH_INTERVAL_MS_DEFAULT;
  const samplesMax = options.samplesMax ?? HEALTH_SAMPLES_MAX_DEFAULT;
  const checkpointEvery = options.checkpointEveryTicks ?? 5;
  const metrics = runner.metrics;
  const states = new Map<string, TableState>();
  for (const name of Object.keys(options.tables)) {
    states.set(name, {
      series: emptySeries(),
      lastRows: metrics.rows.get({ table: name }),
      lastCommits: metrics.commits.get({ table: name }),
      health: null,
      checkpoint: null,
      runs: { compact: null, vacuum: null },
    });
  }
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticks = 0;
  let lastTickMs = nowMs();
  let ticking: Promise<void> | undefined;

  async function readCheckpoint(storage: ObjectStorage, s: TableState): Promise<void> {
    try {
      const hint = await loadLastCheckpoint(storage);
      if (hint === undefined) return;
      if (s.checkpoint?.version === hint.version) return;
      const meta = await storage.head(LAST_CHECKPOINT_PATH);
      s.checkpoint = { version: hint.version, writtenAtMs: meta?.lastModifiedMs ?? nowMs() };
    } catch {
      // Keep the previous figure: the dashboard must not fail on one storage error.
    }
  }

  async function sampleTable(name: string, s: TableState, now: number, dtS: number) {
    const rows = metrics.rows.get({ table: name });
    const commits = metrics.commits.get({ table: name });
    const q = runner.ackSla.quantiles(name, now, Math.max(intervalMs, HEALTH_ACK_SPAN_MS_DEFAULT));
    const version = runner.tableStats(name)?.version ?? null;
    const push = <K extends keyof HealthSeries>(key: K, v: HealthSeries[K][number]) => {
      const column = s.series[key] as HealthSeries[K][number][];
      column.push(v);
      if (column.length > samplesMax) column.shift();
    };
    push("t", now / 1000);
    push("ackP50Ms", q.p50Ms ?? null);
    push("ackP99Ms", q.p99Ms ?? null);
    push("eventsPerS", dtS > 0 ? (rows - s.lastRows) / dtS : 0);
    push("commitsPerS", dtS > 0 ? (commits - s.lastCommits) / dtS : 0);
    push("version", version);
    s.lastRows = rows;
    s.lastCommits = commits;
    const storage = options.tables[name]!.storage;
    if (ticks % checkpointEvery === 0) await readCheckpoint(storage, s);
    if (version !== null && (s.health === null || s.health.version !== version)) {
      try {
        const snapshot = await runner.tableSnapshot(name);
        if (snapshot !== undefined) {
          // A checkpoint may have been written since the last read: read it with new versions.
          await readCheckpoint(storage, s);
          s.health = tableHealth(snapshot, s.checkpoint?.version, nowMs());
        }
      } catch {
        // The table cannot be loaded now: keep the previous figures.
      }
    }
    const maintenance = options.maintenance?.().tables[name];
    for (const kind of ["compact", "vacuum"] as const) {
      const last = maintenance?.[kind].last;
      if (last !== undefined && s.runs[kind]?.outcome !== last) {
        s.runs[kind] = {
          outcome: last,
          run: {
            status: last.status,
            atMs: now,
            durationMs: last.durationMs,
            trigger: last.trigger ?? null,
            did: describeOutcome(last),
          },
        };
      }
    }
  }

  async function tick(): Promise<void> {
    const now = nowMs();
    const dtS = (now - lastTickMs) / 1000;
    lastTickMs = now;
    runner.ackSla.check(now);
    for (const [name, s] of states) await sampleTable(name, s, now, dtS);
    ticks++;
  }

  return {
    tick,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        // One tick at a time: a slow storage read skips a sample rather than piling them up.
        if (ticking !== undefined) return;
        ticking = tick().finally(() => (ticking = undefined));
      }, intervalMs);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    report() {
      const now = nowMs();
      const errorsByTable = new Map<string, Record<string, number>>();
      for (const { labels, value } of metrics.errors.series()) {
        const table = labels.table ?? "";
        const e = errorsByTable.get(table) ?? {};
        e[labels.error ?? "unknown"] = value;
        errorsByTable.set(table, e);
      }
      const tables: Record<string, TableReport> = {};
      for (const [name, s] of states) {
        const n = s.series.t.length;
        tables[name] = {
          slaMs: runner.ackSla.slaMs(name) ?? 0,
          version: runner.tableStats(name)?.version ?? null,
          ack: {
            p50Ms: n === 0 ? null : s.series.ackP50Ms[n - 1]!,
            p99Ms: n === 0 ? null : s.series.ackP99Ms[n - 1]!,
            withinSla: metrics.ackWithinSla.get({ table: name }),
            breaches: metrics.ackSlaBreaches.get({ table: name }),
            breaching: runner.ackSla.breaching(name),
          },
          health: s.health,
          checkpoint: s.checkpoint === null
            ? null
            : { version: s.checkpoint.version, ageMs: now - s.checkpoint.writtenAtMs },
          compaction: s.runs.compact?.run ?? null,
          vacuum: s.runs.vacuum?.run ?? null,
          errors: errorsByTable.get(name) ?? {},
          series: s.series,
        };
      }
      return { nowMs: now, intervalMs, tables };
    },
  };
}
