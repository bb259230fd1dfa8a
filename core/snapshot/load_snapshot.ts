/**
 * Loading snapshots from storage: list the log segment, read the checkpoint and the commits after
 * it (in parallel, bounded), replay them in order, and check that the protocol is readable.
 *
 * Time travel by version or by timestamp; commit history for `inspect`.
 *
 * @module
 */
import { mapBounded } from "../concurrency.ts";
import { LakestrikeError, NotFoundError, TableNotFoundError } from "../errors.ts";
import type { Action, CommitInfo } from "../log/actions.ts";
import { parseActions } from "../log/actions.ts";
import { loadCheckpointActions } from "../log/checkpoint_read.ts";
import {
  type CommitFile,
  listLog,
  loadLogSegment,
  type LogListing,
  type LogSegment,
} from "../log/log_segment.ts";
import type { CommitProtocol } from "../log/commit_protocol.ts";
import { commitPath } from "../log/paths.ts";
import { applyActions, createReplayState, finishReplay } from "../log/replay.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { assertReadSupported } from "./protocol.ts";
import type { CheckpointUsed, Snapshot } from "./snapshot.ts";

/** Commit files read at the same time. */
export const COMMIT_READ_CONCURRENCY_MAX = 16;

/**
 * Read and parse the commit file of `version`.
 *
 * @throws {LakestrikeError} `VERSION_NOT_FOUND` when the commit file does not exist
 * @throws {CorruptLogError} when the file is not valid NDJSON of actions
 *
 * @example
 * ```ts
 * import { readCommit } from "./load_snapshot.ts";
 * const text = '{"txn":{"appId":"a","version":1}}\n';
 * const storage = { location: "memory://t", get: () => Promise.resolve(new TextEncoder().encode(text)) };
 * // deno-lint-ignore no-explicit-any
 * const actions = await readCommit(storage as any, 0);
 * if (actions.length !== 1) throw new Error("bad");
 * ```
 */
export async function readCommit(storage: ObjectStorage, version: number): Promise<Action[]> {
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(commitPath(version));
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new LakestrikeError(
        "VERSION_NOT_FOUND",
        `Cannot read version ${version}: commit file ${commitPath(version)} not found`,
        { cause: e },
      );
    }
    throw e;
  }
  return parseActions(new TextDecoder().decode(bytes), `version ${version}`);
}

/** The commitInfo of a commit, if it has one. */
function commitInfoOf(actions: readonly Action[]): CommitInfo | undefined {
  for (const a of actions) if ("commitInfo" in a) return a.commitInfo;
  return undefined;
}

/** In-commit timestamp of a commit (Delta PROTOCOL, "In-Commit Timestamps"), if present. */
function inCommitTimestampOf(actions: readonly Action[]): number | undefined {
  const ict = commitInfoOf(actions)?.inCommitTimestamp;
  return typeof ict === "number" ? ict : undefined;
}

/** Options of {@linkcode loadSnapshot}. */
export interface LoadSnapshotOptions {
  /** Load this version instead of the latest. */
  version?: number;
  /** Load the latest version whose commit timestamp is at or before this time (epoch ms). */
  timestampMs?: number;
  /**
   * The table's commit protocol. Its `repair` runs before the log is listed, so a commit that a
   * crashed `s3-dynamodb` writer decided but did not copy is visible (Spark's `listFrom`).
   */
  protocol?: Pick<CommitProtocol, "repair">;
}

async function replaySegment(storage: ObjectStorage, segment: LogSegment): Promise<Snapshot> {
  const checkpointPromise = segment.checkpoint
    ? loadCheckpointActions(storage, segment.checkpoint)
    : Promise.resolve([] as Action[]);
  const commitsPromise = mapBounded(
    segment.commits,
    COMMIT_READ_CONCURRENCY_MAX,
    (c) => readCommit(storage, c.version),
  );
  const [checkpointActions, commits] = await Promise.all([checkpointPromise, commitsPromise]);
  const state = createReplayState();
  let checkpointUsed: CheckpointUsed | undefined;
  if (segment.checkpoint) {
    applyActions(state, segment.checkpoint.version, checkpointActions);
    checkpointUsed = {
      version: segment.checkpoint.version,
      kind: segment.checkpoint.kind,
      parts: segment.checkpoint.files.length,
    };
  }
  for (let i = 0; i < commits.length; i++) {
    applyActions(state, segment.commits[i]!.version, commits[i]!);
  }
  const timestampMs = await commitTimestamp(storage, segment, commits.at(-1));
  const options = checkpointUsed ? { timestampMs, checkpointUsed } : { timestampMs };
  return finishReplay(state, options);
}

