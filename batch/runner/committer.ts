/**
 * The committer: one loop per table that turns queued batches into Delta commits.
 *
 * Batches arrive (already decoded, transformed and validated by the intake) and wait in a bounded
 * queue. When the loop is idle it takes a group from the head of the queue (at most
 * `groupBatchesMax` batches, `groupRowsMax` rows and `groupBytesMax` bytes, always at least one),
 * so every batch that arrived while a commit was in flight goes into the next commit together
 * (group commit). An idle table commits a lone batch at once; no timer sets the pace. Only the
 * table's ceiling on commits per second (`commit_ceiling.ts`, ADR 0031) may hold a group back: a
 * group that would start less than `1000 / commitsPerSecondMax` ms after the previous one waits
 * for its slot, and the batches that arrive meanwhile join it (never refused for the ceiling).
 * For a group it:
 *
 * 1. answers the batches whose `(producer, seq)` is already committed as duplicates (nothing is
 *    written for them);
 * 2. runs the `writeFiles` hook for the batches in parallel (at most `writeBatchesConcurrencyMax`
 *    at once; a batch whose files fail is answered alone, the others go on);
 * 3. builds the draft: the `add` actions plus one `txn {appId: producer, version: max seq}` per
 *    producer of the group, and runs `beforeCommit`;
 * 4. calls `commitActions` on the in-memory snapshot, which it replaces by the returned one (the log
 *    is re-read only after a conflict);
 * 5. answers every batch with the committed version, then queues `afterCommit` (serially, after the
 *    answers: a checkpoint never delays an ack).
 *
 * ```
 *  submit ─▶ queue (≤ queueBatchesMax, ≤ queueBytesMax; full: 429)
 *              │ loop idle, then the ceiling's slot (≤ 1000 / commitsPerSecondMax ms)
 *              ▼
 *  take group ─▶ drop committed seqs (answer duplicate) ─▶ writeFiles ∥ ─▶ beforeCommit
 *     ▲                                                                         │
 *     │                               ┌──────── reload snapshot ◀── conflict ◀──┤ commitActions
 *     │                               │ (≤ conflictRetriesMax, then 503)        │
 *     │                               └──▶ drop committed seqs ─▶ beforeCommit ─┘
 *     │                                                                         │ ok
 *     └──── queue not empty ◀── afterCommit (serial, not awaited) ◀── answer 200 (version)
 * ```
 *
 * A commit that throws (storage failure) answers the group 503 and drops the snapshot (the next
 * group reloads it); the data files it wrote stay as orphans for vacuum. Batches are never answered
 * 200 before their commit file is durable.
 *
 * The committer is three named parts, each a module with its own tests:
 *
 * * `group_queue.ts`: the bounded queue and how a group is taken from it;
 * * `commit_ceiling.ts`: how long a group waits for the table's commits-per-second ceiling;
 * * `producer_sequences.ts`: the sequence rules and what the committer remembers of its commits;
 * * `commit_group.ts`: steps 1 to 5 of one group up to its answers.
 *
 * This module holds the state they share: the in-memory snapshot (loaded once, one load at a
 * time), the batches waiting for an answer (a retry of a queued batch waits for the same answer),
 * the loop that takes one group at a time, and the serial `afterCommit` chain.
 *
 * Sequence rules (ADR 0022). Per producer the table holds the highest committed seq `c` (the
 * producer's `txn`; the committer also remembers, per producer, the last `recentSeqsMax` committed
 * `(seq, version)` pairs, for at most `producersMax` producers, least recently committed dropped
 * first). A batch with seq `s`:
 *
 * * `s > c` (or the producer is unknown or expired): a new batch, committed;
 * * `s == c`: the retry of the committed batch: `200` with `duplicate: true` and a version at which
 *   it is visible (the exact one when remembered, else the snapshot's), nothing written;
 * * `s < c`: a duplicate only when it is remembered as committed by this runner; otherwise it is
 *   not provably a retry (another process shares the producer id, or a late copy of a batch the
 *   producer gave up on) and is refused with `409 sequence_conflict`, nothing written. A producer
 *   identity is unique per edge incarnation, so the edge answers 409 by taking a new identity.
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import type { Action } from "../../core/log/actions.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { PluginRegistry } from "../../plugins/registry.ts";
import type { Logger, WriteContext } from "../../plugins/types.ts";
import { COMMITS_PER_SECOND_MAX_DEFAULT, createCommitCeiling } from "./commit_ceiling.ts";
import {
  type BatchEntry,
  type BatchOutcome,
  commitGroup,
  type CommitterTable,
  type GroupCommitDeps,
} from "./commit_group.ts";
import { createFreshSnapshots } from "./client_producers.ts";
import { createGroupQueue } from "./group_queue.ts";
import { createProducerSequences, type SeqStatus } from "./producer_sequences.ts";
import type { RunnerMetrics } from "./runner_metrics.ts";

export {
  type BatchEntry,
  type BatchOutcome,
  type CommitterTable,
  isPermanentWriteError,
  type RunnerCommitOptions,
  staleOutcome,
} from "./commit_group.ts";
export type { SeqStatus } from "./producer_sequences.ts";

/** Limits of one committer. */
export interface CommitterLimits {
  /** Batches waiting at most; more are refused with 429. */
  queueBatchesMax: number;
  /** Bytes (Arrow IPC) waiting at most; more are refused with 429. */
  queueBytesMax: number;
  /** Batches per commit at most. */
  groupBatchesMax: number;
  /** Rows per commit at most (a larger single batch still commits alone). */
  groupRowsMax: number;
  /** Bytes per commit at most (a larger single batch still commits alone). */
  groupBytesMax: number;
  /** Batches of a group whose files are written at once (each writes its files in parallel too). */
  writeBatchesConcurrencyMax: number;
  /** Times a group is retried after a conflict (reloading the snapshot) before 503. */
  conflictRetriesMax: number;
  /** afterCommit runs waiting at most; further ones are skipped (logged and counted). */
  afterCommitPendingMax: number;
  /** Producers whose recent commits are remembered. */
  producersMax: number;
  /** Committed seqs remembered per producer. */
  recentSeqsMax: number;
}

