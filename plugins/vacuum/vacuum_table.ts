/**
 * Vacuum: delete the files a Delta table no longer references, once they are older than the
 * retention horizon (Delta Spark `VacuumCommand`, delta-rs `operations/vacuum.rs`).
 *
 * What it does:
 *
 * * **full** mode (the default) lists the table root, skips `_delta_log` and hidden files and
 *   directories (names starting with `_` or `.`, except `_change_data*`, `_delta_index*` and
 *   partition directories `<physicalPartitionColumn>=`, checked on every path segment), and deletes
 *   every listed file that no active `add` (data file or deletion-vector file) and no unexpired
 *   `remove` (tombstone whose `deletionTimestamp` is after the horizon, and its deletion-vector
 *   file) references, and whose `lastModifiedMs` is strictly before the horizon (as Spark). This finds the files of
 *   writers that crashed before committing.
 * * **The floor**: a listed file that no `add` and no `remove` of the log names at all (an
 *   *unreferenced* file: a crashed writer's, or one whose commit is still on its way) is deleted
 *   only when it is also older than {@linkcode UNREFERENCED_FILE_AGE_MIN_MS} (one hour), whatever
 *   the retention, `enforceRetention` or plugins say: a writer writes its data files before it
 *   commits them, so with a retention of minutes vacuum would otherwise delete the files of a
 *   commit about to land. Files named by a `remove` keep the rules above.
 * * **Temp files**: full mode also deletes the temp files of crashed puts that the storage lists
 *   apart (`listTempFiles`: the local disk's `.tmp-*`) in the table root, in visible directories and
 *   directly in `_delta_log/`, once older than both the horizon and the floor. It never touches
 *   `_delta_log/.tmp/` (the DynamoDB log store's commit files) or other hidden directories.
 * * **lite** mode lists nothing: it deletes the files (and deletion-vector files) of expired
 *   tombstones only. A tombstone without `deletionTimestamp` is never expired in lite mode.
 * * The horizon is `now - retention`, retention being `retentionHours` or the table's
 *   `delta.deletedFileRetentionDuration` (default 168 h). A `retentionHours` below the table's value
 *   is refused unless `enforceRetention: false`. `retentionHorizon` plugins can only move the
 *   horizon back (keep more); `filterVacuumCandidates` plugins can only spare files.
 * * Writes `VACUUM START` and `VACUUM END` commits (`commitInfo` only, as Spark and delta-rs do)
 *   around the deletes, unless nothing is to be deleted or `dryRun` is set.
 *
 * What it does not do: it does not delete log files (see `core/log/log_cleanup.ts`), does not
 * remove empty directories (object stores have none), does not take a maintenance lock (run it under
 * one when several schedulers may vacuum the same table), and does not protect the files of a
 * writer that commits files it wrote more than {@linkcode UNREFERENCED_FILE_AGE_MIN_MS} earlier
 * (lakestrike's writers commit within minutes or give up). See ADR 0019.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { mapBounded } from "../../core/concurrency.ts";
import {
  CorruptLogError,
  InvalidArgumentError,
  LakestrikeError,
  UnsupportedFeatureError,
} from "../../core/errors.ts";
import type { DeletionVectorDescriptor, Protocol, Remove } from "../../core/log/actions.ts";
import { commitActions } from "../../core/log/commit.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import { commitPath, LOG_DIR } from "../../core/log/paths.ts";
import { physicalName } from "../../core/schema/column_mapping.ts";
import { deletionVectorStoragePath, tableRelativePath } from "../../core/scan/deletion_vector.ts";
import { loadSnapshot } from "../../core/snapshot/load_snapshot.ts";
import {
  assertReadSupported,
  SUPPORTED_WRITER_FEATURES,
  WRITER_VERSION_MAX,
} from "../../core/snapshot/protocol.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectMeta, ObjectStorage } from "../../core/storage/storage.ts";
import { deletedFileRetentionMsOf } from "../../core/write/table_properties.ts";
import { noopLogger } from "../logger.ts";
import type { PluginRegistry } from "../registry.ts";
import type { Logger, VacuumContext } from "../types.ts";

/** Paths per storage `delete` call (S3 `DeleteObjects` takes at most 1,000). */
export const VACUUM_DELETE_BATCH_SIZE = 1_000;
/** Delete calls in flight at once by default. */
export const VACUUM_DELETE_CONCURRENCY_DEFAULT = 4;
/** Top-level directories listed at once by default. */
export const VACUUM_LIST_CONCURRENCY_DEFAULT = 8;
/** Entries per page while discovering the top-level directories. */
const DISCOVERY_PAGE_SIZE = 1_000;
const HOUR_MS = 3_600_000;