/** Timestamp of the segment's version: in-commit timestamp if present, else the file's mtime. */
async function commitTimestamp(
  storage: ObjectStorage,
  segment: LogSegment,
  lastCommit: readonly Action[] | undefined,
): Promise<number> {
  const last = segment.commits.at(-1);
  if (last && last.version === segment.version) {
    return (lastCommit && inCommitTimestampOf(lastCommit)) ?? last.meta.lastModifiedMs;
  }
  // The version is the checkpoint's: use its commit file when it is still there.
  const commit = segment.listing.commits.find((c) => c.version === segment.version);
  if (commit) {
    try {
      return inCommitTimestampOf(await readCommit(storage, segment.version)) ??
        commit.meta.lastModifiedMs;
    } catch {
      return commit.meta.lastModifiedMs;
    }
  }
  return segment.checkpoint?.files[0]?.lastModifiedMs ?? 0;
}

/**
 * Load the table state at the latest version, at `version`, or at `timestampMs`.
 *
 * @throws {TableNotFoundError} when there is no Delta log
 * @throws {LakestrikeError} `VERSION_NOT_FOUND` when the version cannot be reconstructed
 * @throws {CorruptLogError} on a gap in the log or a malformed file
 * @throws {UnsupportedFeatureError} when the table needs a reader feature this reader lacks
 *
 * @example
 * ```ts
 * import { loadSnapshot } from "./load_snapshot.ts";
 * const files: Record<string, string> = {
 *   "_delta_log/00000000000000000000.json": [
 *     '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}',
 *     '{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\\"type\\":\\"struct\\",\\"fields\\":[]}","partitionColumns":[],"configuration":{}}}',
 *     '{"add":{"path":"a.parquet","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}',
 *   ].join("\n"),
 * };
 * const storage = {
 *   location: "memory://t",
 *   get: (p: string) => {
 *     const t = files[p];
 *     return t === undefined ? Promise.reject(new Error(`missing ${p}`)) : Promise.resolve(new TextEncoder().encode(t));
 *   },
 *   list: () => Promise.resolve(Object.keys(files).sort().map((path) => ({ path, size: 1, lastModifiedMs: 7 }))),
 * };
 * // deno-lint-ignore no-explicit-any
 * const snapshot = await loadSnapshot(storage as any);
 * if (snapshot.version !== 0 || snapshot.files.length !== 1 || snapshot.timestampMs !== 7) throw new Error("bad");
 * ```
 */
export async function loadSnapshot(
  storage: ObjectStorage,
  options: LoadSnapshotOptions = {},
): Promise<Snapshot> {
  await options.protocol?.repair?.();
  let version = options.version;
  if (options.timestampMs !== undefined) {
    const at = await versionAtTimestamp(storage, options.timestampMs);
    version = version === undefined ? at : Math.min(version, at);
  }
  const segment = await loadLogSegment(storage, version === undefined ? {} : { version });
  const snapshot = await replaySegment(storage, segment);
  assertReadSupported(snapshot.protocol);
  return snapshot;
}

/** Commit timestamps: file mtimes made strictly increasing, as Delta's history manager does. */
function adjustedMtimes(commits: readonly CommitFile[]): number[] {
  const out: number[] = [];
  let prev = -Infinity;
  for (const c of commits) {
    const t = Math.max(c.meta.lastModifiedMs, prev + 1);
    out.push(t);
    prev = t;
  }
  return out;
}

/** Version from which commits carry in-commit timestamps, or undefined when the table has none. */
function ictEnablementVersion(snapshot: Snapshot): number | undefined {
  const conf = snapshot.metadata.configuration;
  if (conf["delta.enableInCommitTimestamps"] !== "true") return undefined;
  const v = Number(conf["delta.inCommitTimestampEnablementVersion"] ?? "0");
  return Number.isSafeInteger(v) ? v : 0;
}