/** Default {@linkcode CommitterLimits}. */
export const COMMITTER_LIMITS_DEFAULT: Readonly<CommitterLimits> = Object.freeze({
  queueBatchesMax: 1_024,
  queueBytesMax: 256 * 1024 * 1024,
  groupBatchesMax: 64,
  groupRowsMax: 200_000,
  groupBytesMax: 64 * 1024 * 1024,
  writeBatchesConcurrencyMax: 16,
  conflictRetriesMax: 3,
  afterCommitPendingMax: 16,
  producersMax: 10_000,
  recentSeqsMax: 32,
});

/** `setTimeout` / `clearTimeout`, injectable for tests (the committer's wait for its ceiling). */
export interface CommitterTimers {
  /** Call `fn` after `delayMs`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, delayMs: number): unknown;
  /** Cancel a timer; an unknown or fired handle is ignored. */
  clearTimeout(handle: unknown): void;
}

const systemTimers: CommitterTimers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** Dependencies of {@linkcode createCommitter}. */
export interface CommitterDeps {
  /** The table; `commitsPerSecondMax` defaults to {@linkcode COMMITS_PER_SECOND_MAX_DEFAULT}. */
  table: CommitterTable;
  /** A frozen registry with at least one `writeFiles` handler. */
  registry: PluginRegistry;
  clock: Clock;
  logger: Logger;
  limits: CommitterLimits;
  metrics: RunnerMetrics;
  /** Aborts plugin hooks when the runner shuts down. */
  signal: AbortSignal;
  /** Timers of the wait for the ceiling; default the runtime's (tests pass fakes with `clock`). */
  timers?: CommitterTimers;
  /**
   * Told of every commit after its batches are answered, synchronously: it must only take note
   * (the maintenance scheduler's trigger checks later, off the commit path). A throw is logged.
   */
  onCommitted?: (commit: CommittedVersion) => void;
}

