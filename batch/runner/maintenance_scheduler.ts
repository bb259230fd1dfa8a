/**
 * The runner's maintenance schedule: per table, compaction when a partition has accumulated
 * enough small files (checked after every commit), a compaction tick every `compactIntervalMs` as a
 * fallback (default 300 s, docs/design.md section 7) and, when the table enables it, a vacuum tick
 * every `vacuumIntervalMs` (default one hour; vacuum deletes files, so it is off unless enabled).
 *
 * The trigger (ADR 0036): the runner tells {@linkcode MaintenanceScheduler.notifyCommitted} of
 * every commit, after its answers; it only keeps the snapshot and arms a zero-delay timer, so
 * nothing is added to the commit path. The timer's check runs the tiered planner's trigger over
 * that snapshot in memory (`partitionsToCompact`: a partition whose small files reach
 * `compactTriggerFiles`, 50, or `compactTriggerBytes`, the target size, and for which the plan is
 * not empty) and queues one compaction job for those partitions only. While a compaction of the
 * table is queued or running, checks wait for the next commit after it, and a snapshot older than
 * the scheduler's own last compaction commit is ignored. Under sustained ingest the jobs therefore
 * follow each other as long as partitions fill up, each bounded by `compactBinsPerRunMax`; under
 * light load nothing is planned until a partition is due, and a partition already at its tiers is
 * never due.
 *
 * ```
 *  commit ─▶ notifyCommitted (note the snapshot) ─▶ timer 0 ms ─▶ partitionsToCompact
 *                                                                   │ some partitions due
 *                                                                   ▼
 *                                         queue: compact job {trigger: accumulated, partitions}
 * ```
 *
 * Every (table, kind) pair is a small state machine. Its timer fires, the job joins the process's
 * one maintenance queue (FIFO, at most one entry per pair, so the queue holds at most two entries
 * per table), runs when the single slot is free, and only when it has finished is the next timer
 * armed, jittered by `jitterRatio` so tables do not tick together. One job at a time in the whole
 * process keeps the CPU and the storage round trips that ingest acks need (docs/design.md
 * section 8).
 *
 * ```
 *            timer fires              slot free                 done / skipped / failed
 *   idle ─────────────────▶ queued ────────────────▶ running ─────────────────────────▶ idle
 *    ▲  (next timer armed)                              │ stop(): abort, wait
 *    └──────────────────────────────────────────────────┘
 * ```
 *
 * A tick runs the same operation as the CLI (`ops/`), with the runner's registry plus the built-in
 * maintenance plugins. A compaction job runs `applyCompaction` (once per partition for a triggered
 * job, with that partition as its filter) with the strategy `compactStrategy`, default `tiered`
 * (`binpack` when only `compactMinFiles` is set, as the CLI's `--min-files`): it plans on the
 * latest snapshot (the registry's `planCompaction` plugins, then the built-in `compactionPlugin`)
 * and with no bin is skipped without touching the lock; otherwise it takes the table's `compact`
 * lease, plans again on the newest snapshot and rewrites at most `compactBinsPerRunMax` bins,
 * `compactCommitIntervalBins` (8) to a commit, with a turn of the event loop between commits and I/O
 * waits between files (appends landing meanwhile never fail it, see `compactTable`), with
 * `ioConcurrencyMax` reads and writes in flight. A vacuum tick runs
 * `applyVacuum` under the `vacuum` lease: it commits the removes of expired data when the registry
 * has `planDataRetention` plugins (unless `vacuumApplyDataRetention` is false), then vacuums in full
 * mode with the table's retention, enforced. A lease held by someone else skips the tick; a failure
 * is logged and counted and the next tick runs as usual. Nothing here is on the ingest commit path.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Action } from "../../core/log/actions.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { applyCompaction } from "../../ops/apply_compaction.ts";
import { applyVacuum } from "../../ops/apply_vacuum.ts";
import type { MaintainedTable } from "../../ops/maintained_table.ts";
import { MaintenanceLockHeldError } from "../../ops/maintenance_lock.ts";
import { createMaintenanceRegistry } from "../../ops/maintenance_registry.ts";
import type { MaintenanceSettings } from "../../ops/maintenance_options.ts";
import { partitionsToCompact } from "../../plugins/compaction/plan_tiered_bins.ts";
import { noopLogger } from "../../plugins/logger.ts";
import type { PluginRegistry } from "../../plugins/registry.ts";
import type { Logger } from "../../plugins/types.ts";
import type { RunnerCommitOptions } from "./committer.ts";
import type { PrometheusRegistry } from "./prometheus.ts";

/** Default time between two compaction ticks of a table: 300 s (docs/design.md section 7). */
export const COMPACT_INTERVAL_MS_DEFAULT = 300_000;
/** Default time between two vacuum ticks of a table: one hour. */
export const VACUUM_INTERVAL_MS_DEFAULT = 3_600_000;
/** Default jitter: each delay is the interval times a random factor in [0.9, 1.1). */
export const JITTER_RATIO_DEFAULT = 0.1;
/** Default storage reads and writes in flight during a scheduled compaction (the CLI uses 8). */
export const MAINTENANCE_IO_CONCURRENCY_DEFAULT = 2;
/** Default bins rewritten per compaction tick at most; the rest waits for the next tick. */
export const COMPACT_BINS_PER_RUN_MAX_DEFAULT = 64;
/**
 * Default bins per compaction commit: tiered bins are small (three to ten files), and one commit
 * each would add a version per bin to the table's log (ADR 0036).
 */
