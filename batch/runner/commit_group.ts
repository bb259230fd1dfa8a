/**
 * The commit of one group of batches, the committer's step (`committer.ts` runs it for every group
 * it takes from its queue, one at a time). {@linkcode commitGroup} answers every batch of the group,
 * through `deps.answer`, exactly once:
 *
 * ```
 *  group ─▶ classify seqs ─▶ writeFiles ∥ (≤ writeBatchesConcurrencyMax) ─▶ hold back after failures
 *           (duplicate: 200,    (no writer, schema, refused: 422; else 500)   (503 earlier_batch_failed)
 *            stale: 409)                                                          │
 *      ┌───────────────────────────────────────────────────────────────────────────┘
 *      ▼
 *  beforeCommit ─▶ commitActions ─ ok ─▶ remember seqs, answer 200 { version } ─▶ "committed"
 *      ▲  (rejected: 422,          ├─ duplicate (another runner won) ─▶ classify seqs again ─┐
 *      │   timed out: 503)         ├─ throws ─▶ drop the snapshot, 503 written unknown        │
 *      │                           └─ conflict ─▶ reload (≤ conflictRetriesMax, then 503);     │
 *      │                                          schema changed: 503; classify seqs again ───┤
 *      └──────────────────────────────────────────────────────────────────────────────────────┘
 * ```
 *
 * The in-memory snapshot is the committer's: the group reads it through `deps.snapshot()` and
 * replaces it with `deps.setSnapshot` (the commit's result, or `undefined` when the outcome is
 * unknown, so the next group reloads). Batches are never answered 200 before their commit file is
 * durable; data files of a batch that does not commit stay as orphans for vacuum.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { Clock } from "../../core/clock.ts";
import { mapBounded } from "../../core/concurrency.ts";
import { isLakestrikeError } from "../../core/errors.ts";
import type { Action, Add } from "../../core/log/actions.ts";
import { commitActions, type CommitOptions } from "../../core/log/commit.ts";
import type { CommitDraft as CoreCommitDraft } from "../../core/log/conflict.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { PluginHookError } from "../../plugins/errors.ts";
import type { PluginRegistry } from "../../plugins/registry.ts";
import type { CommitDraft, Logger, WriteContext } from "../../plugins/types.ts";
import { heldBackSeqs, type ProducerSequences, txnsOf } from "./producer_sequences.ts";
import { gapOutcome } from "./client_producers.ts";
import type { RunnerMetrics } from "./runner_metrics.ts";

/** Options of `commitActions` a table passes through (commit protocol, attempts); not the clock. */
export type RunnerCommitOptions = Omit<CommitOptions, "clock">;

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
  /** Ceiling on the table's commits per second (ADR 0031); default 25. */
  commitsPerSecondMax?: number;
  /** The table as just loaded; the committer starts from it (else it loads on first use). */
  initialSnapshot?: Snapshot;
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

