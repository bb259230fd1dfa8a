/**
 * The runner's maintenance schedule: per table, a compaction tick every `compactIntervalMs`
 * (default 300 s, docs/design.md section 7) and, when the table enables it, a vacuum tick every
 * `vacuumIntervalMs` (default one hour; vacuum deletes files, so it is off unless enabled).
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
 * maintenance plugins. A compaction tick runs `applyCompaction`: it plans on the latest snapshot
 * (the registry's `planCompaction` plugins, then the built-in `compactionPlugin`) and with no bin is
 * skipped without touching the lock; otherwise it takes the table's `compact` lease, plans again on
 * the newest snapshot and rewrites at most `compactBinsPerRunMax` bins, each its own commit with a
 * turn of the event loop between bins (appends landing meanwhile never fail it, see
 * `compactTable`), with `ioConcurrencyMax` reads and writes in flight. A vacuum tick runs
 * `applyVacuum` under the `vacuum` lease: it commits the removes of expired data when the registry
 * has `planDataRetention` plugins (unless `vacuumApplyDataRetention` is false), then vacuums in full
 * mode with the table's retention, enforced. A lease held by someone else skips the tick; a failure
 * is logged and counted and the next tick runs as usual. Nothing here is on the ingest commit path.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { applyCompaction } from "../../ops/apply_compaction.ts";
import { applyVacuum } from "../../ops/apply_vacuum.ts";
import type { MaintainedTable } from "../../ops/maintained_table.ts";
import { MaintenanceLockHeldError } from "../../ops/maintenance_lock.ts";
import { createMaintenanceRegistry } from "../../ops/maintenance_registry.ts";
import type { MaintenanceSettings } from "../../ops/maintenance_options.ts";
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
  /** Versions committed, one per rewritten bin. */
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

/** The outcome of one job. */
export type MaintenanceOutcome =
  & { table: string; kind: MaintenanceKind; durationMs: number }
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
}

interface QueueEntry {
  pair: Pair;
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
 *   tables: { events: { storage, uri: "memory://events" } },
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

  const pairs = new Map<string, Record<MaintenanceKind, Pair>>();
  for (const table of tableEntries(options.tables)) {
    const s = table.settings;
    const make = (kind: MaintenanceKind, enabled: boolean, intervalMs: number): Pair => ({
      table,
      kind,
      enabled,
      intervalMs,
      timer: undefined,
      stats: { enabled, runs: 0, skips: emptySkips(), failures: 0, aborts: 0 },
      pending: undefined,
    });
    if (s.compactMinFiles !== undefined) checkPositiveInt("compactMinFiles", s.compactMinFiles);
    if (s.compactTargetSizeBytes !== undefined) {
      checkPositiveInt("compactTargetSizeBytes", s.compactTargetSizeBytes);
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
      void enqueue(pair).then(() => arm(pair, jittered(pair.intervalMs)));
    }, delayMs);
  };
  const jittered = (intervalMs: number) =>
    Math.round(intervalMs * (1 - jitterRatio + 2 * jitterRatio * random()));

  const enqueue = (pair: Pair): Promise<MaintenanceOutcome> => {
    if (pair.pending !== undefined) return pair.pending;
    if (stopped) {
      return Promise.resolve(finish(pair, undefined, { status: "skipped", reason: "stopped" }));
    }
    const pending = new Promise<MaintenanceOutcome>((resolve) => queue.push({ pair, resolve }));
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
    const done = runJob(next.pair, startedAtMs).then((outcome) => {
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
  ): MaintenanceOutcome => {
    const durationMs = startedAtMs === undefined ? 0 : Math.max(0, clock.nowMs() - startedAtMs);
    const outcome = {
      table: pair.table.name,
      kind: pair.kind,
      durationMs,
      ...result,
    } as MaintenanceOutcome;
    const st = pair.stats;
    st.last = outcome;
    const fields = { table: pair.table.name, kind: pair.kind, durationMs };
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

  const runJob = async (pair: Pair, startedAtMs: number): Promise<MaintenanceOutcome> => {
    if (stopped) return finish(pair, startedAtMs, { status: "skipped", reason: "stopped" });
    if (!pair.enabled) return finish(pair, startedAtMs, { status: "skipped", reason: "disabled" });
    const signal = stopController.signal;
    try {
      const result = pair.kind === "compact"
        ? await compactJob(pair.table, signal)
        : await vacuumJob(pair.table, signal);
      return finish(pair, startedAtMs, result);
    } catch (error) {
      if (signal.aborted) return finish(pair, startedAtMs, { status: "aborted" });
      return finish(pair, startedAtMs, { status: "failed", error });
    }
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

  const compactJob = async (t: TableEntry, signal: AbortSignal) => {
    const s = t.settings;
    const r = await unlessHeld(() =>
      applyCompaction(opsTable(t), {
        plugins: registry,
        ...(s.compactTargetSizeBytes === undefined
          ? {}
          : { targetSizeBytes: s.compactTargetSizeBytes }),
        ...(s.compactMinFiles === undefined ? {} : { minFiles: s.compactMinFiles }),
        // One bin per commit, a turn of the event loop between bins: ingest acks keep their budget.
        commitIntervalBins: 1,
        binsPerRunMax,
        maxConcurrentIo: ioConcurrencyMax,
        clock,
        signal,
        logger,
      })
    );
    if ("held" in r) return { status: "skipped" as const, reason: "lock_held" as const };
    if (r.value.status === "nothing_to_do") {
      return { status: "skipped" as const, reason: "nothing_to_do" as const };
    }
    const c = r.value.compaction;
    const summary: CompactionRunSummary = {
      versions: c.versions,
      bins: c.plan.length - c.metrics.numBinsDroppedByConflict,
      filesBefore: c.filesBefore,
      filesAfter: c.filesAfter,
      filesRemoved: c.metrics.numFilesRemoved,
      filesAdded: c.metrics.numFilesAdded,
      rowsWritten: c.metrics.numRowsWritten,
      binsDeferred: r.value.binsDeferred,
    };
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
      for (const entry of queue.splice(0)) {
        entry.pair.pending = undefined;
        entry.resolve(finish(entry.pair, undefined, { status: "skipped", reason: "stopped" }));
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
        return enqueue(pairOf(table, kind));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    idle() {
      if (running === undefined && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stats() {
      const tables: MaintenanceSchedulerStats["tables"] = {};
      for (const [name, p] of pairs) {
        tables[name] = { compact: copyStats(p.compact.stats), vacuum: copyStats(p.vacuum.stats) };
      }
      const out: MaintenanceSchedulerStats = {
        started: started && !stopped,
        queued: queue.length,
        tables,
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
  return (o) => {
    const labels = { table: o.table, kind: o.kind };
    jobs.inc({ ...labels, outcome: o.status });
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