export const COMPACT_COMMIT_INTERVAL_BINS_DEFAULT = 8;
/** DuckDB threads of a runner's compaction: one core stays with ingest (ADR 0043). */
export const COMPACT_THREADS_DEFAULT = 1;
/** Shortest interval accepted, so a typo cannot turn the schedule into a busy loop. */
export const MAINTENANCE_INTERVAL_MS_MIN = 1_000;
/** Most tables one scheduler serves. */
export const MAINTENANCE_TABLES_MAX = 10_000;

/** The two kinds of maintenance job. */
export type MaintenanceKind = "compact" | "vacuum";

/**
 * Per-table maintenance settings; every field is optional (defaults in the constants above). The
 * type is the maintenance layer's (`ops/maintenance_options.ts`), the config's section too.
 */
export type TableMaintenanceSettings = MaintenanceSettings;

/**
 * A table the scheduler maintains. A `RunnerTable` (`{storage, uri, commitOptions}`) fits as is;
 * `protocol` wins over `commitOptions.protocol`.
 */
export interface MaintenanceTable {
  /** Storage scoped to the table root. */
  storage: ObjectStorage;
  /** The table's URI as plugins see it; default `storage.location`. */
  uri?: string;
  /** The table's commit protocol. */
  protocol?: CommitProtocol;
  /** The runner's commit options; only `protocol` is used. */
  commitOptions?: RunnerCommitOptions;
  /** This table's settings. */
  maintenance?: TableMaintenanceSettings;
}

/** A table of a list form of {@linkcode MaintenanceSchedulerOptions.tables}. */
export interface NamedMaintenanceTable extends MaintenanceTable {
  /** Table name (as the runner and metrics know it). */
  name: string;
}

/** `setTimeout` / `clearTimeout`, injectable for tests. */
export interface MaintenanceTimers {
  /** Call `fn` after `delayMs`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, delayMs: number): unknown;
  /** Cancel a timer; an unknown or fired handle is ignored. */
  clearTimeout(handle: unknown): void;
}

/** Why a job did nothing. */
export type MaintenanceSkipReason =
  /** Another process (or an operator's CLI) holds the table's maintenance lease. */
  | "lock_held"
  /** The planner found no bin: not enough small files. */
  | "nothing_to_do"
  /** The kind is disabled for the table. */
  | "disabled"
  /** The scheduler was stopped before the job started. */
  | "stopped";

/** What one compaction job did. */
export interface CompactionRunSummary {
  /** Versions committed, one per `compactCommitIntervalBins` rewritten bins. */
  versions: number[];
  /** Bins rewritten. */
  bins: number;
  /** Active files before and after. */
  filesBefore: number;
  filesAfter: number;
  /** Files removed and added by the commits. */
  filesRemoved: number;
  filesAdded: number;
  /** Rows rewritten. */
  rowsWritten: number;
  /** Bins planned that were left for the next tick (over `compactBinsPerRunMax`). */
  binsDeferred: number;
  /** Bytes of the files removed and of the files written. */
  bytesRemoved: number;
  bytesWritten: number;
  /**
   * The table's write amplification since the scheduler started: bytes written by compaction over
   * bytes of data files ingested (as told by `notifyCommitted`); 0 before any ingest was told.
   */
  writeAmplification: number;
  /** The partitions a triggered job compacted (absent for a timed or manual job: all of them). */
  partitions?: Record<string, string | null>[];
}

/** What one vacuum job did. */
export interface VacuumRunSummary {
  /** Files deleted, sorted. */
  files: string[];
  /** Bytes deleted. */
  bytes: number;
  /** Horizon used (epoch ms). */
  horizonMs: number;
  /** Files whose data expired and were removed first (`applyDataRetention`). */
  expiredFiles: number;
  /** Version of the data retention commit, when one was written. */
  retentionVersion?: number;
}

/**
 * What started a job: its timer, the small files that accumulated after commits (compaction only),
 * or a `runOnce` call.
 */
export type MaintenanceTrigger = "timer" | "accumulated" | "manual";

/** The outcome of one job. */
export type MaintenanceOutcome =
  & { table: string; kind: MaintenanceKind; durationMs: number; trigger?: MaintenanceTrigger }
  & (
    | { status: "ran"; compaction?: CompactionRunSummary; vacuum?: VacuumRunSummary }
    | { status: "skipped"; reason: MaintenanceSkipReason }
    | { status: "failed"; error: unknown }
    /** `stop()` aborted it while it ran; uncommitted work was dropped. */
    | { status: "aborted" }
  );

/** Counters of one (table, kind). */
export interface MaintenanceKindStats {
  /** The kind ticks for this table. */
  enabled: boolean;
  /** Jobs that did their work. */
  runs: number;
  /** Jobs that did nothing, by reason. */
  skips: Record<MaintenanceSkipReason, number>;
  /** Jobs that failed. */
  failures: number;
  /** Jobs aborted by `stop()`. */
  aborts: number;
  /** Clock time the next tick is due, when its timer is armed. */
  nextTickAtMs?: number;
  /** Jobs started by accumulated small files (compaction; included in `runs` and `skips`). */
  triggered: number;
  /** The last outcome. */
  last?: MaintenanceOutcome;
}

/** State of the scheduler. */
export interface MaintenanceSchedulerStats {
  /** True between `start()` and `stop()`. */
  started: boolean;
  /** The job holding the slot. */
  running?: { table: string; kind: MaintenanceKind; startedAtMs: number };
  /** Jobs waiting for the slot. */
  queued: number;
  /** Per table, per kind. */
  tables: Record<string, Record<MaintenanceKind, MaintenanceKindStats>>;
  /** Per table: bytes ingested (told by `notifyCommitted`) and written by compaction since start. */
  writeAmplification: Record<
    string,
    { ingestedBytes: number; compactionBytesWritten: number; ratio: number }
  >;
}

