/**
 * The commit loop: Delta's optimistic concurrency over put-if-absent.
 *
 * A writer read the table at version `v` (its snapshot), wrote its data files, and now wants its
 * actions to become version `v+1`. It writes `_delta_log/%020d.json` through the table's commit
 * protocol (put-if-absent by default; see `commit_protocol.ts`). If another writer got there
 * first, the loop reads only the commits that won (from `v+1` up to the newest), checks each
 * against ours with Delta's conflict rules ({@linkcode checkConflict}), advances its
 * snapshot by them, and tries the next free version. The budget of attempts is bounded; a conflict
 * or an exhausted budget is a returned value, a storage failure is thrown.
 *
 * ```
 *            ┌───────────── idempotent txn already committed ──────────────▶ ok (duplicate)
 *            │
 *  start ──▶ put-if-absent N.json ──ok──▶ apply own commit to snapshot ──▶ ok (version N)
 *               ▲        │ exists
 *               │        ▼
 *               │   read N, N+1, … (the winners) ──conflict──▶ not ok (kind, reason)
 *               │        │ no conflict: snapshot advanced, N = newest + 1
 *               └─retry──┘ (until maxAttempts) ─────────────▶ not ok (max_attempts)
 * ```
 *
 * A put whose outcome is unknown (it threw: the request may have landed and only the answer was
 * lost) is decided by reading that version back and comparing bytes; every attempt's bytes are
 * unique (`commitInfo.txnId` and `timestamp`), so equal bytes prove the commit is ours.
 *
 * The returned snapshot is advanced by our own commit without reading the log again; its
 * `timestampMs` is the `commitInfo.timestamp` we wrote (a fresh load would use the file's mtime).
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import type { ObjectMeta, ObjectStorage } from "../storage/storage.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { type Action, parseActions, serializeActions } from "./actions.ts";
import {
  checkConflict,
  type CommitDraft,
  type ConflictKind,
  isBlindAppend,
  type WinningCommit,
} from "./conflict.ts";
import { isLakestrikeError } from "../errors.ts";
import {
  type CommitFileOutcome,
  type CommitProtocol,
  createPutIfAbsentProtocol,
  putIfAbsentDecided,
} from "./commit_protocol.ts";
import { commitPath } from "./paths.ts";
import { applyCommitToSnapshot } from "./replay.ts";
import { isTxnExpired } from "../snapshot/txn.ts";

export type { CommitDraft } from "./conflict.ts";
export type { CommitFileOutcome } from "./commit_protocol.ts";

/** Written into `commitInfo.engineInfo`. */
export const ENGINE_INFO = "lakestrike/0.1.0";

/** Default budget of put attempts of {@linkcode commitActions} (as delta-rs's default of 15 retries). */
export const DEFAULT_MAX_ATTEMPTS = 15;

/** Options of {@linkcode commitActions}. */
export interface CommitOptions {
  /** Put attempts before giving up with `max_attempts`; default {@linkcode DEFAULT_MAX_ATTEMPTS}. */
  maxAttempts?: number;
  /** Source of `commitInfo.timestamp`; default the system clock. */
  clock?: Clock;
  /**
   * How the commit file is created; default put-if-absent on `storage`
   * ({@linkcode createPutIfAbsentProtocol}). Resolve it with `resolveCommitProtocol`.
   */
  protocol?: CommitProtocol;
}

/** Why a commit was not written. */
export type CommitFailureKind = ConflictKind | "max_attempts";

/** Result of {@linkcode commitActions}. */
export type CommitResult =
  | {
    ok: true;
    /** The version that holds the commit (for a duplicate: the current version). */
    version: number;
    /** The table state after the commit, advanced without re-reading the log. */
    snapshot: Snapshot;
    /** Put attempts made (0 for a duplicate found before writing). */
    attempts: number;
    /** True when an idempotent `txn` of the draft was already committed: nothing was written. */
    duplicate?: boolean;
  }
  | {
    ok: false;
    kind: CommitFailureKind;
    reason: string;
    attempts: number;
    /** The newest table state the loop knows (advanced by the winning commits it read). */
    snapshot: Snapshot;
  };

