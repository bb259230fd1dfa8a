/**
 * Expired log cleanup (Delta PROTOCOL, "Metadata Cleanup"): delete commit files, checkpoints and
 * `.crc` files of versions that are older than `delta.logRetentionDuration` (default 30 days) and
 * lie strictly below a checkpoint that is itself older than that retention.
 *
 * The rule, conservatively:
 *
 * 1. `cutoffMs` = midnight UTC of the day of `now - logRetention` (the protocol's cutOffTimestamp).
 * 2. `cutoffCommit` = the newest version such that it and every listed commit before it were
 *    written at or before `cutoffMs` (file modification time).
 * 3. `cutoffCheckpoint` = the newest complete checkpoint at or below `cutoffCommit` whose own files
 *    were written at or before `cutoffMs` (or, when its commit was already cleaned up, the newest
 *    such checkpoint below the first listed commit). None: nothing is
 *    deleted. It is read back first (it must hold `protocol` and `metaData`); unreadable: nothing is
 *    deleted.
 * 4. Deleted: commits, checkpoints (every part, complete or not, of every format), `.crc` files and
 *    log compaction files whose (end) version is below `cutoffCheckpoint`, and only those last
 *    modified at or before `cutoffMs`. Kept: the checkpoint itself, its commit, everything after it,
 *    `_last_checkpoint` and any file whose name is not a Delta log file name.
 * 5. V2 sidecars (`_delta_log/_sidecars/`) are deleted only when no remaining checkpoint refers to
 *    them and they were modified at or before `cutoffMs`. Every remaining checkpoint is read,
 *    whatever its kind: a classic-named `n.checkpoint.parquet` may follow the V2 spec and hold
 *    `sidecar` actions, and the reader follows them. A reference is resolved exactly as
 *    `checkpoint_read.ts` resolves it (a name with `/` is a path from the table root, any other a
 *    name in `_delta_log/_sidecars/`, no URI decoding); a `%`-encoded reference also protects its
 *    decoded name. If any remaining checkpoint cannot be read, or any reference does not resolve to
 *    a plain path under `_delta_log/_sidecars/` (absolute URI, `.`/`..`/empty segment), no sidecar
 *    is deleted.
 *
 * Deletes go in ascending version order, so a cleanup that stops half-way leaves a log whose
 * versions from `cutoffCheckpoint` on still load. It does not delete data files (that is vacuum).
 *
 * @module
 */
import { parquetMetadata, parquetSchema } from "hyparquet";
import { type Clock, systemClock } from "../clock.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { parseIntervalMs } from "../snapshot/txn.ts";
import type { ObjectMeta, ObjectStorage } from "../storage/storage.ts";
import { parseActions } from "./actions.ts";
import { loadCheckpointActions, parseParquetCheckpoint } from "./checkpoint_read.ts";
import { type CheckpointFiles, classifyLogFiles } from "./log_segment.ts";
import { LOG_DIR, parseLogFileName, SIDECAR_DIR } from "./paths.ts";

/** Default of `delta.logRetentionDuration`: 30 days. */
export const DEFAULT_LOG_RETENTION_MS = 30 * 86_400_000;
const DAY_MS = 86_400_000;
const DELETE_BATCH_SIZE = 1_000;

/** `delta.logRetentionDuration` of a table configuration in ms, or its default. */
export function logRetentionMsOf(configuration: Readonly<Record<string, string>>): number {
  const v = configuration["delta.logRetentionDuration"];
  const ms = v === undefined ? undefined : parseIntervalMs(v);
  return ms === undefined || ms < 0 ? DEFAULT_LOG_RETENTION_MS : ms;
}

/** `delta.enableExpiredLogCleanup` of a table configuration (default true, as in Delta). */
export function isExpiredLogCleanupEnabled(
  configuration: Readonly<Record<string, string>>,
): boolean {
  return configuration["delta.enableExpiredLogCleanup"] !== "false";
}

/** Options of {@linkcode cleanupExpiredLogs}. */
export interface CleanupExpiredLogsOptions {
  /** Source of "now"; default the system clock. */
  clock?: Clock;
  /** Only report what would be deleted; default false. */
  dryRun?: boolean;
}

/** What {@linkcode cleanupExpiredLogs} did. */
export interface CleanupExpiredLogsResult {
  /** Why nothing was deleted, when nothing could be. */
  skipped?: "disabled" | "no_checkpoint" | "checkpoint_unreadable";
  /** Files older than this instant (epoch ms) were eligible. */
  cutoffMs: number;
  /** The checkpoint everything below was deleted, when one qualified. */
  checkpointVersion?: number;
  /** Deleted (or, on a dry run, deletable) files, relative to the table root, in delete order. */
  files: string[];
  bytes: number;
}