/** Options of {@linkcode createMaintenanceScheduler}. */
export interface MaintenanceSchedulerOptions {
  /** The tables: the runner's table map (`Map` or record) or a list of named tables. */
  tables:
    | ReadonlyMap<string, MaintenanceTable>
    | Readonly<Record<string, MaintenanceTable>>
    | readonly NamedMaintenanceTable[];
  /** The frozen plugin registry (set up by its owner): planners and retention hooks. */
  registry: PluginRegistry;
  /** Source of "now" for retention, commit timestamps and durations; default the system clock. */
  clock?: Clock;
  /** Default the global `setTimeout` / `clearTimeout`. */
  timers?: MaintenanceTimers;
  /** Source of jitter in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Default drops everything. */
  logger?: Logger;
  /** Called after every job (metrics); an exception in it is logged and ignored. */
  onOutcome?: (outcome: MaintenanceOutcome) => void;
  /** Default time between compaction ticks; {@linkcode COMPACT_INTERVAL_MS_DEFAULT}. */
  compactIntervalMs?: number;
  /** Default time between vacuum ticks; {@linkcode VACUUM_INTERVAL_MS_DEFAULT}. */
  vacuumIntervalMs?: number;
  /** Relative jitter of every delay, in [0, 1); {@linkcode JITTER_RATIO_DEFAULT}. */
  jitterRatio?: number;
  /** Storage operations in flight per job; {@linkcode MAINTENANCE_IO_CONCURRENCY_DEFAULT}. */
  ioConcurrencyMax?: number;
  /** Bins per compaction job at most; {@linkcode COMPACT_BINS_PER_RUN_MAX_DEFAULT}. */
  compactBinsPerRunMax?: number;
  /** Bins per compaction commit; {@linkcode COMPACT_COMMIT_INTERVAL_BINS_DEFAULT}. */
  compactCommitIntervalBins?: number;
}

/** The scheduler. */
export interface MaintenanceScheduler {
  /** Arm every table's timers; idempotent. The first tick of each comes at a random point of its interval. */
  start(): void;
  /** Disarm the timers, drop queued jobs, abort the running one and wait for it. Idempotent. */
  stop(): Promise<void>;
  /** Run one job now through the queue (one job at a time still holds). Rejects for an unknown table. */
  runOnce(table: string, kind: MaintenanceKind): Promise<MaintenanceOutcome>;
  /** Resolves when no job runs or waits. */
  idle(): Promise<void>;
  /**
   * Tell the scheduler that `table` committed (the runner's `onCommitted`). It only takes note of
   * the snapshot and the bytes ingested; a zero-delay timer then checks, off the commit path,
   * whether a partition holds enough small files (`compactTriggerFiles`, `compactTriggerBytes`) and
   * queues a compaction of those partitions. An unknown table is ignored.
   */
  notifyCommitted(table: string, commit: { snapshot: Snapshot; actions?: readonly Action[] }): void;
  /** Counters and state. */
  stats(): MaintenanceSchedulerStats;
}

interface TableEntry {
  name: string;
  storage: ObjectStorage;
  uri: string;
  protocol: CommitProtocol | undefined;
  settings: TableMaintenanceSettings;
}

interface Pair {
  table: TableEntry;
  kind: MaintenanceKind;
  enabled: boolean;
  intervalMs: number;
  timer: unknown;
  stats: MaintenanceKindStats;
  /** The queued or running job of this pair: a second request shares it. */
  pending: Promise<MaintenanceOutcome> | undefined;
  /** The newest snapshot `notifyCommitted` told of (compaction), until a check reads it. */
  latest: Snapshot | undefined;
  /** The armed zero-delay timer of the trigger's check (compaction). */
  checkTimer: unknown;
  ingestedBytes: number;
  compactionBytesWritten: number;
  /** The newest version a compaction of this scheduler committed: older told snapshots are stale. */
  compactedVersion: number;
  /**
   * The newest snapshot of the table this scheduler knows (told by a commit, or its own
   * compaction's), and when it learned it: the timer's job plans on it while it is recent.
   */
  known: { snapshot: Snapshot; atMs: number } | undefined;
}

/** What a queued job does: its trigger, and for an accumulated one the partitions to compact. */
interface JobRequest {
  trigger: MaintenanceTrigger;
  partitions?: Record<string, string | null>[];
  /** The snapshot the trigger planned on: the job plans and commits on it without loading. */
  snapshot?: Snapshot;
}

interface QueueEntry {
  pair: Pair;
  request: JobRequest;
  resolve: (outcome: MaintenanceOutcome) => void;
}

const defaultTimers: MaintenanceTimers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

function checkInterval(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < MAINTENANCE_INTERVAL_MS_MIN) {
    throw new InvalidArgumentError(
      `Cannot schedule maintenance: ${name} must be an integer >= ${MAINTENANCE_INTERVAL_MS_MIN}, got ${value}`,
    );
  }
  return value;
}

function checkPositiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `Cannot schedule maintenance: ${name} must be a positive integer, got ${value}`,
    );
  }
  return value;
}