/**
 * The floor of vacuum (ADR 0019): an unreferenced file (one no `add` and no `remove` of the log
 * names) or a leftover temp file is never deleted before it is this old, whatever the retention.
 * It must outlast any writer's attempt, from writing its first data file to its commit landing:
 * lakestrike's writers take seconds (a bounded number of commit attempts), so one hour leaves a wide
 * margin for slow storage and paused processes.
 */
export const UNREFERENCED_FILE_AGE_MIN_MS = HOUR_MS;

/** Which files vacuum considers. */
export type VacuumMode = "full" | "lite";

/** Progress of a vacuum, for a progress bar. */
export interface VacuumProgress {
  phase: "list" | "delete";
  /** Objects listed, or files deleted so far. */
  done: number;
  /** Files to delete (delete phase only). */
  total?: number;
}

/** Options of {@linkcode vacuumTable}. Every default is the safe one. */
export interface VacuumOptions {
  /** Retention in hours; default the table's `delta.deletedFileRetentionDuration` (168 h). */
  retentionHours?: number;
  /** Refuse a `retentionHours` below the table's retention; default true. */
  enforceRetention?: boolean;
  /** `full` (list the table root, the default) or `lite` (expired tombstones only). */
  mode?: VacuumMode;
  /** List what would be deleted, change nothing; default false. */
  dryRun?: boolean;
  /** Source of "now"; default the system clock. */
  clock?: Clock;
  /**
   * The storage's clock (`ops` reads it from the lease): "now" is never later than its now, so a
   * host whose clock is ahead cannot delete early (see `core/log/tombstone_time.ts`).
   */
  storageClock?: Clock | undefined;
  /** A frozen registry whose `retentionHorizon` and `filterVacuumCandidates` hooks run. */
  plugins?: PluginRegistry;
  /** The table as plugins see it; default name and uri from `storage.location`. */
  table?: { name: string; uri: string };
  /** Where vacuum and plugins log; default none. */
  logger?: Logger;
  /** Cancels the vacuum between delete batches. */
  signal?: AbortSignal;
  /** Delete calls in flight at once; default {@linkcode VACUUM_DELETE_CONCURRENCY_DEFAULT}. */
  deleteConcurrency?: number;
  /** Top-level directories listed at once; default {@linkcode VACUUM_LIST_CONCURRENCY_DEFAULT}. */
  listConcurrency?: number;
  /** Write the `VACUUM START` / `VACUUM END` commits; default true. */
  commitLogging?: boolean;
  /** Called as listing and deleting progress. */
  onProgress?: (progress: VacuumProgress) => void;
  /** The table's commit protocol for the `VACUUM START/END` commits and log reads (default put-if-absent). */
  protocol?: CommitProtocol;
}

/** One file vacuum deletes (or would delete). */
export interface VacuumFile {
  /** Path relative to the table root. */
  path: string;
  /** Size in bytes (from the listing, or from the `remove` action in lite mode; 0 if unknown). */
  size: number;
}

/** What {@linkcode vacuumTable} did. */
export interface VacuumResult {
  mode: VacuumMode;
  dryRun: boolean;
  /** The table version vacuum planned against (the latest when it started). */
  version: number;
  /** Retention in ms from the options or the table property. */
  retentionMs: number;
  /** Files last modified before this instant (epoch ms) and tombstones deleted at or before it expire. */
  horizonMs: number;
  /**
   * Unreferenced and temp files go only when last modified before this instant: the horizon, or
   * {@linkcode UNREFERENCED_FILE_AGE_MIN_MS} before now when that is earlier.
   */
  unreferencedHorizonMs: number;
  /** Objects the listing returned (0 in lite mode). */
  filesListed: number;
  /** Files deleted, or that would be deleted on a dry run, sorted by path. */
  files: VacuumFile[];
  /** Sum of `files[].size`. */
  bytes: number;
  /** Candidates that `filterVacuumCandidates` plugins spared. */
  filesSpared: number;
  /** Versions of the `VACUUM START` and `VACUUM END` commits, when written. */
  startVersion?: number;
  endVersion?: number;
}