/** Version of a log file for the cleanup rule, or undefined for files never deleted here. */
function cleanupVersion(meta: ObjectMeta): number | undefined {
  const name = meta.path.slice(LOG_DIR.length + 1);
  if (name.includes("/")) return undefined;
  const f = parseLogFileName(name);
  if (f === undefined) return undefined;
  if (f.kind === "compacted") return f.toVersion;
  return f.version;
}

/** Whether a Parquet checkpoint file has a top-level `sidecar` column (throws when not Parquet). */
function hasSidecarColumn(bytes: Uint8Array): boolean {
  const file = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer as ArrayBuffer;
  return parquetSchema(parquetMetadata(file)).children.some((c) => c.element.name === "sidecar");
}

/**
 * The storage path the checkpoint reader reads for sidecar reference `name` (the same rule as
 * `readSidecars` in `checkpoint_read.ts`), or undefined when it is not a plain path under
 * `_delta_log/_sidecars/`.
 */
function resolveSidecarRef(name: string): string | undefined {
  const path = name.includes("/") ? name : `${SIDECAR_DIR}/${name}`;
  if (!path.startsWith(`${SIDECAR_DIR}/`)) return undefined;
  const segments = path.split("/");
  if (segments.some((seg) => seg === "" || seg === "." || seg === "..")) return undefined;
  return path;
}

/**
 * Sidecar paths to keep for reference `name`: the path the reader reads, plus its `%`-decoded
 * form when that differs and is itself a plain sidecar path. Undefined when the reader's path is
 * not a plain path under `_delta_log/_sidecars/` (then no sidecar may be deleted).
 */
function protectedPathsOf(name: string): string[] | undefined {
  const path = resolveSidecarRef(name);
  if (path === undefined) return undefined;
  const out = [path];
  if (name.includes("%")) {
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      decoded = undefined;
    }
    const alt = decoded === undefined ? undefined : resolveSidecarRef(decoded);
    if (alt !== undefined && alt !== path) out.push(alt);
  }
  return out;
}

/**
 * Sidecar references (as written in the `sidecar` actions) of every file of `cp`, whatever its
 * kind. Throws when a file cannot be read.
 */
async function sidecarsOf(storage: ObjectStorage, cp: CheckpointFiles): Promise<string[]> {
  const out: string[] = [];
  for (const meta of cp.files) {
    const bytes = await storage.get(meta.path);
    if (!meta.path.endsWith(".json") && !hasSidecarColumn(bytes)) continue;
    const actions = meta.path.endsWith(".json")
      ? parseActions(new TextDecoder().decode(bytes), meta.path)
      : await parseParquetCheckpoint(bytes, meta.path);
    for (const a of actions) if ("sidecar" in a) out.push(a.sidecar.path);
  }
  return out;
}

/**
 * Delete expired log files (see the module documentation for the exact rule). Honours
 * `delta.enableExpiredLogCleanup`: when it is `false`, nothing is deleted.
 *
 * @example
 * ```ts
 * import { createManualClock } from "../clock.ts";
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createTable } from "../write/create_table.ts";
 * import { cleanupExpiredLogs } from "./log_cleanup.ts";
 * const clock = createManualClock(Date.UTC(2025, 0, 1));
 * const storage = createMemoryStorage({ clock });
 * const v0 = await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "x", type: "long", nullable: true, metadata: {} }] },
 *   clock,
 * });
 * clock.advance(60 * 86_400_000);
 * const r = await cleanupExpiredLogs(storage, v0, { clock });
 * if (r.skipped !== "no_checkpoint" || r.files.length !== 0) throw new Error("must keep the log");
 * ```
 */