function tableEntries(tables: MaintenanceSchedulerOptions["tables"]): TableEntry[] {
  const list: [string, MaintenanceTable][] = Array.isArray(tables)
    ? (tables as readonly NamedMaintenanceTable[]).map((t) => [t.name, t])
    : tables instanceof Map
    ? [...(tables as ReadonlyMap<string, MaintenanceTable>)]
    : Object.entries(tables as Readonly<Record<string, MaintenanceTable>>);
  if (list.length > MAINTENANCE_TABLES_MAX) {
    throw new InvalidArgumentError(
      `Cannot schedule maintenance of ${list.length} tables: at most ${MAINTENANCE_TABLES_MAX}`,
    );
  }
  const seen = new Set<string>();
  return list.map(([name, t]) => {
    if (seen.has(name)) {
      throw new InvalidArgumentError(
        `Cannot schedule maintenance: table '${name}' is listed twice`,
      );
    }
    seen.add(name);
    return {
      name,
      storage: t.storage,
      uri: t.uri ?? t.storage.location,
      protocol: t.protocol ?? t.commitOptions?.protocol,
      settings: t.maintenance ?? {},
    };
  });
}

/** Bytes written by compaction over bytes ingested, 0 before any ingest. */
function writeAmplificationOf(
  pair: { ingestedBytes: number; compactionBytesWritten: number },
): number {
  return pair.ingestedBytes === 0 ? 0 : pair.compactionBytesWritten / pair.ingestedBytes;
}

const emptySkips = (): Record<MaintenanceSkipReason, number> => ({
  lock_held: 0,
  nothing_to_do: 0,
  disabled: 0,
  stopped: 0,
});

/**
 * Create the maintenance scheduler of a runner. See the module documentation for what a tick does.
 *
 * @example
 * ```ts
 * import { createManualClock } from "../../core/clock.ts";
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { createPluginRegistry } from "../../plugins/registry.ts";
 * import { createMaintenanceScheduler } from "./maintenance_scheduler.ts";
 *
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
 * const scheduler = createMaintenanceScheduler({
 *   // One-row files: bin-packing compacts them; the default, tiered, waits for more rows.
 *   tables: { events: { storage, uri: "memory://events", maintenance: { compactStrategy: "binpack" } } },
 *   registry: createPluginRegistry([]).freeze(),
 *   clock: createManualClock(Date.UTC(2025, 0, 1)),
 * });
 * const outcome = await scheduler.runOnce("events", "compact");
 * if (outcome.status !== "ran" || outcome.compaction?.filesAfter !== 1) throw new Error("not compacted");
 * await scheduler.stop();
 * ```
 */
