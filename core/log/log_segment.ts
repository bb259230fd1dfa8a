/**
 * The log segment of a version: the newest complete checkpoint at or below it plus the contiguous
 * commits after that checkpoint (Delta PROTOCOL, "Delta Log Entries", "Checkpoints").
 *
 * `_last_checkpoint` is only a hint: listing starts at its version when it is present and usable,
 * and falls back to a full listing when it is missing, stale, corrupt or points at nothing.
 *
 * @module
 */
import { CorruptLogError, LakestrikeError, TableNotFoundError } from "../errors.ts";
import type { ObjectMeta, ObjectStorage } from "../storage/storage.ts";
import type { CheckpointUsed } from "../snapshot/snapshot.ts";
import { loadLastCheckpoint } from "./last_checkpoint.ts";
import { formatVersion, LOG_DIR, parseLogFileName } from "./paths.ts";

/** A commit file found in the log. */
export interface CommitFile {
  version: number;
  meta: ObjectMeta;
}

/** A complete checkpoint found in the log (all parts present). */
export interface CheckpointFiles {
  version: number;
  kind: CheckpointUsed["kind"];
  /** Parts in order (one for classic and V2). */
  files: ObjectMeta[];
}

/** Everything a listing of `_delta_log` found, sorted by version. */
export interface LogListing {
  commits: CommitFile[];
  /** Complete checkpoints only; incomplete multi-part checkpoints are left out. */
  checkpoints: CheckpointFiles[];
}

/** What replay of one version needs. */
export interface LogSegment {
  /** The version this segment reconstructs. */
  version: number;
  /** The checkpoint to start from, if any. */
  checkpoint?: CheckpointFiles;
  /** Commits after the checkpoint up to `version`, ascending and contiguous. */
  commits: CommitFile[];
  /** Every commit the listing saw (possibly only those after a `_last_checkpoint` hint). */
  listing: LogListing;
}

// Preference when several complete checkpoints exist for one version: fewest files to read.
const KIND_RANK: Record<CheckpointUsed["kind"], number> = {
  "classic": 0,
  "v2-parquet": 1,
  "v2-json": 2,
  "multipart": 3,
};

/**
 * Classify listed objects into commits and complete checkpoints. Pure.
 *
 * @example
 * ```ts
 * import { classifyLogFiles } from "./log_segment.ts";
 * const meta = (path: string) => ({ path, size: 1, lastModifiedMs: 0 });
 * const listing = classifyLogFiles([
 *   meta("_delta_log/00000000000000000000.json"),
 *   meta("_delta_log/00000000000000000001.checkpoint.0000000001.0000000002.parquet"),
 *   meta("_delta_log/00000000000000000001.json"),
 * ]);
 * if (listing.commits.length !== 2 || listing.checkpoints.length !== 0) throw new Error("bad");
 * ```
 */
export function classifyLogFiles(objects: readonly ObjectMeta[]): LogListing {
  const commits: CommitFile[] = [];
  const checkpoints: CheckpointFiles[] = [];
  const multipart = new Map<
    string,
    { version: number; parts: number; got: (ObjectMeta | undefined)[] }
  >();
  const prefix = `${LOG_DIR}/`;
  for (const meta of objects) {
    if (!meta.path.startsWith(prefix)) continue;
    const name = meta.path.slice(prefix.length);
    if (name.includes("/")) continue;
    const f = parseLogFileName(name);
    if (!f) continue;
    if (f.kind === "commit") commits.push({ version: f.version, meta });
    else if (f.kind === "checkpoint") {
      if (f.format === "classic") {
        checkpoints.push({ version: f.version, kind: "classic", files: [meta] });
      } else if (f.format === "v2") {
        checkpoints.push({
          version: f.version,
          kind: f.extension === "json" ? "v2-json" : "v2-parquet",
          files: [meta],
        });
      } else {
        if (f.part < 1 || f.part > f.parts) continue;
        const key = `${f.version}/${f.parts}`;
        let group = multipart.get(key);
        if (!group) {
          group = { version: f.version, parts: f.parts, got: new Array(f.parts).fill(undefined) };
          multipart.set(key, group);
        }
        group.got[f.part - 1] = meta;
      }
    }
  }
  for (const g of multipart.values()) {
    // Delta PROTOCOL, "Multi-part checkpoint": usable only when every part is present.
    if (g.got.every((m) => m !== undefined)) {
      checkpoints.push({ version: g.version, kind: "multipart", files: g.got as ObjectMeta[] });
    }
  }
  commits.sort((a, b) => a.version - b.version);
  checkpoints.sort((a, b) => a.version - b.version || KIND_RANK[a.kind] - KIND_RANK[b.kind]);
  return { commits, checkpoints };
}

/** Newest version the listing can see (commit or checkpoint), or -1. */
export function latestListedVersion(listing: LogListing): number {
  const c = listing.commits.at(-1)?.version ?? -1;
  const k = listing.checkpoints.at(-1)?.version ?? -1;
  return Math.max(c, k);
}

/**
 * Choose the checkpoint and commits that reconstruct `version` (latest when undefined). Pure.
 *
 * @throws {LakestrikeError} `VERSION_NOT_FOUND` when the version does not exist or its history was
 *   cleaned up without a checkpoint covering it
 * @throws {CorruptLogError} when commits after the chosen checkpoint have a gap
 */