/**
 * The latest version whose commit timestamp is at or before `timestampMs`: in-commit timestamps
 * for commits that have them (binary search, O(log n) commit reads), file modification times
 * otherwise.
 *
 * @throws {LakestrikeError} `VERSION_NOT_FOUND` when `timestampMs` is before the earliest commit
 */
export async function versionAtTimestamp(
  storage: ObjectStorage,
  timestampMs: number,
): Promise<number> {
  const listing: LogListing = await listLog(storage);
  const latest = await loadSnapshot(storage);
  const commits = listing.commits.filter((c) => c.version <= latest.version);
  if (commits.length === 0) {
    throw new LakestrikeError(
      "VERSION_NOT_FOUND",
      `Cannot load ${storage.location} at timestamp ${timestampMs}: no commit files in the log`,
    );
  }
  const ictFrom = ictEnablementVersion(latest);
  const mtimes = adjustedMtimes(commits);
  const splitAt = ictFrom === undefined
    ? commits.length
    : commits.findIndex((c) => c.version >= ictFrom);
  const firstIct = splitAt === -1 ? commits.length : splitAt;
  const timestampAt = async (i: number): Promise<number> => {
    if (i < firstIct) return mtimes[i]!;
    const c = commits[i]!;
    return inCommitTimestampOf(await readCommit(storage, c.version)) ?? c.meta.lastModifiedMs;
  };
  // Binary search for the last index with timestamp <= timestampMs; timestamps are monotonic.
  let lo = 0;
  let hi = commits.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (await timestampAt(mid) <= timestampMs) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found === -1) {
    const first = commits[0]!;
    throw new LakestrikeError(
      "VERSION_NOT_FOUND",
      `Cannot load ${storage.location} at timestamp ${
        new Date(timestampMs).toISOString()
      }: it is before the earliest commit (version ${first.version})`,
    );
  }
  return commits[found]!.version;
}

/** One entry of {@linkcode loadHistory}. */
export interface HistoryEntry {
  version: number;
  /** In-commit timestamp, else the commit file's modification time (epoch ms). */
  timestampMs: number;
  commitInfo?: CommitInfo;
}

/** Options of {@linkcode loadHistory}. */
export interface LoadHistoryOptions {
  /** At most this many entries (default 1000). */
  limit?: number;
  /** Newest version to include (default latest). */
  version?: number;
}

/** Default and upper bound of history entries returned at once. */
export const HISTORY_LIMIT_DEFAULT = 1000;

/**
 * Commit history, newest first, as `inspect` shows it.
 *
 * @example
 * ```ts
 * import { loadHistory } from "./load_snapshot.ts";
 * const text = '{"commitInfo":{"operation":"WRITE"}}\n';
 * const storage = {
 *   location: "memory://t",
 *   get: () => Promise.resolve(new TextEncoder().encode(text)),
 *   list: () => Promise.resolve([0, 1].map((v) => ({
 *     path: `_delta_log/${String(v).padStart(20, "0")}.json`, size: 1, lastModifiedMs: 10 + v,
 *   }))),
 * };
 * // deno-lint-ignore no-explicit-any
 * const history = await loadHistory(storage as any, { limit: 1 });
 * if (history.length !== 1 || history[0]?.version !== 1 || history[0].timestampMs !== 11) throw new Error("bad");
 * ```
 */
export async function loadHistory(
  storage: ObjectStorage,
  options: LoadHistoryOptions = {},
): Promise<HistoryEntry[]> {
  const limit = Math.max(0, Math.min(options.limit ?? HISTORY_LIMIT_DEFAULT, 1_000_000));
  const listing = await listLog(storage);
  if (listing.commits.length === 0 && listing.checkpoints.length === 0) {
    throw new TableNotFoundError(storage.location);
  }
  const upTo = options.version ?? Infinity;
  const commits = listing.commits.filter((c) => c.version <= upTo).reverse().slice(0, limit);
  return await mapBounded(commits, COMMIT_READ_CONCURRENCY_MAX, async (c) => {
    const actions = await readCommit(storage, c.version);
    const commitInfo = commitInfoOf(actions);
    const entry: HistoryEntry = {
      version: c.version,
      timestampMs: inCommitTimestampOf(actions) ?? c.meta.lastModifiedMs,
    };
    if (commitInfo) entry.commitInfo = commitInfo;
    return entry;
  });
}
