/**
 * How healthy a table is to read, from its snapshot: active files and bytes, files per partition,
 * the share of small files (below full size, as the tiered compaction planner counts them:
 * `plugins/compaction/plan_tiered_bins.ts`, ADR 0036), log versions since the last checkpoint, and
 * the action an operator should take. One function, used by `deno task inspect` and by the
 * runner's dashboard (`batch/ui/`), so both say the same thing.
 *
 * The recommendation, first match wins:
 *
 * | condition | action |
 * |---|---|
 * | a partition holds `TRIGGER_FILES_DEFAULT` (50) small files or more | `compact` |
 * | more than 2 × `delta.checkpointInterval` (default 100) versions since the last checkpoint | `checkpoint` |
 * | tombstones past `delta.deletedFileRetentionDuration` (default 7 days) | `vacuum` |
 * | otherwise | `none` |
 *
 * @module
 */
import { unexpiredTombstones } from "../core/log/checkpoint_write.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { DEFAULT_CHECKPOINT_INTERVAL } from "../core/write/table_properties.ts";
import { planTiers, TRIGGER_FILES_DEFAULT } from "../plugins/compaction/plan_tiered_bins.ts";

/** What an operator should do about a table. */
export type HealthAction = "compact" | "checkpoint" | "vacuum" | "none";

/** The health of a table at one version. */
export interface TableHealth {
  version: number;
  /** Active files and their bytes. */
  files: number;
  bytes: number;
  /** Partitions that hold a file (1 for an unpartitioned table with files). */
  partitions: number;
  /** Most and mean active files of one partition. */
  filesPerPartitionMax: number;
  filesPerPartitionMean: number;
  /** Files below full size and their share of the active files (0 without files). */
  smallFiles: number;
  smallFileShare: number;
  /** Files of the partition with the most small files. */
  smallFilesPerPartitionMax: number;
  /** Removed files still listed as tombstones. */
  tombstones: number;
  /** Tombstones past `delta.deletedFileRetentionDuration`: files vacuum would delete now. */
  expiredTombstones: number;
  /** Last checkpoint's version, `null` when the table has none. */
  checkpointVersion: number | null;
  /** Log versions written after it (all of them without a checkpoint). */
  versionsSinceCheckpoint: number;
  /** The table's `delta.checkpointInterval`. */
  checkpointInterval: number;
  /** What to do, and why in one sentence. */
  action: HealthAction;
  reason: string;
}

/**
 * The health of `snapshot` at clock time `nowMs`; `checkpointVersion` is the table's last
 * checkpoint (from `_last_checkpoint`), `undefined` when there is none.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "../core/snapshot/snapshot.ts";
 * import { tableHealth } from "./table_health.ts";
 * const file = (i: number) => ({ path: `d=1/f${i}`, partitionValues: { d: "1" }, size: 100,
 *   modificationTime: i, dataChange: true, stats: JSON.stringify({ numRecords: 10 }) });
 * const snapshot = {
 *   version: 60, files: Array.from({ length: 60 }, (_, i) => file(i)), tombstones: [],
 *   metadata: { partitionColumns: ["d"], configuration: {} },
 * } as unknown as Snapshot;
 * const h = tableHealth(snapshot, 50, Date.now());
 * if (h.smallFileShare !== 1 || h.action !== "compact" || h.versionsSinceCheckpoint !== 10) {
 *   throw new Error(JSON.stringify(h));
 * }
 * ```
 */
export function tableHealth(
  snapshot: Pick<Snapshot, "version" | "files" | "tombstones" | "metadata">,
  checkpointVersion: number | undefined,
  nowMs: number,
): TableHealth {
  const plan = planTiers(snapshot);
  let bytes = 0;
  for (const add of snapshot.files) bytes += add.size;
  let smallFiles = 0;
  let filesPerPartitionMax = 0;
  let smallFilesPerPartitionMax = 0;
  for (const p of plan.partitions) {
    const files = p.tiers.reduce((n, t) => n + t.files, 0);
    filesPerPartitionMax = Math.max(filesPerPartitionMax, files);
    smallFilesPerPartitionMax = Math.max(smallFilesPerPartitionMax, p.smallFiles);
    smallFiles += p.smallFiles;
  }
  const files = snapshot.files.length;
  const partitions = plan.partitions.length;
  const interval = Number(snapshot.metadata.configuration["delta.checkpointInterval"]);
  const checkpointInterval = Number.isSafeInteger(interval) && interval > 0
    ? interval
    : DEFAULT_CHECKPOINT_INTERVAL;
  const versionsSinceCheckpoint = checkpointVersion === undefined
    ? snapshot.version + 1
    : Math.max(0, snapshot.version - checkpointVersion);
  // Summaries built by hand (tests, tools) may leave tombstones out: none then.
  const removed = snapshot.tombstones ?? [];
  const tombstones = removed.length;
  const expiredTombstones = tombstones -
    unexpiredTombstones({ ...snapshot, tombstones: removed } as Snapshot, nowMs).length;
  let action: HealthAction = "none";
  let reason = "nothing to do";
  if (smallFilesPerPartitionMax >= TRIGGER_FILES_DEFAULT) {
    action = "compact";
    reason =
      `a partition holds ${smallFilesPerPartitionMax} small files (compaction is due at ${TRIGGER_FILES_DEFAULT})`;
  } else if (versionsSinceCheckpoint > 2 * checkpointInterval) {
    action = "checkpoint";
    reason =
      `${versionsSinceCheckpoint} versions since the last checkpoint (interval ${checkpointInterval}): readers replay them all`;
  } else if (expiredTombstones > 0) {
    action = "vacuum";
    reason = `${expiredTombstones} removed files are past their retention`;
  }
  return {
    version: snapshot.version,
    files,
    bytes,
    partitions,
    filesPerPartitionMax,
    filesPerPartitionMean: partitions === 0 ? 0 : files / partitions,
    smallFiles,
    smallFileShare: files === 0 ? 0 : smallFiles / files,
    smallFilesPerPartitionMax,
    tombstones,
    expiredTombstones,
    checkpointVersion: checkpointVersion ?? null,
    versionsSinceCheckpoint,
    checkpointInterval,
    action,
    reason,
  };
}