/** A version the committer wrote, as {@linkcode CommitterDeps.onCommitted} is told of it. */
export interface CommittedVersion {
  version: number;
  /** The table state after the commit. */
  snapshot: Snapshot;
  /** The committed actions (`add`s of the new data files, `txn`s, `commitInfo`). */
  actions: readonly Action[];
}

/** What the committer of a table is doing. */
export interface CommitterStats {
  /** Version of the in-memory snapshot, `undefined` before it is loaded. */
  version: number | undefined;
  /** Batches waiting. */
  depth: number;
  /** Batches of the group being committed. */
  inFlight: number;
  /** afterCommit runs waiting or running. */
  afterCommitPending: number;
  /** The last failure (load or commit), cleared by the next successful commit. */
  lastError: string | undefined;
}

/** The committer of one table. */
export interface Committer {
  /** The in-memory snapshot, loaded on first use (one load at a time). */
  snapshot(): Promise<Snapshot>;
  /** Where `(producer, seq)` stands: new, a duplicate of a committed batch, or stale (409). */
  seqStatus(producer: string, seq: number): SeqStatus;
  /**
   * {@linkcode Committer.seqStatus} against the table as listed after this call (the in-memory
   * snapshot is replaced when the load is newer): a client producer's gap is checked again so
   * (`client_producers.ts`).
   */
  freshSeqStatus(producer: string, seq: number): Promise<SeqStatus>;
  /** Queue a batch; resolves when it is committed or failed. Never rejects. */
  submit(entry: BatchEntry): Promise<BatchOutcome>;
  /** Ms before the next commit may start under the table's ceiling (0: it may start now). */
  nextCommitInMs(): number;
  /** Current state. */
  stats(): CommitterStats;
  /** Refuse new batches (503), commit the queued ones, wait for afterCommit runs. */
  close(): Promise<void>;
}

interface Waiting {
  entry: BatchEntry;
  resolve: (outcome: BatchOutcome) => void;
  key: string;
}