export function createMaintenanceScheduler(
  options: MaintenanceSchedulerOptions,
): MaintenanceScheduler {
  if (!options.registry.frozen) {
    throw new InvalidArgumentError(
      "Cannot schedule maintenance: the plugin registry is not frozen",
    );
  }
  // The runner's registry plus the built-in maintenance plugins, once for every job.
  const registry = createMaintenanceRegistry(options.registry);
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? defaultTimers;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? noopLogger;
  const jitterRatio = options.jitterRatio ?? JITTER_RATIO_DEFAULT;
  if (!(jitterRatio >= 0 && jitterRatio < 1)) {
    throw new InvalidArgumentError(
      `Cannot schedule maintenance: jitterRatio must be in [0, 1), got ${jitterRatio}`,
    );
  }
  const compactIntervalMs = checkInterval(
    "compactIntervalMs",
    options.compactIntervalMs ?? COMPACT_INTERVAL_MS_DEFAULT,
  );
  const vacuumIntervalMs = checkInterval(
    "vacuumIntervalMs",
    options.vacuumIntervalMs ?? VACUUM_INTERVAL_MS_DEFAULT,
  );
  const ioConcurrencyMax = checkPositiveInt(
    "ioConcurrencyMax",
    options.ioConcurrencyMax ?? MAINTENANCE_IO_CONCURRENCY_DEFAULT,
  );
  const binsPerRunMax = checkPositiveInt(
    "compactBinsPerRunMax",
    options.compactBinsPerRunMax ?? COMPACT_BINS_PER_RUN_MAX_DEFAULT,
  );
  const commitIntervalBins = checkPositiveInt(
    "compactCommitIntervalBins",
    options.compactCommitIntervalBins ?? COMPACT_COMMIT_INTERVAL_BINS_DEFAULT,
  );

  const pairs = new Map<string, Record<MaintenanceKind, Pair>>();
  for (const table of tableEntries(options.tables)) {
    const s = table.settings;
    const make = (kind: MaintenanceKind, enabled: boolean, intervalMs: number): Pair => ({
      table,
      kind,
      enabled,
      intervalMs,
      timer: undefined,
      stats: { enabled, runs: 0, skips: emptySkips(), failures: 0, aborts: 0, triggered: 0 },
      pending: undefined,
      latest: undefined,
      checkTimer: undefined,
      ingestedBytes: 0,
      compactionBytesWritten: 0,
      compactedVersion: -1,
      known: undefined,
    });
    if (s.compactMinFiles !== undefined) checkPositiveInt("compactMinFiles", s.compactMinFiles);
    if (s.compactTargetSizeBytes !== undefined) {
      checkPositiveInt("compactTargetSizeBytes", s.compactTargetSizeBytes);
    }
    if (s.compactTriggerFiles !== undefined) {
      checkPositiveInt("compactTriggerFiles", s.compactTriggerFiles);
    }
    if (s.compactTriggerBytes !== undefined) {
      checkPositiveInt("compactTriggerBytes", s.compactTriggerBytes);
    }
    if (s.compactThreads !== undefined) checkPositiveInt("compactThreads", s.compactThreads);
    const engine = s.compactEngine;
    if (engine !== undefined && engine !== "auto" && engine !== "duckdb" && engine !== "wasm") {
      throw new InvalidArgumentError(
        `Cannot schedule maintenance: compactEngine must be auto, duckdb or wasm, got ${
          JSON.stringify(engine)
        }`,
      );
    }
    const fanout = s.compactTierFanout;
    if (fanout !== undefined && !(Number.isSafeInteger(fanout) && fanout >= 2 && fanout <= 1000)) {
      throw new InvalidArgumentError(
        `Cannot schedule maintenance: compactTierFanout must be an integer from 2 to 1000, got ${fanout}`,
      );
    }
    pairs.set(table.name, {
      compact: make(
        "compact",
        s.compactEnabled ?? true,
        checkInterval(`${table.name}.compactIntervalMs`, s.compactIntervalMs ?? compactIntervalMs),
      ),
      vacuum: make(
        "vacuum",
        s.vacuumEnabled ?? false,
        checkInterval(`${table.name}.vacuumIntervalMs`, s.vacuumIntervalMs ?? vacuumIntervalMs),
      ),
    });
  }

  let started = false;
  let stopped = false;
  let stopping: Promise<void> | undefined;
  const queue: QueueEntry[] = [];
  let running: { pair: Pair; startedAtMs: number; done: Promise<void> } | undefined;
  const stopController = new AbortController();
  const idleWaiters: (() => void)[] = [];

  const arm = (pair: Pair, delayMs: number) => {
    if (!started || stopped || !pair.enabled) return;
    pair.stats.nextTickAtMs = clock.nowMs() + delayMs;
    pair.timer = timers.setTimeout(() => {
      pair.timer = undefined;
      delete pair.stats.nextTickAtMs;
      void enqueue(pair, { trigger: "timer" }).then(() => arm(pair, jittered(pair.intervalMs)));
    }, delayMs);
  };
  const jittered = (intervalMs: number) =>
    Math.round(intervalMs * (1 - jitterRatio + 2 * jitterRatio * random()));

  const enqueue = (pair: Pair, request: JobRequest): Promise<MaintenanceOutcome> => {
    if (pair.pending !== undefined) return pair.pending;
    if (stopped) {
      return Promise.resolve(
        finish(pair, undefined, { status: "skipped", reason: "stopped" }, request.trigger),
      );
    }
    const pending = new Promise<MaintenanceOutcome>((resolve) =>
      queue.push({ pair, request, resolve })
    );
    pair.pending = pending;
    pump();
    return pending;
  };

  const pump = () => {
    if (running !== undefined) return;
    const next = queue.shift();
    if (next === undefined) {
      for (const w of idleWaiters.splice(0)) w();
      return;
    }
    const startedAtMs = clock.nowMs();
    const done = runJob(next.pair, next.request, startedAtMs).then((outcome) => {
      next.pair.pending = undefined;
      running = undefined;
      next.resolve(outcome);
      pump();
    });
    running = { pair: next.pair, startedAtMs, done };
  };

  const finish = (
    pair: Pair,
    startedAtMs: number | undefined,
    result:
      | { status: "ran"; compaction?: CompactionRunSummary; vacuum?: VacuumRunSummary }
      | { status: "skipped"; reason: MaintenanceSkipReason }
      | { status: "failed"; error: unknown }
      | { status: "aborted" },
    trigger: MaintenanceTrigger,
  ): MaintenanceOutcome => {
    const durationMs = startedAtMs === undefined ? 0 : Math.max(0, clock.nowMs() - startedAtMs);
    const outcome = {
      table: pair.table.name,
      kind: pair.kind,
      durationMs,
      trigger,
      ...result,
    } as MaintenanceOutcome;
    const st = pair.stats;
    st.last = outcome;
    if (trigger === "accumulated") st.triggered++;
    const fields = { table: pair.table.name, kind: pair.kind, durationMs, trigger };
    if (outcome.status === "ran") {
      st.runs++;
      logger.info(`Maintenance ${pair.kind} ran`, {
        ...fields,
        ...(outcome.compaction ? { ...outcome.compaction } : {}),
        ...(outcome.vacuum
          ? { files: outcome.vacuum.files.length, bytes: outcome.vacuum.bytes }
          : {}),
      });
    } else if (outcome.status === "skipped") {
      st.skips[outcome.reason]++;
      const log = outcome.reason === "lock_held" ? logger.info : logger.debug;
      log.call(logger, `Maintenance ${pair.kind} skipped`, { ...fields, reason: outcome.reason });
    } else if (outcome.status === "failed") {
      st.failures++;
      logger.error(`Maintenance ${pair.kind} failed`, {
        ...fields,
        error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
      });
    } else {
      st.aborts++;
      logger.info(`Maintenance ${pair.kind} aborted`, fields);
    }
    try {
      options.onOutcome?.(outcome);
    } catch (e) {
      logger.warn("Maintenance onOutcome callback failed", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
    return outcome;
  };

  const runJob = async (
    pair: Pair,
    request: JobRequest,
    startedAtMs: number,
  ): Promise<MaintenanceOutcome> => {
    const trigger = request.trigger;
    if (stopped) {
      return finish(pair, startedAtMs, { status: "skipped", reason: "stopped" }, trigger);
    }
    if (!pair.enabled) {
      return finish(pair, startedAtMs, { status: "skipped", reason: "disabled" }, trigger);
    }
    const signal = stopController.signal;
    try {
      const result = pair.kind === "compact"
        ? await compactJob(pair, request, signal)
        : await vacuumJob(pair.table, signal);
      return finish(pair, startedAtMs, result, trigger);
    } catch (error) {
      if (signal.aborted) return finish(pair, startedAtMs, { status: "aborted" }, trigger);
      return finish(pair, startedAtMs, { status: "failed", error }, trigger);
    }
  };

  /**
   * The trigger's check, on a zero-delay timer armed by `notifyCommitted`: the partitions of the
   * newest told snapshot that hold enough small files, queued as one job. Pure planning over the
   * snapshot in memory (no I/O); a job already queued or running for the table makes it wait for
   * the next commit.
   */
  const checkTrigger = (pair: Pair) => {
    pair.checkTimer = undefined;
    const snapshot = pair.latest;
    pair.latest = undefined;
    if (snapshot === undefined || stopped || pair.pending !== undefined) return;
    const s = pair.table.settings;
    let due: Record<string, string | null>[];
    try {
      due = partitionsToCompact(snapshot, {
        ...(s.compactTargetSizeBytes === undefined
          ? {}
          : { targetSizeBytes: s.compactTargetSizeBytes }),
        ...(s.compactTierFanout === undefined ? {} : { fanout: s.compactTierFanout }),
        ...(s.compactTriggerFiles === undefined ? {} : { triggerFiles: s.compactTriggerFiles }),
        ...(s.compactTriggerBytes === undefined ? {} : { triggerBytes: s.compactTriggerBytes }),
        ...readBudgetOff(s),
      }).map((p) => p.partitionValues);
    } catch (e) {
      logger.warn("Compaction trigger check failed", {
        table: pair.table.name,
        error: e instanceof Error ? e.message : String(e),
      });
      return;
    }
    if (due.length === 0) return;
    void enqueue(pair, { trigger: "accumulated", partitions: due, snapshot });
  };

  /** Note `snapshot` as the newest known one when it is newer. */
  const learn = (pair: Pair, snapshot: Snapshot) => {
    if (pair.known === undefined || pair.known.snapshot.version < snapshot.version) {
      pair.known = { snapshot, atMs: clock.nowMs() };
    }
  };

  /**
   * The snapshot the timer's job plans on instead of loading the table: the newest known one, when
   * it is no older than the last compaction commit and was learned within the last interval. A
   * load's cost grows with the log and the tombstones, on the thread that answers ingest: at
   * 10,000 events/s the fallback's two loads after 300 s (10,000 versions) raised that window's ack
   * p99 from about 45 to 481 ms (ADR 0051). A runner that commits nothing for an interval, while
   * others may write the table, loads it as before.
   */
  const recentKnown = (pair: Pair): Snapshot | undefined => {
    const k = pair.known;
    if (k === undefined || k.snapshot.version < pair.compactedVersion) return undefined;
    return clock.nowMs() - k.atMs <= pair.intervalMs ? k.snapshot : undefined;
  };

  /** The planner option that turns read bins off when the table's settings say so. */
  const readBudgetOff = (s: MaintenanceSettings) =>
    s.compactReadBudgetEnabled === false ? { readAmplificationMax: Infinity } : {};

  const notifyCommitted: MaintenanceScheduler["notifyCommitted"] = (table, commit) => {
    const pair = pairs.get(table)?.compact;
    if (pair === undefined) return;
    for (const a of commit.actions ?? []) {
      if ("add" in a && a.add.dataChange) pair.ingestedBytes += a.add.size;
    }
    learn(pair, commit.snapshot);
    if (!started || stopped || !pair.enabled) return;
    if (!(pair.table.settings.compactTriggerEnabled ?? true)) return;
    // A snapshot from before this scheduler's last compaction commit would name compacted files.
    if (commit.snapshot.version < pair.compactedVersion) return;
    if (pair.latest === undefined || pair.latest.version < commit.snapshot.version) {
      pair.latest = commit.snapshot;
    }
    if (pair.checkTimer !== undefined) return;
    pair.checkTimer = timers.setTimeout(() => checkTrigger(pair), 0);
  };

  const opsTable = (t: TableEntry): MaintainedTable => ({
    storage: t.storage,
    protocol: t.protocol,
    name: t.name,
    uri: t.uri,
  });

  /** Run an operation that takes the table's lease; a lease held elsewhere is a skip. */
  const unlessHeld = async <T>(op: () => Promise<T>): Promise<{ held: true } | { value: T }> => {
    try {
      return { value: await op() };
    } catch (e) {
      if (e instanceof MaintenanceLockHeldError) return { held: true };
      throw e;
    }
  };

  /** One `applyCompaction` run; a lease held elsewhere is `held`. */
  const compactOnce = (
    t: TableEntry,
    signal: AbortSignal,
    binsMax: number,
    partitionFilter?: Record<string, string | null>,
    snapshot?: Snapshot,
  ) => {
    const s = t.settings;
    return unlessHeld(() =>
      applyCompaction(opsTable(t), {
        plugins: registry,
        ...(snapshot === undefined ? {} : { snapshot }),
        // As in `ops`: a minimum of files per bin without a strategy asks for bin-packing.
        strategy: s.compactStrategy ?? (s.compactMinFiles === undefined ? "tiered" : "binpack"),
        ...(s.compactTierFanout === undefined ? {} : { tierFanout: s.compactTierFanout }),
        ...readBudgetOff(s),
        ...(s.compactTargetSizeBytes === undefined
          ? {}
          : { targetSizeBytes: s.compactTargetSizeBytes }),
        ...(s.compactMinFiles === undefined ? {} : { minFiles: s.compactMinFiles }),
        ...(partitionFilter === undefined ? {} : { partitionFilter }),
        // A few bins per commit, a turn of the event loop between commits (and I/O waits between
        // files): ingest acks keep their budget, and the log gains few versions.
        commitIntervalBins,
        binsPerRunMax: binsMax,
        maxConcurrentIo: ioConcurrencyMax,
        ...(s.compactEngine === undefined ? {} : { engine: s.compactEngine }),
        threads: s.compactThreads ?? COMPACT_THREADS_DEFAULT,
        clock,
        signal,
        logger,
      })
    );
  };

  /**
   * A compaction job: the whole table (timer, `runOnce`), or the partitions a trigger named, one
   * `applyCompaction` (one lease) each, `compactBinsPerRunMax` bins in all.
   */
  const compactJob = async (pair: Pair, request: JobRequest, signal: AbortSignal) => {
    const t = pair.table;
    const partitions = request.partitions;
    // A triggered job starts from the runner's snapshot and goes on from what each run commits:
    // no snapshot load, whose cost grows with the log and the tombstones (ADR 0036); the timer's
    // job from the newest one the scheduler knows, when it is recent (ADR 0051).
    let known = request.snapshot ?? (request.trigger === "timer" ? recentKnown(pair) : undefined);
    const summary: CompactionRunSummary = {
      versions: [],
      bins: 0,
      filesBefore: 0,
      filesAfter: 0,
      filesRemoved: 0,
      filesAdded: 0,
      rowsWritten: 0,
      binsDeferred: 0,
      bytesRemoved: 0,
      bytesWritten: 0,
      writeAmplification: 0,
    };
    let ran = false;
    let held = false;
    const filters = partitions ?? [undefined];
    for (let i = 0; i < filters.length; i++) {
      // Every due partition gets its share of the job's bins, so none waits behind another.
      const binsLeft = binsPerRunMax - summary.bins;
      if (binsLeft <= 0) break;
      const share = Math.ceil(binsLeft / (filters.length - i));
      const r = await compactOnce(t, signal, share, filters[i], known);
      if ("held" in r) {
        held = true;
        break;
      }
      const c = r.value.compaction;
      if (known !== undefined) known = c.snapshot;
      learn(pair, c.snapshot);
      if (i === 0) summary.filesBefore = c.filesBefore;
      summary.filesAfter = c.filesAfter;
      if (r.value.status === "nothing_to_do") continue;
      ran = true;
      summary.versions.push(...c.versions);
      summary.bins += c.plan.length - c.metrics.numBinsDroppedByConflict;
      summary.filesRemoved += c.metrics.numFilesRemoved;
      summary.filesAdded += c.metrics.numFilesAdded;
      summary.rowsWritten += c.metrics.numRowsWritten;
      summary.binsDeferred += r.value.binsDeferred;
      summary.bytesRemoved += c.metrics.numBytesRemoved;
      summary.bytesWritten += c.metrics.numBytesAdded;
    }
    pair.compactionBytesWritten += summary.bytesWritten;
    pair.compactedVersion = Math.max(pair.compactedVersion, ...summary.versions);
    summary.writeAmplification = writeAmplificationOf(pair);
    if (!ran) {
      return {
        status: "skipped" as const,
        reason: held ? "lock_held" as const : "nothing_to_do" as const,
      };
    }
    if (partitions !== undefined) summary.partitions = partitions;
    return { status: "ran" as const, compaction: summary };
  };

  const vacuumJob = async (t: TableEntry, signal: AbortSignal) => {
    const s = t.settings;
    const r = await unlessHeld(() =>
      applyVacuum(opsTable(t), {
        plugins: registry,
        dataRetention: s.vacuumApplyDataRetention ?? true,
        mode: "full",
        enforceRetention: true,
        retentionHours: s.vacuumRetentionHours,
        clock,
        signal,
        logger,
        deleteConcurrency: ioConcurrencyMax,
        listConcurrency: ioConcurrencyMax,
      })
    );
    if ("held" in r) return { status: "skipped" as const, reason: "lock_held" as const };
    const v = r.value.vacuum;
    const summary: VacuumRunSummary = {
      files: v.files.map((f) => f.path),
      bytes: v.bytes,
      horizonMs: v.horizonMs,
      expiredFiles: r.value.retention?.files.length ?? 0,
    };
    const retentionVersion = r.value.retention?.version;
    if (retentionVersion !== undefined) summary.retentionVersion = retentionVersion;
    return { status: "ran" as const, vacuum: summary };
  };

  const pairOf = (table: string, kind: MaintenanceKind): Pair => {
    const p = pairs.get(table);
    if (p === undefined) {
      throw new InvalidArgumentError(`Cannot run maintenance: unknown table '${table}'`);
    }
    if (kind !== "compact" && kind !== "vacuum") {
      throw new InvalidArgumentError(`Cannot run maintenance: unknown kind '${kind}'`);
    }
    return p[kind];
  };

  const copyStats = (st: MaintenanceKindStats): MaintenanceKindStats => {
    const out: MaintenanceKindStats = { ...st, skips: { ...st.skips } };
    return out;
  };

  return {
    start() {
      if (started || stopped) return;
      started = true;
      for (const p of pairs.values()) {
        // Spread the first ticks over a whole interval so tables never start together.
        for (const pair of [p.compact, p.vacuum]) arm(pair, Math.round(pair.intervalMs * random()));
      }
    },
    stop() {
      if (stopping) return stopping;
      stopped = true;
      for (const p of pairs.values()) {
        for (const pair of [p.compact, p.vacuum]) {
          if (pair.timer !== undefined) timers.clearTimeout(pair.timer);
          pair.timer = undefined;
          delete pair.stats.nextTickAtMs;
        }
      }
      for (const p of pairs.values()) {
        if (p.compact.checkTimer !== undefined) timers.clearTimeout(p.compact.checkTimer);
        p.compact.checkTimer = undefined;
        p.compact.latest = undefined;
      }
      for (const entry of queue.splice(0)) {
        entry.pair.pending = undefined;
        entry.resolve(
          finish(
            entry.pair,
            undefined,
            { status: "skipped", reason: "stopped" },
            entry.request.trigger,
          ),
        );
      }
      stopController.abort(new DOMException("The maintenance scheduler stopped", "AbortError"));
      stopping = (async () => {
        await running?.done;
        for (const w of idleWaiters.splice(0)) w();
      })();
      return stopping;
    },
    runOnce(table, kind) {
      try {
        return enqueue(pairOf(table, kind), { trigger: "manual" });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    notifyCommitted,
    idle() {
      if (running === undefined && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stats() {
      const tables: MaintenanceSchedulerStats["tables"] = {};
      for (const [name, p] of pairs) {
        tables[name] = { compact: copyStats(p.compact.stats), vacuum: copyStats(p.vacuum.stats) };
      }
      const writeAmplification: MaintenanceSchedulerStats["writeAmplification"] = {};
      for (const [name, p] of pairs) {
        writeAmplification[name] = {
          ingestedBytes: p.compact.ingestedBytes,
          compactionBytesWritten: p.compact.compactionBytesWritten,
          ratio: writeAmplificationOf(p.compact),
        };
      }
      const out: MaintenanceSchedulerStats = {
        started: started && !stopped,
        queued: queue.length,
        tables,
        writeAmplification,
      };
      if (running !== undefined) {
        out.running = {
          table: running.pair.table.name,
          kind: running.pair.kind,
          startedAtMs: running.startedAtMs,
        };
      }
      return out;
    },
  };
}

/** Buckets of `lakestrike_runner_maintenance_duration_seconds`: 10 ms to 30 min. */
export const MAINTENANCE_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.01,
  0.1,
  1,
  5,
  15,
  60,
  300,
  900,
  1800,
]);

/**
 * Register the scheduler's metrics on a Prometheus registry (the runner's: `runner.metrics.registry`)
 * and return the `onOutcome` callback that records them. Labels are bounded: configured tables,
 * two kinds, four outcomes, four skip reasons.
 *
 * | metric | type | meaning |
 * |---|---|---|
 * | `lakestrike_runner_maintenance_jobs_total{table,kind,outcome}` | counter | jobs by outcome: `ran`, `skipped`, `failed`, `aborted` |
 * | `lakestrike_runner_maintenance_skips_total{table,kind,reason}` | counter | skipped jobs by reason |
 * | `lakestrike_runner_maintenance_duration_seconds{table,kind}` | histogram | time of jobs that ran or failed |
 * | `lakestrike_runner_maintenance_files_total{table,kind}` | counter | files compacted away, or deleted by vacuum |
 * | `lakestrike_runner_maintenance_triggered_total{table}` | counter | compaction jobs started by accumulated small files |
 * | `lakestrike_runner_compaction_bytes_written_total{table}` | counter | bytes of the files compaction wrote |
 * | `lakestrike_runner_compaction_write_amplification{table}` | gauge | bytes written by compaction over bytes ingested, since the runner started |
 *
 * @example
 * ```ts
 * import { createPrometheusRegistry } from "./prometheus.ts";
 * import { registerMaintenanceMetrics } from "./maintenance_scheduler.ts";
 * const registry = createPrometheusRegistry();
 * const onOutcome = registerMaintenanceMetrics(registry);
 * onOutcome({ table: "events", kind: "compact", durationMs: 20, status: "skipped", reason: "lock_held" });
 * const text = registry.render();
 * if (!text.includes('lakestrike_runner_maintenance_skips_total{kind="compact",reason="lock_held",table="events"} 1')) {
 *   throw new Error(text);
 * }
 * ```
 */
export function registerMaintenanceMetrics(
  registry: PrometheusRegistry,
): (outcome: MaintenanceOutcome) => void {
  const p = "lakestrike_runner_maintenance_";
  const jobs = registry.counter(`${p}jobs_total`, "Maintenance jobs by outcome.");
  const skips = registry.counter(`${p}skips_total`, "Skipped maintenance jobs by reason.");
  const duration = registry.histogram(
    `${p}duration_seconds`,
    "Time of maintenance jobs that ran or failed.",
    MAINTENANCE_DURATION_BUCKETS_SECONDS,
  );
  const files = registry.counter(
    `${p}files_total`,
    "Files compacted away, or deleted by vacuum.",
  );
  const triggered = registry.counter(
    `${p}triggered_total`,
    "Compaction jobs started by accumulated small files.",
  );
  const bytesWritten = registry.counter(
    "lakestrike_runner_compaction_bytes_written_total",
    "Bytes of the files compaction wrote.",
  );
  const amplification = registry.gauge(
    "lakestrike_runner_compaction_write_amplification",
    "Bytes written by compaction over bytes ingested, since the runner started.",
  );
  return (o) => {
    const labels = { table: o.table, kind: o.kind };
    jobs.inc({ ...labels, outcome: o.status });
    if (o.trigger === "accumulated") triggered.inc({ table: o.table });
    if (o.status === "ran" && o.compaction !== undefined) {
      if (o.compaction.bytesWritten > 0) {
        bytesWritten.inc({ table: o.table }, o.compaction.bytesWritten);
      }
      amplification.set({ table: o.table }, o.compaction.writeAmplification);
    }
    if (o.status === "skipped") {
      skips.inc({ ...labels, reason: o.reason });
      return;
    }
    duration.observe(labels, o.durationMs / 1000);
    if (o.status !== "ran") return;
    const n = (o.compaction?.filesRemoved ?? 0) + (o.vacuum?.files.length ?? 0);
    if (n > 0) files.inc(labels, n);
  };
}
