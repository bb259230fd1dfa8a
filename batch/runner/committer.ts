/**
 * The committer: one loop per table that turns queued batches into Delta commits.
 *
 * Batches arrive (already decoded, transformed and validated by the intake) and wait in a bounded
 * queue. When the loop is idle it takes a group from the head of the queue (at most
 * `groupBatchesMax` batches, `groupRowsMax` rows and `groupBytesMax` bytes, always at least one),
 * so every batch that arrived while a commit was in flight goes into the next commit together
 * (group commit). For a group it:
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
 *              │ loop idle
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
import type * as arrow from "apache-arrow";
import type { Clock } from "../../core/clock.ts";
import { isLakestrikeError } from "../../core/errors.ts";
import type { Action, Add } from "../../core/log/actions.ts";
import { commitActions, type CommitOptions } from "../../core/log/commit.ts";
import type { CommitDraft as CoreCommitDraft } from "../../core/log/conflict.ts";
import { loadSnapshot, txnVersion } from "../../core/snapshot/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import type { PluginRegistry } from "../../plugins/registry.ts";
import { PluginHookError } from "../../plugins/errors.ts";
import type { CommitDraft, Logger, PluginContext } from "../../plugins/types.ts";
import type { RunnerMetrics } from "./runner_metrics.ts";

/** Options of `commitActions` a table passes through (commit protocol, attempts); not the clock. */
export type RunnerCommitOptions = Omit<CommitOptions, "clock">;

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

/** A table as the committer sees it. */
export interface CommitterTable {
  /** Table name (the `table` label of metrics). */
  name: string;
  /** Table URI, passed to plugins. */
  uri: string;
  /** Storage scoped to the table root. */
  storage: ObjectStorage;
  /** Passed to every `commitActions` call. */
  commitOptions?: RunnerCommitOptions;
}

/** Dependencies of {@linkcode createCommitter}. */
export interface CommitterDeps {
  table: CommitterTable;
  /** A frozen registry with at least one `writeFiles` handler. */
  registry: PluginRegistry;
  clock: Clock;
  logger: Logger;
  limits: CommitterLimits;
  metrics: RunnerMetrics;
  /** Aborts plugin hooks when the runner shuts down. */
  signal: AbortSignal;
}

/** One batch to commit. */
export interface BatchEntry {
  /** `x-lakestrike-producer`, the `txn` appId. */
  producer: string;
  /** `x-lakestrike-seq`, the `txn` version. */
  seq: number;
  /** The validated (and transformed) batch. */
  batch: arrow.Table;
  /** Size of the request body, for limits and metrics. */
  bytes: number;
}

/**
 * How a batch ended. A failure says whether the batch may have been committed all the same
 * (`written: "unknown"`, only after a commit whose outcome is unknown) or certainly not (`"no"`).
 */
export type BatchOutcome =
  | { ok: true; version: number; rows: number; duplicate: boolean }
  | {
    ok: false;
    status: 409 | 422 | 429 | 500 | 503;
    error: string;
    detail: string;
    written: "no" | "unknown";
    /** The producer's committed seq, on a 409. */
    committedSeq?: number;
  };

/** Where a `(producer, seq)` stands against what the table holds (see the sequence rules). */
export type SeqStatus =
  | { kind: "new" }
  | { kind: "duplicate"; version: number }
  | { kind: "stale"; committedSeq: number };

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
  /** Queue a batch; resolves when it is committed or failed. Never rejects. */
  submit(entry: BatchEntry): Promise<BatchOutcome>;
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

interface Written {
  waiting: Waiting;
  adds: Add[];
}

interface Remembered {
  seq: number;
  version: number;
  recent: { seq: number; version: number }[];
}