export async function cleanupExpiredLogs(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: CleanupExpiredLogsOptions = {},
): Promise<CleanupExpiredLogsResult> {
  const clock = options.clock ?? systemClock;
  const conf = snapshot.metadata.configuration;
  const cutoffMs = cleanupCutoffMs(conf, clock.nowMs());
  const result: CleanupExpiredLogsResult = { cutoffMs, files: [], bytes: 0 };
  if (!isExpiredLogCleanupEnabled(conf)) return { ...result, skipped: "disabled" };

  const objects = await storage.list(`${LOG_DIR}/`);
  const listing = classifyLogFiles(objects);
  let cutoffCommit = -1;
  for (const c of listing.commits) {
    if (c.meta.lastModifiedMs > cutoffMs) break;
    cutoffCommit = c.version;
  }
  // A checkpoint whose commit was already cleaned up counts by its own files' age.
  const firstCommit = listing.commits[0]?.version ?? Infinity;
  const checkpoint = listing.checkpoints.filter((cp) =>
    cp.version <= snapshot.version &&
    cp.files.every((f) => f.lastModifiedMs <= cutoffMs) &&
    (cp.version <= cutoffCommit || cp.version < firstCommit)
  ).at(-1);
  if (checkpoint === undefined) return { ...result, skipped: "no_checkpoint" };
  try {
    await loadCheckpointActions(storage, checkpoint);
  } catch {
    return { ...result, skipped: "checkpoint_unreadable" };
  }
  result.checkpointVersion = checkpoint.version;

  const doomed: ObjectMeta[] = [];
  for (const meta of objects) {
    const v = cleanupVersion(meta);
    if (v === undefined || v >= checkpoint.version || meta.lastModifiedMs > cutoffMs) continue;
    doomed.push(meta);
  }
  doomed.sort((a, b) => cleanupVersion(a)! - cleanupVersion(b)! || (a.path < b.path ? -1 : 1));

  const sidecarMetas = objects.filter((m) => m.path.startsWith(`${SIDECAR_DIR}/`));
  if (sidecarMetas.length > 0) {
    // Every kind: the reader follows `sidecar` actions in classic and multi-part files too.
    const remaining = listing.checkpoints.filter((cp) => cp.version >= checkpoint.version);
    try {
      const referenced = new Set<string>();
      let resolvable = true;
      for (const cp of remaining) {
        for (const s of await sidecarsOf(storage, cp)) {
          const paths = protectedPathsOf(s);
          if (paths === undefined) resolvable = false;
          else for (const p of paths) referenced.add(p);
        }
      }
      // A reference we cannot map to a sidecar path may name any of them: keep them all.
      if (resolvable) {
        for (const meta of sidecarMetas) {
          if (!referenced.has(meta.path) && meta.lastModifiedMs <= cutoffMs) doomed.push(meta);
        }
      }
    } catch {
      // A remaining checkpoint we cannot read may need any sidecar: keep them all.
    }
  }

  result.files = doomed.map((m) => m.path);
  result.bytes = doomed.reduce((s, m) => s + m.size, 0);
  if (options.dryRun) return result;
  for (let i = 0; i < result.files.length; i += DELETE_BATCH_SIZE) {
    await storage.delete(result.files.slice(i, i + DELETE_BATCH_SIZE));
  }
  return result;
}

/** Result of {@linkcode maybeCleanupLogs}. */
export type MaybeCleanupLogsResult =
  | { ran: true; result: CleanupExpiredLogsResult }
  | { ran: false; reason: "disabled" | "failed" | "done_for_cutoff"; error?: unknown };

/** Log files last modified at or before this may go: UTC midnight before `now - retention`. */
function cleanupCutoffMs(conf: Readonly<Record<string, string>>, nowMs: number): number {
  return Math.floor((nowMs - logRetentionMsOf(conf)) / DAY_MS) * DAY_MS;
}

/**
 * The cutoff (UTC midnight) of each table's last complete cleanup in this process, by storage
 * object (one per open table). The cutoff moves once a day, and every log file written since is
 * newer than it, so a second cleanup at the same cutoff finds nothing new: after each checkpoint
 * (every 3 s at a busy table's ceiling) `maybeCleanupLogs` would otherwise list the whole
 * `_delta_log` again (21,000 files after a 10-minute soak at 10,000 events/s).
 */
const CLEANED_AT_CUTOFF = new WeakMap<ObjectStorage, number>();

/**
 * Clean up expired log files after a checkpoint, when `delta.enableExpiredLogCleanup` is not
 * `false`. Never throws: the commit and checkpoint it follows are already durable, so a failure is
 * reported in the result (and to `onError`).
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createTable } from "../write/create_table.ts";
 * import { maybeCleanupLogs } from "./log_cleanup.ts";
 * const storage = createMemoryStorage();
 * const v0 = await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "x", type: "long", nullable: true, metadata: {} }] },
 *   configuration: { "delta.enableExpiredLogCleanup": "false" },
 * });
 * const r = await maybeCleanupLogs(storage, v0);
 * if (r.ran || r.reason !== "disabled") throw new Error("cleanup is disabled on this table");
 * ```
 */
export async function maybeCleanupLogs(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: { clock?: Clock; onError?: (error: unknown) => void } = {},
): Promise<MaybeCleanupLogsResult> {
  if (!isExpiredLogCleanupEnabled(snapshot.metadata.configuration)) {
    return { ran: false, reason: "disabled" };
  }
  const clock = options.clock ?? systemClock;
  const cutoffMs = cleanupCutoffMs(snapshot.metadata.configuration, clock.nowMs());
  if (CLEANED_AT_CUTOFF.get(storage) === cutoffMs) {
    return { ran: false, reason: "done_for_cutoff" };
  }
  try {
    const result = await cleanupExpiredLogs(storage, snapshot, { clock });
    // Done for this cutoff, also when no checkpoint is older than it (a young table): files
    // written from now on are all newer than the cutoff, so none can become deletable before it
    // moves. An unreadable checkpoint is tried again.
    if (result.skipped === undefined || result.skipped === "no_checkpoint") {
      CLEANED_AT_CUTOFF.set(storage, result.cutoffMs);
    }
    return { ran: true, result };
  } catch (error) {
    options.onError?.(error);
    return { ran: false, reason: "failed", error };
  }
}