/**
 * Throw unless vacuum can run on a table with `protocol`: every reader check, and every writer
 * feature known. Unlike `assertWriteSupported` this does not refuse column mapping, invariants,
 * CHECK constraints, generated columns or V2 checkpoints: vacuum writes no rows and no checkpoint,
 * only `commitInfo` commits, so those features need nothing from it. (Delta PROTOCOL, "VACUUM Protocol Check": with
 * `vacuumProtocolCheck` a vacuum must run both reader and writer checks; this does both always.)
 *
 * @example
 * ```ts
 * import { assertVacuumSupported } from "./vacuum_table.ts";
 * assertVacuumSupported({ minReaderVersion: 3, minWriterVersion: 7,
 *   readerFeatures: ["deletionVectors"], writerFeatures: ["deletionVectors", "changeDataFeed"] });
 * let refused = false;
 * try {
 *   assertVacuumSupported({ minReaderVersion: 3, minWriterVersion: 7, readerFeatures: [],
 *     writerFeatures: ["rowTracking"] });
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("unknown writer features must be refused");
 * ```
 */
export function assertVacuumSupported(protocol: Protocol): void {
  assertReadSupported(protocol);
  const v = protocol.minWriterVersion;
  if (!Number.isInteger(v) || v < 1 || v > WRITER_VERSION_MAX) {
    throw new UnsupportedFeatureError(`Cannot vacuum table: unsupported minWriterVersion ${v}`);
  }
  if (v < 7) return; // legacy versions imply only features vacuum needs nothing from
  for (const f of protocol.writerFeatures ?? []) {
    if (!SUPPORTED_WRITER_FEATURES.has(f) && !VACUUM_NEUTRAL_WRITER_FEATURES.has(f)) {
      throw new UnsupportedFeatureError(
        `Cannot vacuum table: writer feature '${f}' is not supported`,
      );
    }
  }
}

// Writer features that constrain the rows a writer adds or the checkpoints it writes, never which
// data files exist; vacuum adds no rows and writes no checkpoint.
const VACUUM_NEUTRAL_WRITER_FEATURES: ReadonlySet<string> = new Set([
  "generatedColumns",
  "identityColumns",
  "v2Checkpoint",
]);

/**
 * True when `path` (relative to the table root) is hidden from vacuum: some segment starts with
 * `_` or `.` and is not `_change_data*`, `_delta_index*` or `<partitionColumn>=…` (Spark's
 * `DeltaTableUtils.isHiddenDirectory`, applied to every segment). `_delta_log` is hidden.
 *
 * @example
 * ```ts
 * import { isHiddenPath } from "./vacuum_table.ts";
 * const cols = ["_date"];
 * if (!isHiddenPath("_delta_log/00000000000000000000.json", cols)) throw new Error("log");
 * if (!isHiddenPath("a=1/.part-0.parquet.crc", cols)) throw new Error("crc");
 * if (isHiddenPath("_date=2024-01-01/part-0.parquet", cols)) throw new Error("partition");
 * if (isHiddenPath("_change_data/cdc-0.parquet", cols)) throw new Error("cdc");
 * ```
 */
export function isHiddenPath(path: string, partitionColumns: readonly string[]): boolean {
  for (const segment of path.split("/")) {
    if (!segment.startsWith("_") && !segment.startsWith(".")) continue;
    if (segment.startsWith("_change_data") || segment.startsWith("_delta_index")) continue;
    if (partitionColumns.some((c) => segment.startsWith(`${c}=`))) continue;
    return true;
  }
  return false;
}

/** Physical names of the partition columns (directory names use them under column mapping). */
export function physicalPartitionColumns(snapshot: Snapshot): string[] {
  return snapshot.metadata.partitionColumns.map((name) => {
    if (snapshot.columnMappingMode === "none") return name;
    const field = snapshot.schema.fields.find((f) => f.name === name);
    return field ? physicalName(field) : name;
  });
}

/**
 * The storage path (relative to the table root) of a (decoded) path from the log, or `undefined`
 * when it is an absolute URI outside the root (such a file is never listed, so vacuum cannot delete
 * it). A path whose file cannot be told refuses the vacuum: it may name a file under the root.
 */