/** The 409 answer of a batch whose seq is below the producer's committed one. */
export function staleOutcome(
  entry: Pick<BatchEntry, "producer" | "seq">,
  committedSeq: number,
): Extract<BatchOutcome, { ok: false }> {
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

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What {@linkcode commitGroup} needs of its committer. */
export interface GroupCommitDeps {
  table: CommitterTable;
  /** A frozen registry with at least one `writeFiles` handler. */
  registry: PluginRegistry;
  clock: Clock;
  logger: Logger;
  metrics: RunnerMetrics;
  /** The limits a group commit obeys. */
  limits: {
    /** Batches of a group whose files are written at once. */
    writeBatchesConcurrencyMax: number;
    /** Times a group is retried after a conflict (reloading the snapshot) before 503. */
    conflictRetriesMax: number;
  };
  /** The committer's memory of committed seqs: read to classify, written after a commit. */
  sequences: ProducerSequences;
  /** The committer's snapshot, loaded when it has none (rejects when the table cannot be read). */
  snapshot(): Promise<Snapshot>;
  /** Replace the committer's snapshot; `undefined` makes the next `snapshot()` reload. */
  setSnapshot(snapshot: Snapshot | undefined): void;
  /** The plugin context of the write hooks at `snapshot`. */
  context(snapshot: Snapshot): WriteContext;
  /** Answer one batch (called exactly once per batch of the group). */
  answer(entry: BatchEntry, outcome: BatchOutcome): void;
}

/** How a group ended, besides its answers. */
export type GroupCommitResult =
  /** Committed at `version`; `afterCommit` is the committer's to schedule. */
  | { kind: "committed"; version: number; snapshot: Snapshot; actions: Action[] }
  /** The commit failed or gave up on conflicts: `error` is the table's last error. */
  | { kind: "failed"; error: string }
  /** Every batch was answered without a commit (duplicates, refusals, unreadable table). */
  | { kind: "answered" };

interface Written {
  entry: BatchEntry;
  adds: Add[];
}

/**
 * Answer the batches already committed (duplicate), the stale ones and a client's gaps (409);
 * return the rest.
 */
function dropCommitted<T>(
  deps: GroupCommitDeps,
  items: readonly T[],
  snapshot: Snapshot,
  entryOf: (item: T) => BatchEntry,
): T[] {
  const rest: T[] = [];
  const nowMs = deps.clock.nowMs();
  for (const item of items) {
    const entry = entryOf(item);
    const status = deps.sequences.status(entry.producer, entry.seq, snapshot, nowMs);
    if (status.kind === "new") rest.push(item);
    else if (status.kind === "duplicate") {
      deps.answer(entry, {
        ok: true,
        version: status.version,
        rows: entry.batch.numRows,
        duplicate: true,
      });
    } else if (status.kind === "gap") deps.answer(entry, gapOutcome(entry, status.committedSeq));
    else deps.answer(entry, staleOutcome(entry, status.committedSeq));
  }
  return rest;
}

function fail(
  deps: GroupCommitDeps,
  entries: readonly BatchEntry[],
  status: 422 | 500 | 503,
  error: string,
  detail: string,
  written: "no" | "unknown" = "no",
): void {
  for (const entry of entries) deps.answer(entry, { ok: false, status, error, detail, written });
}

/**
 * Write the data files of `batches` (at most `writeBatchesConcurrencyMax` at once) and answer
 * those whose files fail; returns the written ones in group order.
 */
export async function writeGroup(
  deps: GroupCommitDeps,
  batches: readonly BatchEntry[],
  snapshot: Snapshot,
): Promise<{ entry: BatchEntry; adds: Add[] }[]> {
  const ctx = deps.context(snapshot);
  const results = await mapBounded(
    batches,
    deps.limits.writeBatchesConcurrencyMax,
    (entry): Promise<PromiseSettledResult<Add[] | undefined>> =>
      deps.registry.runWriteFiles(entry.batch, ctx).then(
        (value) => ({ status: "fulfilled", value }),
        (reason) => ({ status: "rejected", reason }),
      ),
  );
  const written: Written[] = [];
  const { logger, table } = deps;
  results.forEach((r, i) => {
    const entry = batches[i]!;
    if (r.status === "fulfilled" && r.value !== undefined) {
      written.push({ entry, adds: r.value });
    } else if (r.status === "fulfilled") {
      // A configuration error that every retry would meet again: final, not transient.
      fail(
        deps,
        [entry],
        422,
        "no_writer",
        `Cannot write batch ${entry.seq}: no writeFiles hook answered`,
      );
    } else if (isSchemaMismatch(r.reason)) {
      fail(deps, [entry], 422, "schema_mismatch", message(r.reason));
    } else if (isPermanentWriteError(r.reason)) {
      logger.warn("Data files refused", { table: table.name, error: message(r.reason) });
      fail(deps, [entry], 422, "write_rejected", message(r.reason));
    } else {
      logger.error("Cannot write data files", { table: table.name, error: message(r.reason) });
      fail(deps, [entry], 500, "write_failed", message(r.reason));
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
function holdBackAfterFailures(
  deps: GroupCommitDeps,
  candidates: readonly BatchEntry[],
  written: Written[],
): Written[] {
  const held = heldBackOf(candidates, written);
  if (held.size === 0) return written;
  return written.filter((w) => {
    const failedSeq = held.get(w.entry);
    if (failedSeq === undefined) return true;
    fail(
      deps,
      [w.entry],
      503,
      "earlier_batch_failed",
      `Cannot commit batch ${w.entry.seq} of producer ${w.entry.producer}: its batch ` +
        `${failedSeq} failed; send them again in order`,
    );
    return false;
  });
}

function heldBackOf(candidates: readonly BatchEntry[], written: readonly Written[]) {
  return heldBackSeqs(candidates, written.map((w) => w.entry));
}

async function draftOf(
  deps: GroupCommitDeps,
  written: readonly Written[],
  snapshot: Snapshot,
): Promise<CommitDraft> {
  const actions: Action[] = written.flatMap((w) => w.adds.map((add): Action => ({ add })));
  for (const txn of txnsOf(written.map((w) => w.entry), snapshot, deps.clock.nowMs())) {
    actions.push({ txn });
  }
  return await deps.registry.runBeforeCommit(
    { actions, commitInfo: {}, operation: "WRITE" },
    deps.context(snapshot),
  );
}

function coreDraft(draft: CommitDraft, snapshot: Snapshot): CoreCommitDraft {
  return {
    operation: draft.operation,
    operationParameters: {
      mode: "Append",
      partitionBy: JSON.stringify(snapshot.metadata.partitionColumns),
    },
    commitInfo: draft.commitInfo,
    actions: draft.actions,
  };
}

/** Remember the committed seqs, count the commit and answer its batches. */
function finishCommit(deps: GroupCommitDeps, written: readonly Written[], version: number): void {
  const labels = { table: deps.table.name };
  let rows = 0;
  let bytes = 0;
  let files = 0;
  for (const { entry, adds } of written) {
    deps.sequences.remember(entry.producer, entry.seq, version);
    rows += entry.batch.numRows;
    bytes += entry.bytes;
    files += adds.length;
  }
  const { metrics } = deps;
  metrics.commits.inc(labels);
  metrics.rows.inc(labels, rows);
  metrics.bytes.inc(labels, bytes);
  metrics.files.inc(labels, files);
  metrics.groupSize.observe(labels, written.length);
  for (const { entry } of written) {
    deps.answer(entry, { ok: true, version, rows: entry.batch.numRows, duplicate: false });
  }
}

/**
 * Commit one group (see the module doc); every batch of `group` is answered through
 * `deps.answer` before this resolves. Never rejects unless a dependency throws.
 */
export async function commitGroup(
  deps: GroupCommitDeps,
  group: readonly BatchEntry[],
): Promise<GroupCommitResult> {
  const { table, clock, logger, metrics } = deps;
  const labels = { table: table.name };
  const entries = (ws: readonly Written[]) => ws.map((w) => w.entry);
  let s: Snapshot;
  try {
    s = await deps.snapshot();
  } catch (e) {
    fail(deps, group, 503, "table_unavailable", message(e));
    return { kind: "answered" };
  }
  const candidates = dropCommitted(deps, group, s, (entry) => entry);
  let written = holdBackAfterFailures(deps, candidates, await writeGroup(deps, candidates, s));
  const schemaString = s.metadata.schemaString;
  const partitionBy = JSON.stringify(s.metadata.partitionColumns);
  for (let retry = 0; written.length > 0; retry++) {
    let draft: CommitDraft;
    try {
      draft = await draftOf(deps, written, s);
    } catch (e) {
      // A plugin that rejects the batch on purpose is final (422: the edge does not retry it);
      // a hook that timed out or was aborted may succeed later (503).
      const transient = e instanceof PluginHookError &&
        (e.failure === "timeout" || e.failure === "aborted");
      fail(deps, entries(written), transient ? 503 : 422, "commit_rejected", message(e));
      return { kind: "answered" };
    }
    const started = clock.nowMs();
    let result;
    try {
      result = await commitActions(table.storage, s, coreDraft(draft, s), {
        ...table.commitOptions,
        clock,
      });
    } catch (e) {
      deps.setSnapshot(undefined); // the outcome may be unknown: reload before the next commit
      logger.error("Commit failed", { table: table.name, error: message(e) });
      fail(deps, entries(written), 503, "commit_failed", message(e), "unknown");
      return { kind: "failed", error: `Cannot commit to table ${table.name}: ${message(e)}` };
    }
    metrics.commitLatency.observe(labels, (clock.nowMs() - started) / 1000);
    metrics.conflicts.inc(labels, Math.max(0, result.attempts - 1));
    if (result.ok) {
      deps.setSnapshot(result.snapshot);
      if (result.duplicate) {
        // The table already holds a txn at or above every producer's seq (another runner got
        // there first): each batch is a duplicate only when its own seq is the committed one.
        s = result.snapshot;
        written = dropCommitted(deps, written, s, (w) => w.entry);
        continue;
      }
      finishCommit(deps, written, result.version);
      return {
        kind: "committed",
        version: result.version,
        snapshot: result.snapshot,
        actions: draft.actions,
      };
    }
    metrics.conflicts.inc(labels);
    if (retry >= deps.limits.conflictRetriesMax) {
      fail(deps, entries(written), 503, "commit_conflict", result.reason);
      return { kind: "failed", error: result.reason };
    }
    metrics.retries.inc(labels);
    logger.warn("Commit conflict, reloading the snapshot", {
      table: table.name,
      kind: result.kind,
      reason: result.reason,
    });
    try {
      deps.setSnapshot(undefined);
      s = await deps.snapshot();
    } catch (e) {
      fail(deps, entries(written), 503, "table_unavailable", message(e));
      return { kind: "answered" };
    }
    if (
      s.metadata.schemaString !== schemaString ||
      JSON.stringify(s.metadata.partitionColumns) !== partitionBy
    ) {
      // The files were written for the old schema: let the producers retry from scratch.
      fail(
        deps,
        entries(written),
        503,
        "schema_changed",
        `Cannot commit to table ${table.name}: its schema changed at version ${s.version}`,
      );
      return { kind: "answered" };
    }
    written = dropCommitted(deps, written, s, (w) => w.entry);
  }
  return { kind: "answered" };
}
