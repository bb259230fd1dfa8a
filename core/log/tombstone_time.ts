/**
 * The `deletionTimestamp` a writer stamps on the `remove` actions it commits.
 *
 * Vacuum deletes a removed file once its `deletionTimestamp` is older than the table's
 * `delta.deletedFileRetentionDuration` (Delta PROTOCOL, "Add File and Remove File"): the
 * retention is what lets a reader that began on an older version finish reading it. The timestamp
 * is the writer's own clock, so a writer whose clock is behind makes its tombstones look old: a
 * compaction on a host whose clock stepped back an hour had its input files vacuumed seconds
 * later, under a reader of the version before it (found by the chaos run, ADR 0035).
 *
 * So a tombstone is never stamped earlier than the snapshot the writer read: that snapshot's
 * timestamp is the commit file's modification time, the storage's clock, which every writer of
 * the table shares.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";

/**
 * The `deletionTimestamp` of removes committed on top of `snapshot`: the later of `clock`'s now
 * and the snapshot's timestamp (and of `notBeforeMs`, a table time the caller read earlier).
 *
 * @example
 * ```ts
 * import { createManualClock } from "../clock.ts";
 * import { tombstoneTimestampMs } from "./tombstone_time.ts";
 * // A host whose clock is an hour behind the storage's.
 * const clock = createManualClock(Date.UTC(2026, 0, 1, 11));
 * const read = { timestampMs: Date.UTC(2026, 0, 1, 12) };
 * if (tombstoneTimestampMs(clock, read) !== Date.UTC(2026, 0, 1, 12)) throw new Error("behind");
 * ```
 */
export function tombstoneTimestampMs(
  clock: Clock,
  snapshot: Pick<Snapshot, "timestampMs">,
  notBeforeMs = 0,
): number {
  return Math.max(clock.nowMs(), snapshot.timestampMs, notBeforeMs);
}