function relativePath(path: string, location: string): string | undefined {
  try {
    return tableRelativePath(path, location);
  } catch (e) {
    throw refusal(path, e);
  }
}

function dvPath(dv: DeletionVectorDescriptor | null | undefined, location: string) {
  if (dv === undefined || dv === null || dv.storageType === "i") return undefined;
  try {
    return deletionVectorStoragePath(dv, location);
  } catch (e) {
    // An absolute DV path outside the root is never listed; anything else (a corrupt descriptor,
    // a path that cannot be parsed) means we cannot tell which file it names: stop rather than guess.
    if (e instanceof UnsupportedFeatureError && dv.storageType === "p") return undefined;
    throw refusal(dv.pathOrInlineDv, e);
  }
}

function refusal(path: string, cause: unknown): unknown {
  if (!(cause instanceof CorruptLogError)) return cause;
  return new CorruptLogError(
    `Cannot vacuum: the log references ${
      JSON.stringify(path)
    }, which cannot be resolved against the table root, so the files it needs are unknown; ` +
      `nothing was deleted (${cause.message})`,
    { cause },
  );
}

/**
 * True when the tombstone's files may be deleted: removed at or before the horizon (Spark keeps
 * tombstones with `deletionTimestamp > deleteBeforeTimestamp`).
 */
function isExpired(remove: Remove, horizonMs: number, mode: VacuumMode): boolean {
  const ts = remove.deletionTimestamp;
  // Spark and delta-rs take a missing timestamp as 0; full mode still checks the file's age.
  if (ts === undefined || ts === null) return mode === "full";
  return ts <= horizonMs;
}

/**
 * Paths (relative to the root) vacuum must keep whatever their age: active data files and their
 * deletion-vector files, and unexpired tombstones with theirs. Pure.
 */
export function protectedPaths(
  snapshot: Snapshot,
  horizonMs: number,
  location: string,
  mode: VacuumMode = "full",
): Set<string> {
  const keep = new Set<string>();
  const addPath = (p: string | undefined) => {
    if (p !== undefined) keep.add(p);
  };
  for (const add of snapshot.files) {
    addPath(relativePath(add.path, location));
    addPath(dvPath(add.deletionVector, location));
  }
  for (const remove of snapshot.tombstones) {
    if (isExpired(remove, horizonMs, mode)) continue;
    addPath(relativePath(remove.path, location));
    addPath(dvPath(remove.deletionVector, location));
  }
  return keep;
}

/**
 * Paths (relative to the root) that some `remove` of the snapshot names, expired or not, with their
 * deletion-vector files: such files were committed once, so no writer is about to commit them and
 * the floor does not apply to them. A path that cannot be resolved is left out (its file is then
 * judged as unreferenced, which only keeps it longer). Pure.
 */
export function tombstonedPaths(snapshot: Snapshot, location: string): Set<string> {
  const out = new Set<string>();
  const quietly = (resolve: () => string | undefined) => {
    try {
      const p = resolve();
      if (p !== undefined) out.add(p);
    } catch {
      // Unresolvable: not counted as tombstoned, so the stricter rule for unreferenced files holds.
    }
  };
  for (const remove of snapshot.tombstones) {
    quietly(() => relativePath(remove.path, location));
    quietly(() => dvPath(remove.deletionVector, location));
  }
  return out;
}

/**
 * The temp files of crashed puts vacuum may delete (ADR 0019): those the storage lists apart
 * (`listTempFiles`), in the root, a visible directory or directly in `_delta_log/`. Never those
 * under `_delta_log/.tmp/` (the DynamoDB log store's) or another hidden directory.
 */
export async function listLeftoverTempFiles(
  storage: ObjectStorage,
  partitionColumns: readonly string[],
): Promise<ObjectMeta[]> {
  if (storage.listTempFiles === undefined) return [];
  const temps = await storage.listTempFiles("");
  return temps.filter((m) => {
    const slash = m.path.lastIndexOf("/");
    const dir = slash < 0 ? "" : m.path.slice(0, slash);
    return dir === "" || dir === LOG_DIR || !isHiddenPath(dir, partitionColumns);
  });
}