/**
 * Write the commit file of `version` with put-if-absent (the `local` and `s3` protocols). A put
 * that throws has an unknown outcome: the file is read back and compared, so a put that landed but
 * lost its answer is `committed`, a file with other bytes is `exists`, and a missing file rethrows
 * the put's error.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { writeCommitFile } from "./commit.ts";
 * const storage = createMemoryStorage();
 * const bytes = new TextEncoder().encode('{"commitInfo":{}}\n');
 * if (await writeCommitFile(storage, 0, bytes) !== "committed") throw new Error("not written");
 * if (await writeCommitFile(storage, 0, bytes) !== "exists") throw new Error("overwritten");
 * ```
 */
export function writeCommitFile(
  storage: ObjectStorage,
  version: number,
  bytes: Uint8Array,
): Promise<CommitFileOutcome> {
  return putIfAbsentDecided(
    storage,
    commitPath(version),
    bytes,
    `Cannot commit version ${version}`,
  );
}

/**
 * Read one commit file as {@linkcode WinningCommit} plus its timestamp (the in-commit timestamp,
 * else the file's mtime, as log replay defines it), or `undefined` when it does not exist.
 */
export async function readCommitIfExists(
  storage: ObjectStorage,
  version: number,
): Promise<(WinningCommit & { timestampMs: number }) | undefined> {
  const path = commitPath(version);
  let bytes: Uint8Array;
  let meta: ObjectMeta | undefined;
  try {
    [bytes, meta] = await Promise.all([storage.get(path), storage.head(path)]);
  } catch (e) {
    if (isLakestrikeError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
  const actions = parseActions(new TextDecoder().decode(bytes), `version ${version}`);
  let timestampMs = meta?.lastModifiedMs ?? 0;
  for (const a of actions) {
    if ("commitInfo" in a && typeof a.commitInfo.inCommitTimestamp === "number") {
      timestampMs = a.commitInfo.inCommitTimestamp;
    }
  }
  return { version, actions, timestampMs };
}

/**
 * True when the draft carries `txn` actions and the snapshot already holds, for every one of their
 * `appId`s, a version at least as new (Delta PROTOCOL, "Transaction Identifiers"). With `nowMs`
 * (and the snapshot's `metadata`), a committed txn that has expired by
 * `delta.setTransactionRetentionDuration` at `nowMs` does not count, as `txnVersion` decides.
 *
 * @example
 * ```ts
 * import { isDuplicateTxn } from "./commit.ts";
 * const snapshot = { txns: new Map([["edge", { appId: "edge", version: 7 }]]) };
 * const draft = { operation: "WRITE", actions: [{ txn: { appId: "edge", version: 7 } }] };
 * if (!isDuplicateTxn(snapshot, draft)) throw new Error("version 7 is committed");
 * ```
 */
export function isDuplicateTxn(
  snapshot: Pick<Snapshot, "txns"> & Partial<Pick<Snapshot, "metadata">>,
  draft: Pick<CommitDraft, "actions">,
  nowMs?: number,
): boolean {
  let txns = 0;
  for (const a of draft.actions) {
    if (!("txn" in a)) continue;
    txns++;
    const committed = snapshot.txns.get(a.txn.appId);
    if (committed === undefined || committed.version < a.txn.version) return false;
    const metadata = snapshot.metadata;
    if (nowMs !== undefined && metadata && isTxnExpired({ metadata }, committed, nowMs)) {
      return false;
    }
  }
  return txns > 0;
}

/** What {@linkcode createCommitInfo} needs besides the draft. */
export interface CommitInfoFields {
  /** Commit time, epoch ms. */
  timestamp: number;
  /** The version the writer read; absent for the commit that creates a table. */
  readVersion?: number;
  /** Unique id of this transaction. */
  txnId: string;
}

/**
 * The `commitInfo` of a commit (Delta PROTOCOL, "Commit Provenance Information"), shaped like the
 * ones Spark and delta-rs write. The draft's extra fields come first; the loop's own fields win.
 *
 * @example
 * ```ts
 * import { createCommitInfo } from "./commit.ts";
 * const ci = createCommitInfo({ operation: "WRITE", actions: [] }, { timestamp: 5, txnId: "x" });
 * if (ci.operation !== "WRITE" || ci.engineInfo !== "lakestrike/0.1.0") throw new Error("bad");
 * ```
 */
export function createCommitInfo(
  draft: CommitDraft,
  fields: CommitInfoFields,
): Record<string, unknown> {
  const commitInfo: Record<string, unknown> = {
    ...draft.commitInfo,
    timestamp: fields.timestamp,
    operation: draft.operation,
    operationParameters: draft.operationParameters ?? {},
  };
  if (fields.readVersion !== undefined) commitInfo.readVersion = fields.readVersion;
  commitInfo.isolationLevel = "WriteSerializable";
  commitInfo.isBlindAppend = isBlindAppend(draft.actions);
  commitInfo.engineInfo = ENGINE_INFO;
  commitInfo.txnId = fields.txnId;
  return commitInfo;
}

/**
 * Commit `draft` on top of `snapshot` (see the module documentation for the state machine). The
 * commit file starts with a `commitInfo` (timestamp, operation, operationParameters, readVersion,
 * isolationLevel, isBlindAppend, engineInfo, txnId) followed by the draft's actions.
 *
 * @throws when storage fails (other than a lost put-if-absent race), with the storage's error
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { applyActions, createReplayState, finishReplay } from "./replay.ts";
 * import { commitActions } from "./commit.ts";
 * const storage = createMemoryStorage();
 * const state = createReplayState();
 * applyActions(state, 0, [
 *   { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
 *   { metaData: { id: "t", format: { provider: "parquet" }, partitionColumns: [], configuration: {},
 *     schemaString: '{"type":"struct","fields":[]}' } },
 * ]);
 * const v0 = finishReplay(state, { timestampMs: 0 });
 * const add = { path: "a.parquet", partitionValues: {}, size: 1, modificationTime: 0, dataChange: true };
 * const result = await commitActions(storage, v0, { operation: "WRITE", actions: [{ add }] });
 * if (!result.ok || result.version !== 1 || result.snapshot.files.length !== 1) throw new Error("bad");
 * ```
 */
export async function commitActions(
  storage: ObjectStorage,
  snapshot: Snapshot,
  draft: CommitDraft,
  options: CommitOptions = {},
): Promise<CommitResult> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const clock = options.clock ?? systemClock;
  const protocol = options.protocol ?? createPutIfAbsentProtocol(storage);
  const txnId = crypto.randomUUID();
  const readVersion = snapshot.version;
  let current = snapshot;
  let attempts = 0;
  // An expired txn is unknown (as `txnVersion` says): a writer that re-commits its producer's
  // position after expiry must be written, not answered "duplicate" over and over.
  if (isDuplicateTxn(current, draft, clock.nowMs())) {
    return { ok: true, version: current.version, snapshot: current, attempts, duplicate: true };
  }
  while (attempts < maxAttempts) {
    attempts++;
    const version = current.version + 1;
    const timestamp = clock.nowMs();
    const commitInfo = createCommitInfo(draft, { timestamp, readVersion, txnId });
    const actions: Action[] = [{ commitInfo }, ...draft.actions];
    const bytes = new TextEncoder().encode(serializeActions(actions));
    const outcome = await protocol.writeCommit(version, bytes);
    if (outcome === "committed") {
      const next = applyCommitToSnapshot(current, version, actions, timestamp);
      return { ok: true, version, snapshot: next, attempts };
    }
    // Lost the race: read the winners, walking forward until the first missing version (if even
    // `version` is missing, storage broke its contract; retrying is safe, put-if-absent decides).
    for (let v = version;; v++) {
      const winner = await readCommitIfExists(storage, v);
      if (winner === undefined) break;
      const conflict = checkConflict(draft, [winner]);
      current = applyCommitToSnapshot(current, v, winner.actions, winner.timestampMs);
      if (!conflict.ok) {
        if (
          conflict.kind === "concurrent_transaction" &&
          isDuplicateTxn(current, draft, clock.nowMs())
        ) {
          return { ok: true, version: v, snapshot: current, attempts, duplicate: true };
        }
        return {
          ok: false,
          kind: conflict.kind,
          reason: `Cannot commit on top of version ${readVersion}: ${conflict.reason}`,
          attempts,
          snapshot: current,
        };
      }
    }
  }
  return {
    ok: false,
    kind: "max_attempts",
    reason: `Cannot commit version ${
      current.version + 1
    }: gave up after ${attempts} attempts lost to concurrent writers`,
    attempts,
    snapshot: current,
  };
}