export function planLogSegment(
  listing: LogListing,
  version: number | undefined,
  location: string,
): LogSegment {
  const latest = latestListedVersion(listing);
  if (latest < 0) throw new TableNotFoundError(location);
  const target = version ?? latest;
  if (!Number.isSafeInteger(target) || target < 0 || target > latest) {
    throw new LakestrikeError(
      "VERSION_NOT_FOUND",
      `Cannot load version ${target}: the latest version of ${location} is ${latest}`,
    );
  }
  let checkpoint: CheckpointFiles | undefined;
  for (const cp of listing.checkpoints) {
    if (cp.version > target) break;
    if (!checkpoint || cp.version > checkpoint.version) checkpoint = cp;
  }
  const start = checkpoint ? checkpoint.version + 1 : 0;
  const commits: CommitFile[] = [];
  let expected = start;
  for (const c of listing.commits) {
    if (c.version < start) continue;
    if (c.version > target) break;
    if (c.version !== expected) {
      if (!checkpoint && expected === 0) {
        throw new LakestrikeError(
          "VERSION_NOT_FOUND",
          `Cannot load version ${target}: commits before ${c.version} were cleaned up and no checkpoint covers them`,
        );
      }
      throw new CorruptLogError(
        `Cannot load version ${target}: commit ${
          formatVersion(expected)
        }.json is missing (gap before version ${c.version})`,
      );
    }
    commits.push(c);
    expected++;
  }
  if (expected !== target + 1) {
    if (!checkpoint && expected === 0) {
      throw new LakestrikeError(
        "VERSION_NOT_FOUND",
        `Cannot load version ${target}: its commit is missing and no checkpoint covers it`,
      );
    }
    throw new CorruptLogError(
      `Cannot load version ${target}: commit ${formatVersion(expected)}.json is missing`,
    );
  }
  const segment: LogSegment = { version: target, commits, listing };
  if (checkpoint) segment.checkpoint = checkpoint;
  return segment;
}

/**
 * List `_delta_log` (all of it, or only from `fromVersion` on) and classify what is there.
 *
 * @example
 * ```ts
 * import { listLog } from "./log_segment.ts";
 * const storage = {
 *   location: "memory://t",
 *   list: () => Promise.resolve([{ path: "_delta_log/00000000000000000000.json", size: 1, lastModifiedMs: 0 }]),
 * };
 * // deno-lint-ignore no-explicit-any
 * const listing = await listLog(storage as any);
 * if (listing.commits[0]?.version !== 0) throw new Error("bad listing");
 * ```
 */
export async function listLog(storage: ObjectStorage, fromVersion?: number): Promise<LogListing> {
  const options = fromVersion === undefined || fromVersion <= 0
    ? {}
    // Every log file of `fromVersion` starts with its 20 digits and sorts after them alone.
    : { startAfter: `${LOG_DIR}/${formatVersion(fromVersion)}` };
  const objects = await storage.list(`${LOG_DIR}/`, options);
  return classifyLogFiles(objects);
}

/** Options of {@linkcode loadLogSegment}. */
export interface LoadLogSegmentOptions {
  /** The version to reconstruct; latest when omitted. */
  version?: number;
}

/**
 * List the log and plan the segment of a version, using `_last_checkpoint` as a hint. A gap in the
 * commits is listed again before it is believed (at most {@linkcode GAP_LISTINGS_MAX} listings).
 *
 * @throws {TableNotFoundError} when `_delta_log` holds no commit and no checkpoint
 * @throws {CorruptLogError} when every listing shows the same kind of gap
 */
export async function loadLogSegment(
  storage: ObjectStorage,
  options: LoadLogSegmentOptions = {},
): Promise<LogSegment> {
  // A directory listing is not a snapshot of the directory: files linked into place while it
  // runs may or may not be in it (POSIX readdir), so a local listing taken while writers commit
  // can hold N+1.json and not N.json. A gap is believed only when listing again shows it too.
  for (let attempt = 1;; attempt++) {
    try {
      return await loadLogSegmentOnce(storage, options);
    } catch (e) {
      if (!(e instanceof CorruptLogError) || attempt >= GAP_LISTINGS_MAX) throw e;
    }
  }
}

/** Listings of the log before a gap in its commits is reported as corruption. */
export const GAP_LISTINGS_MAX = 3;

async function loadLogSegmentOnce(
  storage: ObjectStorage,
  options: LoadLogSegmentOptions,
): Promise<LogSegment> {
  const hint = await loadLastCheckpoint(storage);
  if (hint && (options.version === undefined || options.version >= hint.version)) {
    const listing = await listLog(storage, hint.version);
    // A usable hint: a complete checkpoint at or after it exists at or below the target.
    const target = options.version ?? latestListedVersion(listing);
    if (listing.checkpoints.some((cp) => cp.version <= target)) {
      return planLogSegment(listing, options.version, storage.location);
    }
  }
  const listing = await listLog(storage);
  if (listing.commits.length === 0 && listing.checkpoints.length === 0) {
    throw new TableNotFoundError(storage.location);
  }
  return planLogSegment(listing, options.version, storage.location);
}