function keyOf(producer: string, seq: number): string {
  return `${producer}\u0000${seq}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Create the committer of one table (see the module documentation for the state machine).
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { systemClock } from "../../core/clock.ts";
 * import { createPluginRegistry } from "../../plugins/registry.ts";
 * import { noopLogger } from "../../plugins/logger.ts";
 * import { writerPlugin } from "../../plugins/writer/mod.ts";
 * import { COMMITTER_LIMITS_DEFAULT, createCommitter } from "./committer.ts";
 * import { createRunnerMetrics } from "./runner_metrics.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }],
 * };
 * await createTable(storage, { schema });
 * const committer = createCommitter({
 *   table: { name: "t", uri: "memory://t", storage },
 *   registry: createPluginRegistry([writerPlugin()]).freeze(),
 *   clock: systemClock, logger: noopLogger, limits: COMMITTER_LIMITS_DEFAULT,
 *   metrics: createRunnerMetrics(), signal: new AbortController().signal,
 * });
 * const batch = createArrowTable(schema, [{ n: 1 }]);
 * const outcome = await committer.submit({ producer: "edge-1", seq: 1, batch, bytes: 100 });
 * if (!outcome.ok || outcome.version !== 1) throw new Error("not committed");
 * await committer.close();
 * ```
 */
export function createCommitter(deps: CommitterDeps): Committer {
  const { table, registry, clock, logger, limits, metrics } = deps;
  const labels = { table: table.name };
  const queue = createGroupQueue<Waiting>(limits, (w) => ({
    rows: w.entry.batch.numRows,
    bytes: w.entry.bytes,
  }));
  const pending = new Map<string, Promise<BatchOutcome>>();
  const sequences = createProducerSequences(limits);
  const ceiling = createCommitCeiling(table.commitsPerSecondMax ?? COMMITS_PER_SECOND_MAX_DEFAULT);
  const timers = deps.timers ?? systemTimers;
  let current: Snapshot | undefined;
  let loading: Promise<Snapshot> | undefined;
  let running: Promise<void> | undefined;
  let inFlight = 0;
  let closed = false;
  let lastError: string | undefined;
  let afterCommitPending = 0;
  let afterCommitChain: Promise<void> = Promise.resolve();

  function setSnapshot(s: Snapshot | undefined): void {
    current = s;
    if (s !== undefined) metrics.tableVersion.set(labels, s.version);
  }
  if (table.initialSnapshot !== undefined) setSnapshot(table.initialSnapshot);

  function snapshot(): Promise<Snapshot> {
    if (current !== undefined) return Promise.resolve(current);
    // Through the table's commit protocol, so an incomplete s3-dynamodb commit is repaired first.
    const protocol = table.commitOptions?.protocol;
    loading ??= loadSnapshot(table.storage, protocol ? { protocol } : {}).then(
      (s) => {
        loading = undefined;
        // A commit may have set a newer snapshot while the load ran.
        if (current === undefined || current.version < s.version) setSnapshot(s);
        return current!;
      },
      (e) => {
        loading = undefined;
        lastError = `Cannot load table ${table.name}: ${message(e)}`;
        throw e;
      },
    );
    return loading;
  }

  function seqStatus(producer: string, seq: number): SeqStatus {
    return sequences.status(producer, seq, current, clock.nowMs());
  }

  const fresh = createFreshSnapshots(() => {
    const protocol = table.commitOptions?.protocol;
    return loadSnapshot(table.storage, protocol ? { protocol } : {});
  });

  async function freshSeqStatus(producer: string, seq: number): Promise<SeqStatus> {
    const s = await fresh.load();
    if (current === undefined || current.version < s.version) setSnapshot(s);
    return sequences.status(producer, seq, current, clock.nowMs());
  }

  function answer(w: Waiting, outcome: BatchOutcome): void {
    pending.delete(w.key);
    const outcomeLabel = outcome.ok
      ? (outcome.duplicate ? "duplicate" : "committed")
      : (outcome.status < 500 ? "rejected" : "failed");
    metrics.batches.inc({ ...labels, outcome: outcomeLabel });
    w.resolve(outcome);
  }

  function context(s: Snapshot): WriteContext {
    return {
      table: { name: table.name, uri: table.uri },
      snapshot: s,
      storage: table.storage,
      clock,
      signal: deps.signal,
      limits: { ...limits },
      logger,
      operation: "write",
      dryRun: false,
    };
  }

  function submit(entry: BatchEntry): Promise<BatchOutcome> {
    const key = keyOf(entry.producer, entry.seq);
    const same = pending.get(key);
    if (same !== undefined) return same; // a retry while the first attempt is still queued
    if (closed) {
      return Promise.resolve({
        ok: false,
        status: 503,
        error: "closing",
        detail: `Cannot accept batch ${entry.seq}: the runner is shutting down`,
        written: "no",
      });
    }
    let resolve!: (outcome: BatchOutcome) => void;
    const promise = new Promise<BatchOutcome>((r) => (resolve = r));
    if (!queue.offer({ entry, resolve, key })) {
      metrics.batches.inc({ ...labels, outcome: "rejected" });
      return Promise.resolve({
        ok: false,
        status: 429,
        error: "buffer_full",
        detail:
          `Cannot accept batch ${entry.seq}: ${queue.length} batches (${queue.bytes} bytes) wait for table ${table.name}`,
        written: "no",
      });
    }
    metrics.bufferDepth.set(labels, queue.length);
    pending.set(key, promise);
    kick();
    return promise;
  }

  /** Start the loop unless it runs. */
  function kick(): void {
    if (running !== undefined) return;
    running = loop().finally(() => {
      running = undefined;
      // A batch queued after the loop's last look at the queue but before this callback would
      // otherwise wait forever: look again.
      if (queue.length > 0) kick();
    });
  }

  async function loop(): Promise<void> {
    // The loop only ever runs once at a time (`running`), so groups commit one after the other.
    await Promise.resolve();
    while (queue.length > 0) {
      await waitForCeiling();
      const group = queue.takeGroup();
      metrics.bufferDepth.set(labels, queue.length);
      inFlight = group.length;
      try {
        await commitWaiting(group);
      } catch (e) {
        // commitGroup answers every batch itself; this is the guard for a bug in it.
        logger.error("Committer failed unexpectedly", { table: table.name, error: message(e) });
        for (const w of group.filter((w) => pending.get(w.key) !== undefined)) {
          answer(w, {
            ok: false,
            status: 500,
            error: "internal",
            detail: message(e),
            written: "unknown",
          });
        }
      } finally {
        inFlight = 0;
      }
    }
  }

  /**
   * Wait for the ceiling's slot, at most once per group: a clock that stepped back then delays a
   * group by one spacing at most, never indefinitely. The group is taken after the wait, so the
   * batches that arrived meanwhile join it.
   */
  async function waitForCeiling(): Promise<void> {
    const delayMs = ceiling.delayMs(clock.nowMs());
    if (delayMs > 0) {
      metrics.ceilingWaits.inc(labels);
      await new Promise<void>((resolve) => timers.setTimeout(resolve, delayMs));
    }
    ceiling.record(clock.nowMs());
  }

  async function commitWaiting(group: readonly Waiting[]): Promise<void> {
    const byEntry = new Map(group.map((w) => [w.entry, w]));
    const groupDeps: GroupCommitDeps = {
      table,
      registry,
      clock,
      logger,
      metrics,
      limits,
      sequences,
      snapshot,
      setSnapshot,
      context,
      answer: (entry, outcome) => answer(byEntry.get(entry)!, outcome),
    };
    const result = await commitGroup(groupDeps, group.map((w) => w.entry));
    if (result.kind === "failed") lastError = result.error;
    if (result.kind === "committed") {
      lastError = undefined;
      scheduleAfterCommit(result.version, result.snapshot, result.actions);
      try {
        deps.onCommitted?.({
          version: result.version,
          snapshot: result.snapshot,
          actions: result.actions,
        });
      } catch (e) {
        logger.error("onCommitted failed", { table: table.name, error: message(e) });
      }
    }
  }

  function scheduleAfterCommit(version: number, s: Snapshot, actions: Action[]): void {
    if (afterCommitPending >= limits.afterCommitPendingMax) {
      metrics.afterCommitSkipped.inc(labels);
      logger.warn("afterCommit skipped: too many runs waiting", {
        table: table.name,
        version,
        pending: afterCommitPending,
      });
      return;
    }
    afterCommitPending++;
    afterCommitChain = afterCommitChain.then(async () => {
      try {
        await registry.runAfterCommit({ version, snapshot: s, actions }, context(s));
      } catch (e) {
        logger.error("afterCommit failed", { table: table.name, version, error: message(e) });
      } finally {
        afterCommitPending--;
      }
    });
  }

  return {
    snapshot,
    seqStatus,
    freshSeqStatus,
    submit,
    nextCommitInMs: () => ceiling.delayMs(clock.nowMs()),
    stats: () => ({
      version: current?.version,
      depth: queue.length,
      inFlight,
      afterCommitPending,
      lastError,
    }),
    async close() {
      closed = true;
      while (running !== undefined) await running;
      await afterCommitChain;
    },
  };
}