function keyOf(producer: string, seq: number): string {
  return `${producer}\u0000${seq}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The 409 answer of a batch whose seq is below the producer's committed one. */
export function staleOutcome(
  entry: Pick<BatchEntry, "producer" | "seq">,
  committedSeq: number,
): BatchOutcome {
  return {
    ok: false,
    status: 409,
    error: "sequence_conflict",
    detail: `Cannot accept batch ${entry.seq} of producer ${entry.producer}: the table holds its ` +
      `seq ${committedSeq}, and ${entry.seq} is not a retry of a batch known to be committed; ` +
      `nothing was written (take a new producer identity and send again)`,
    written: "no",
    committedSeq,
  };
}

/**
 * True when writing failed in a way every retry of the same batch meets again: an invalid argument
 * (a value or name the writer cannot represent) or a file name the storage refuses as too long.
 */
export function isPermanentWriteError(e: unknown): boolean {
  const cause = e instanceof PluginHookError ? e.cause : e;
  if (isLakestrikeError(cause, "INVALID_ARGUMENT")) return true;
  const code = (cause as { code?: unknown } | null)?.code;
  return code === "ENAMETOOLONG" || code === "KeyTooLongError";
}

/** True when `e` (or the cause of a plugin hook error) is a schema mismatch. */
function isSchemaMismatch(e: unknown): boolean {
  if (isLakestrikeError(e, "SCHEMA_MISMATCH")) return true;
  return e instanceof PluginHookError && isLakestrikeError(e.cause, "SCHEMA_MISMATCH");
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
  const queue: Waiting[] = [];
  let queueBytes = 0;
  const pending = new Map<string, Promise<BatchOutcome>>();
  const remembered = new Map<string, Remembered>();
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

  function remember(producer: string, seq: number, version: number): void {
    const r = remembered.get(producer) ?? { seq, version, recent: [] };
    remembered.delete(producer); // re-insert: Map order is least recently committed first
    if (seq >= r.seq) {
      r.seq = seq;
      r.version = version;
    }
    r.recent.push({ seq, version });
    if (r.recent.length > limits.recentSeqsMax) r.recent.shift();
    remembered.set(producer, r);
    if (remembered.size > limits.producersMax) {
      remembered.delete(remembered.keys().next().value!);
    }
  }

  function seqStatus(producer: string, seq: number): SeqStatus {
    const r = remembered.get(producer);
    if (r !== undefined && seq <= r.seq) {
      const exact = r.recent.find((x) => x.seq === seq);
      if (exact !== undefined) return { kind: "duplicate", version: exact.version };
      return { kind: "stale", committedSeq: r.seq };
    }
    if (current === undefined) return { kind: "new" };
    const committed = txnVersion(current, producer, clock.nowMs());
    if (committed === undefined || seq > committed) return { kind: "new" };
    if (seq === committed) return { kind: "duplicate", version: current.version };
    return { kind: "stale", committedSeq: committed };
  }

  function answer(w: Waiting, outcome: BatchOutcome): void {
    pending.delete(w.key);
    const outcomeLabel = outcome.ok
      ? (outcome.duplicate ? "duplicate" : "committed")
      : (outcome.status < 500 ? "rejected" : "failed");
    metrics.batches.inc({ ...labels, outcome: outcomeLabel });
    w.resolve(outcome);
  }

  function fail(
    ws: readonly Waiting[],
    status: 422 | 500 | 503,
    error: string,
    detail: string,
    written: "no" | "unknown" = "no",
  ): void {
    for (const w of ws) answer(w, { ok: false, status, error, detail, written });
  }

  function context(s: Snapshot | undefined): PluginContext {
    const ctx: PluginContext = {
      table: { name: table.name, uri: table.uri },
      storage: table.storage,
      clock,
      signal: deps.signal,
      limits: { ...limits },
      logger,
      operation: "write",
      dryRun: false,
    };
    return s === undefined ? ctx : { ...ctx, snapshot: s };
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
    if (queue.length >= limits.queueBatchesMax || queueBytes + entry.bytes > limits.queueBytesMax) {
      metrics.batches.inc({ ...labels, outcome: "rejected" });
      return Promise.resolve({
        ok: false,
        status: 429,
        error: "buffer_full",
        detail:
          `Cannot accept batch ${entry.seq}: ${queue.length} batches (${queueBytes} bytes) wait for table ${table.name}`,
        written: "no",
      });
    }
    const promise = new Promise<BatchOutcome>((resolve) => {
      queue.push({ entry, resolve, key });
    });
    queueBytes += entry.bytes;
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

  function takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    let rows = 0;
    let bytes = 0;
    while (queue.length > 0 && group.length < limits.groupBatchesMax) {
      const next = queue[0]!;
      const r = next.entry.batch.numRows;
      const b = next.entry.bytes;
      if (
        group.length > 0 && (rows + r > limits.groupRowsMax || bytes + b > limits.groupBytesMax)
      ) {
        break;
      }
      queue.shift();
      queueBytes -= b;
      group.push(next);
      rows += r;
      bytes += b;
    }
    metrics.bufferDepth.set(labels, queue.length);
    return group;
  }

  async function loop(): Promise<void> {
    // The loop only ever runs once at a time (`running`), so groups commit one after the other.
    await Promise.resolve();
    while (queue.length > 0) {
      const group = takeGroup();
      inFlight = group.length;
      try {
        await commitGroup(group);
      } catch (e) {
        // commitGroup answers every batch itself; this is the guard for a bug in it.
        logger.error("Committer failed unexpectedly", { table: table.name, error: message(e) });
        fail(
          group.filter((w) => pending.get(w.key) !== undefined),
          500,
          "internal",
          message(e),
          "unknown",
        );
      } finally {
        inFlight = 0;
      }
    }
  }

  /** Answer the batches already committed (duplicate) and the stale ones (409); return the rest. */
  function dropCommitted<T>(items: T[], waitingOf: (item: T) => Waiting): T[] {
    const rest: T[] = [];
    for (const item of items) {
      const w = waitingOf(item);
      const status = seqStatus(w.entry.producer, w.entry.seq);
      if (status.kind === "new") rest.push(item);
      else if (status.kind === "duplicate") {
        answer(w, {
          ok: true,
          version: status.version,
          rows: w.entry.batch.numRows,
          duplicate: true,
        });
      } else answer(w, staleOutcome(w.entry, status.committedSeq));
    }
    return rest;
  }

  async function writeGroup(group: Waiting[], s: Snapshot): Promise<Written[]> {
    const ctx = context(s);
    const results: PromiseSettledResult<Add[] | undefined>[] = new Array(group.length);
    let next = 0;
    const worker = async () => {
      while (next < group.length) {
        const i = next++;
        try {
          results[i] = {
            status: "fulfilled",
            value: await registry.runWriteFiles(group[i]!.entry.batch, ctx),
          };
        } catch (reason) {
          results[i] = { status: "rejected", reason };
        }
      }
    };
    const workers = Math.min(limits.writeBatchesConcurrencyMax, group.length);
    await Promise.all(Array.from({ length: workers }, worker));
    const written: Written[] = [];
    results.forEach((r, i) => {
      const w = group[i]!;
      if (r.status === "fulfilled" && r.value !== undefined) {
        written.push({ waiting: w, adds: r.value });
      } else if (r.status === "fulfilled") {
        // A configuration error that every retry would meet again: final, not transient.
        answer(w, {
          ok: false,
          status: 422,
          error: "no_writer",
          detail: `Cannot write batch ${w.entry.seq}: no writeFiles hook answered`,
          written: "no",
        });
      } else if (isSchemaMismatch(r.reason)) {
        answer(w, {
          ok: false,
          status: 422,
          error: "schema_mismatch",
          detail: message(r.reason),
          written: "no",
        });
      } else if (isPermanentWriteError(r.reason)) {
        logger.warn("Data files refused", { table: table.name, error: message(r.reason) });
        answer(w, {
          ok: false,
          status: 422,
          error: "write_rejected",
          detail: message(r.reason),
          written: "no",
        });
      } else {
        logger.error("Cannot write data files", { table: table.name, error: message(r.reason) });
        answer(w, {
          ok: false,
          status: 500,
          error: "write_failed",
          detail: message(r.reason),
          written: "no",
        });
      }
    });
    return written;
  }

  /**
   * A commit's `txn` carries each producer's highest seq, and every seq at or below it counts as
   * committed. So when a producer's batch failed to write, none of its higher seqs in the group may
   * commit: they are failed (retryable, 503) and their files left for vacuum, so the producer sends
   * them again after the failed one.
   */
  function holdBackAfterFailures(candidates: readonly Waiting[], written: Written[]): Written[] {
    const ok = new Set(written.map((w) => w.waiting));
    const lowestFailed = new Map<string, number>();
    for (const w of candidates) {
      if (ok.has(w)) continue;
      const { producer, seq } = w.entry;
      lowestFailed.set(producer, Math.min(lowestFailed.get(producer) ?? Infinity, seq));
    }
    if (lowestFailed.size === 0) return written;
    return written.filter(({ waiting: w }) => {
      const failedSeq = lowestFailed.get(w.entry.producer);
      if (failedSeq === undefined || w.entry.seq < failedSeq) return true;
      answer(w, {
        ok: false,
        status: 503,
        error: "earlier_batch_failed",
        detail: `Cannot commit batch ${w.entry.seq} of producer ${w.entry.producer}: its batch ` +
          `${failedSeq} failed; send them again in order`,
        written: "no",
      });
      return false;
    });
  }

  async function draftOf(written: Written[], s: Snapshot): Promise<CommitDraft> {
    const maxSeq = new Map<string, number>();
    for (const { waiting: { entry } } of written) {
      maxSeq.set(entry.producer, Math.max(maxSeq.get(entry.producer) ?? -1, entry.seq));
    }
    const lastUpdated = clock.nowMs();
    const actions: Action[] = written.flatMap((w) => w.adds.map((add): Action => ({ add })));
    for (const [appId, seq] of maxSeq) {
      // Never write a txn below the producer's committed one: replay keeps the newest txn, so a
      // late retry of an old (expired) seq must not move the producer's position backwards.
      const version = Math.max(seq, s.txns.get(appId)?.version ?? -1);
      actions.push({ txn: { appId, version, lastUpdated } });
    }
    return await registry.runBeforeCommit(
      { actions, commitInfo: {}, operation: "WRITE" },
      context(s),
    );
  }

  function coreDraft(draft: CommitDraft, s: Snapshot): CoreCommitDraft {
    return {
      operation: draft.operation,
      operationParameters: {
        mode: "Append",
        partitionBy: JSON.stringify(s.metadata.partitionColumns),
      },
      commitInfo: draft.commitInfo,
      actions: draft.actions,
    };
  }

  async function commitGroup(group: Waiting[]): Promise<void> {
    let s: Snapshot;
    try {
      s = await snapshot();
    } catch (e) {
      fail(group, 503, "table_unavailable", message(e));
      return;
    }
    const candidates = dropCommitted(group, (w) => w);
    let written = holdBackAfterFailures(candidates, await writeGroup(candidates, s));
    const schemaString = s.metadata.schemaString;
    const partitionBy = JSON.stringify(s.metadata.partitionColumns);
    for (let retry = 0; written.length > 0; retry++) {
      let draft: CommitDraft;
      try {
        draft = await draftOf(written, s);
      } catch (e) {
        // A plugin that rejects the batch on purpose is final (422: the edge does not retry it);
        // a hook that timed out or was aborted may succeed later (503).
        const transient = e instanceof PluginHookError &&
          (e.failure === "timeout" || e.failure === "aborted");
        fail(
          written.map((w) => w.waiting),
          transient ? 503 : 422,
          "commit_rejected",
          message(e),
        );
        return;
      }
      const started = clock.nowMs();
      let result;
      try {
        result = await commitActions(table.storage, s, coreDraft(draft, s), {
          ...table.commitOptions,
          clock,
        });
      } catch (e) {
        setSnapshot(undefined); // the outcome may be unknown: reload before the next commit
        lastError = `Cannot commit to table ${table.name}: ${message(e)}`;
        logger.error("Commit failed", { table: table.name, error: message(e) });
        fail(written.map((w) => w.waiting), 503, "commit_failed", message(e), "unknown");
        return;
      }
      metrics.commitLatency.observe(labels, (clock.nowMs() - started) / 1000);
      metrics.conflicts.inc(labels, Math.max(0, result.attempts - 1));
      if (result.ok) {
        setSnapshot(result.snapshot);
        if (result.duplicate) {
          // The table already holds a txn at or above every producer's seq (another runner got
          // there first): each batch is a duplicate only when its own seq is the committed one.
          s = result.snapshot;
          written = dropCommitted(written, (w) => w.waiting);
          continue;
        }
        finishCommit(written, result.version, result.snapshot, draft);
        return;
      }
      metrics.conflicts.inc(labels);
      if (retry >= limits.conflictRetriesMax) {
        lastError = result.reason;
        fail(written.map((w) => w.waiting), 503, "commit_conflict", result.reason);
        return;
      }
      metrics.retries.inc(labels);
      logger.warn("Commit conflict, reloading the snapshot", {
        table: table.name,
        kind: result.kind,
        reason: result.reason,
      });
      try {
        setSnapshot(undefined);
        s = await snapshot();
      } catch (e) {
        fail(written.map((w) => w.waiting), 503, "table_unavailable", message(e));
        return;
      }
      if (
        s.metadata.schemaString !== schemaString ||
        JSON.stringify(s.metadata.partitionColumns) !== partitionBy
      ) {
        // The files were written for the old schema: let the producers retry from scratch.
        fail(
          written.map((w) => w.waiting),
          503,
          "schema_changed",
          `Cannot commit to table ${table.name}: its schema changed at version ${s.version}`,
        );
        return;
      }
      written = dropCommitted(written, (w) => w.waiting);
    }
  }

  function finishCommit(written: Written[], version: number, s: Snapshot, draft: CommitDraft) {
    lastError = undefined;
    let rows = 0;
    let bytes = 0;
    let files = 0;
    for (const { waiting: w, adds } of written) {
      remember(w.entry.producer, w.entry.seq, version);
      rows += w.entry.batch.numRows;
      bytes += w.entry.bytes;
      files += adds.length;
    }
    metrics.commits.inc(labels);
    metrics.rows.inc(labels, rows);
    metrics.bytes.inc(labels, bytes);
    metrics.files.inc(labels, files);
    metrics.groupSize.observe(labels, written.length);
    for (const { waiting: w } of written) {
      answer(w, { ok: true, version, rows: w.entry.batch.numRows, duplicate: false });
    }
    scheduleAfterCommit(version, s, draft.actions);
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
    submit,
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