function tableOf(storage: ObjectStorage, options: VacuumOptions) {
  if (options.table) return options.table;
  const uri = storage.location;
  const name = uri.replace(/\/+$/, "").split("/").at(-1) || uri;
  return { name, uri };
}

/** The latest snapshot: vacuum must never plan against a stale one (see the module doc). */
async function latestSnapshot(
  storage: ObjectStorage,
  snapshot: Snapshot,
  protocol: CommitProtocol | undefined,
): Promise<Snapshot> {
  // An incomplete s3-dynamodb commit is repaired first, so the HEAD below sees it.
  await protocol?.repair?.();
  const next = await storage.head(commitPath(snapshot.version + 1));
  if (next === undefined) return snapshot;
  const latest = await loadSnapshot(storage, protocol ? { protocol } : {});
  return latest.version >= snapshot.version ? latest : snapshot;
}

// Sorts after every path that starts with `dir/` (U+10FFFF is the largest code point; a path whose
// next segment starts with it is only listed again, never skipped).
const afterDirectory = (dir: string) => `${dir}/\u{10FFFF}`;

/**
 * List every visible file of the table root: top-level files, and each visible top-level directory
 * listed separately, `listConcurrency` at a time. `_delta_log` and hidden directories are skipped
 * without listing them.
 */
export async function listVisibleFiles(
  storage: ObjectStorage,
  partitionColumns: readonly string[],
  options: { listConcurrency?: number; onListed?: (count: number) => void } = {},
): Promise<{ files: ObjectMeta[]; listed: number }> {
  const files: ObjectMeta[] = [];
  const dirs: string[] = [];
  let listed = 0;
  let startAfter: string | undefined;
  for (;;) {
    const page = await storage.list(
      "",
      startAfter === undefined
        ? { limit: DISCOVERY_PAGE_SIZE }
        : { startAfter, limit: DISCOVERY_PAGE_SIZE },
    );
    if (page.length === 0) break;
    let jumped = false;
    for (const meta of page) {
      const slash = meta.path.indexOf("/");
      if (slash < 0) {
        listed++;
        if (!isHiddenPath(meta.path, partitionColumns)) files.push(meta);
        startAfter = meta.path;
        continue;
      }
      const dir = meta.path.slice(0, slash);
      if (!isHiddenPath(dir, partitionColumns) && dirs.at(-1) !== dir) dirs.push(dir);
      startAfter = dirs.at(-1) === dir && startAfter === afterDirectory(dir)
        ? meta.path // a path under the U+10FFFF jump: step over it
        : afterDirectory(dir);
      jumped = true;
      break;
    }
    options.onListed?.(listed);
    if (!jumped && page.length < DISCOVERY_PAGE_SIZE) break;
  }
  const perDir = await mapBounded(
    dirs,
    options.listConcurrency ?? VACUUM_LIST_CONCURRENCY_DEFAULT,
    async (dir) => {
      const metas = await storage.list(`${dir}/`);
      listed += metas.length;
      options.onListed?.(listed);
      return metas.filter((m) => !isHiddenPath(m.path, partitionColumns));
    },
  );
  const seen = new Set(files.map((f) => f.path));
  for (const metas of perDir) {
    for (const m of metas) {
      if (seen.has(m.path)) continue;
      seen.add(m.path);
      files.push(m);
    }
  }
  return { files, listed };
}

/** The files of expired tombstones (lite mode), with sizes from the log. */
function liteCandidates(
  snapshot: Snapshot,
  horizonMs: number,
  location: string,
  keep: ReadonlySet<string>,
  partitionColumns: readonly string[],
): VacuumFile[] {
  const out = new Map<string, number>();
  const consider = (path: string | undefined, size: number) => {
    if (path === undefined || keep.has(path) || isHiddenPath(path, partitionColumns)) return;
    out.set(path, Math.max(out.get(path) ?? 0, size));
  };
  for (const remove of snapshot.tombstones) {
    if (!isExpired(remove, horizonMs, "lite")) continue;
    consider(relativePath(remove.path, location), remove.size ?? 0);
    consider(dvPath(remove.deletionVector, location), remove.deletionVector?.sizeInBytes ?? 0);
  }
  return [...out].map(([path, size]) => ({ path, size }));
}

function retentionOf(snapshot: Snapshot, options: VacuumOptions) {
  const tableRetentionMs = deletedFileRetentionMsOf(snapshot.metadata.configuration);
  if (options.retentionHours === undefined) {
    return { retentionMs: tableRetentionMs, tableRetentionMs };
  }
  const h = options.retentionHours;
  if (typeof h !== "number" || !Number.isFinite(h) || h < 0) {
    throw new InvalidArgumentError(
      `Cannot vacuum: retentionHours must be a non-negative number of hours, got ${h}`,
    );
  }
  const retentionMs = Math.round(h * HOUR_MS);
  if ((options.enforceRetention ?? true) && retentionMs < tableRetentionMs) {
    throw new InvalidArgumentError(
      `Cannot vacuum with a retention of ${h} hours: the table's delta.deletedFileRetentionDuration is ${
        tableRetentionMs / HOUR_MS
      } hours; a shorter retention can delete files that running readers and writers still need ` +
        `(pass enforceRetention: false / --no-enforce-retention to override)`,
    );
  }
  return { retentionMs, tableRetentionMs };
}

/**
 * Vacuum a table (see the module documentation for the rules). Plans against the latest version:
 * when `snapshot` is stale, the log is read again first.
 *
 * @throws {InvalidArgumentError} for a retention below the table's while it is enforced
 * @throws {UnsupportedFeatureError} for protocols vacuum does not understand
 * @throws {LakestrikeError} `COMMIT_FAILED` when the `VACUUM START` commit cannot be written
 *
 * @example
 * ```ts
 * import { createManualClock } from "../../core/clock.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { vacuumTable } from "./vacuum_table.ts";
 *
 * const clock = createManualClock(Date.UTC(2025, 0, 1));
 * const storage = createMemoryStorage({ clock });
 * const v0 = await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "x", type: "long", nullable: true, metadata: {} }] },
 *   clock,
 * });
 * await storage.put("part-crashed.parquet", new Uint8Array(10)); // never committed
 * clock.advance(8 * 24 * 3_600_000);
 * const dry = await vacuumTable(storage, v0, { clock, dryRun: true });
 * if (dry.files[0]?.path !== "part-crashed.parquet") throw new Error("not found");
 * const done = await vacuumTable(storage, v0, { clock });
 * if (done.files.length !== 1 || await storage.head("part-crashed.parquet")) throw new Error("kept");
 * ```
 */
export async function vacuumTable(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: VacuumOptions = {},
): Promise<VacuumResult> {
  const clock = options.clock ?? systemClock;
  const mode: VacuumMode = options.mode ?? "full";
  if (mode !== "full" && mode !== "lite") {
    throw new InvalidArgumentError(`Cannot vacuum: mode must be "full" or "lite", got ${mode}`);
  }
  const dryRun = options.dryRun ?? false;
  const logger = options.logger ?? noopLogger;
  assertVacuumSupported(snapshot.protocol);
  const latest = await latestSnapshot(storage, snapshot, options.protocol);
  assertVacuumSupported(latest.protocol);
  const { retentionMs, tableRetentionMs } = retentionOf(latest, options);

  // The earlier of this host's clock and the storage's: a clock ahead must not age the files.
  const nowMs = Math.min(clock.nowMs(), options.storageClock?.nowMs() ?? Infinity);
  const signal = options.signal ?? new AbortController().signal;
  const ctx: VacuumContext = {
    table: tableOf(storage, options),
    snapshot: latest,
    storage,
    clock,
    signal,
    limits: { retentionMs },
    logger,
    operation: "vacuum",
    dryRun,
  };
  let horizonMs = nowMs - retentionMs;
  const pluginHorizon = await options.plugins?.runRetentionHorizon(latest, ctx);
  // Plugins can only keep more: the oldest horizon wins.
  if (pluginHorizon !== undefined) horizonMs = Math.min(horizonMs, pluginHorizon);
  // The floor: neither the retention nor a plugin can make an unreferenced file go sooner.
  const unreferencedHorizonMs = Math.min(horizonMs, nowMs - UNREFERENCED_FILE_AGE_MIN_MS);

  const location = storage.location;
  const partitionColumns = physicalPartitionColumns(latest);
  const keep = protectedPaths(latest, horizonMs, location, mode);
  let candidates: VacuumFile[];
  let filesListed = 0;
  if (mode === "full") {
    const { files, listed } = await listVisibleFiles(storage, partitionColumns, {
      listConcurrency: options.listConcurrency ?? VACUUM_LIST_CONCURRENCY_DEFAULT,
      onListed: (done) => options.onProgress?.({ phase: "list", done }),
    });
    const temps = await listLeftoverTempFiles(storage, partitionColumns);
    filesListed = listed + temps.length;
    const tombstoned = tombstonedPaths(latest, location);
    const expired = (m: ObjectMeta) =>
      m.lastModifiedMs < (tombstoned.has(m.path) ? horizonMs : unreferencedHorizonMs);
    candidates = [...files, ...temps]
      .filter((m) => !keep.has(m.path) && expired(m))
      .map((m) => ({ path: m.path, size: m.size }));
  } else {
    candidates = liteCandidates(latest, horizonMs, location, keep, partitionColumns);
  }
  let chosen = candidates;
  if (options.plugins && candidates.length > 0) {
    const kept = new Set(
      await options.plugins.runFilterVacuumCandidates(candidates.map((c) => c.path), ctx),
    );
    chosen = candidates.filter((c) => kept.has(c.path));
  }
  chosen.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const bytes = chosen.reduce((sum, f) => sum + f.size, 0);
  const result: VacuumResult = {
    mode,
    dryRun,
    version: latest.version,
    retentionMs,
    horizonMs,
    unreferencedHorizonMs,
    filesListed,
    files: chosen,
    bytes,
    filesSpared: candidates.length - chosen.length,
  };
  logger.info("Vacuum planned", {
    table: ctx.table.uri,
    version: latest.version,
    mode,
    dryRun,
    horizonMs,
    files: chosen.length,
    bytes,
  });
  if (dryRun || chosen.length === 0) return result;

  const commitLogging = options.commitLogging ?? true;
  let current = latest;
  if (commitLogging) {
    const start = await commitActions(storage, current, {
      operation: "VACUUM START",
      operationParameters: {
        retentionCheckEnabled: String(options.enforceRetention ?? true),
        ...(options.retentionHours === undefined
          ? {}
          : { specifiedRetentionMillis: String(retentionMs) }),
        defaultRetentionMillis: String(tableRetentionMs),
      },
      commitInfo: {
        operationMetrics: {
          numFilesToDelete: String(chosen.length),
          sizeOfDataToDelete: String(bytes),
        },
      },
      actions: [],
    }, { clock, ...(options.protocol ? { protocol: options.protocol } : {}) });
    if (!start.ok) {
      throw new LakestrikeError("COMMIT_FAILED", `Cannot vacuum: ${start.reason}`);
    }
    result.startVersion = start.version;
    current = start.snapshot;
  }

  let deleted = 0;
  let failure: unknown;
  try {
    const batches: string[][] = [];
    for (let i = 0; i < chosen.length; i += VACUUM_DELETE_BATCH_SIZE) {
      batches.push(chosen.slice(i, i + VACUUM_DELETE_BATCH_SIZE).map((f) => f.path));
    }
    await mapBounded(
      batches,
      options.deleteConcurrency ?? VACUUM_DELETE_CONCURRENCY_DEFAULT,
      async (batch) => {
        signal.throwIfAborted();
        await storage.delete(batch);
        deleted += batch.length;
        options.onProgress?.({ phase: "delete", done: deleted, total: chosen.length });
      },
    );
  } catch (e) {
    failure = e;
  }

  if (commitLogging) {
    const end = await commitActions(storage, current, {
      operation: "VACUUM END",
      operationParameters: { status: failure === undefined ? "COMPLETED" : "FAILED" },
      commitInfo: {
        operationMetrics: {
          numDeletedFiles: String(deleted),
          numVacuumedDirectories: "0",
        },
      },
      actions: [],
    }, { clock, ...(options.protocol ? { protocol: options.protocol } : {}) }).catch((e) => ({
      ok: false as const,
      reason: String(e),
    }));
    if (end.ok) result.endVersion = end.version;
    else logger.warn("Cannot write VACUUM END", { reason: end.reason });
  }
  if (failure !== undefined) throw failure;
  logger.info("Vacuum done", { table: ctx.table.uri, files: deleted, bytes });
  return result;
}
