/**
 * The maintenance locks around compaction and vacuum (`applyCompaction`, `applyVacuum`): one job of
 * each kind per table at a time, so two operators (or an operator and the runner's schedule) never
 * compact, or vacuum, one table together. (A compaction and a vacuum may overlap: vacuum only
 * deletes what the retention window no longer needs, and compaction's removes are tombstones inside
 * that window.) The lease lives in the table's own storage under `_lakestrike/locks/<operation>`
 * (hidden from vacuum by its leading `_`), is renewed in the background and expires if its holder
 * crashes. It is never on the ingest commit path.
 *
 * @module
 */
import { LakestrikeError } from "../core/errors.ts";
import { createStorageLock, withMaintenanceLock } from "../core/lock/mod.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";

/** Another job of the same kind holds the table's maintenance lock (nothing was done). */
export class MaintenanceLockHeldError extends LakestrikeError {
  /** The lock folder, relative to the table root. */
  readonly lockPath: string;
  /** Create the error for `operation` on the table at `location`. */
  constructor(operation: string, location: string, lockPath: string) {
    super(
      "COMMIT_FAILED",
      `Cannot ${operation} ${location}: another ${operation} job holds the lock ${lockPath} ` +
        `(it expires within ${MAINTENANCE_LEASE_MS / 1000} s if its holder died)`,
    );
    this.name = "MaintenanceLockHeldError";
    this.lockPath = lockPath;
  }
}

/** Folder of the lock of `operation`, relative to the table root. */
export function maintenanceLockPath(operation: "compact" | "vacuum"): string {
  return `_lakestrike/locks/${operation}`;
}
/** Lease of the maintenance lock; renewed every third of it while the job runs. */
export const MAINTENANCE_LEASE_MS = 60_000;

/**
 * Run `job` holding the table's maintenance lock, or fail with a clear error when another job holds
 * it. `job` gets a signal that aborts if the lease is lost, and the storage's clock as seen from
 * `clock` ({@linkcode storageClockOf}; `undefined` when the lease cannot be listed).
 */
export async function runExclusive<T>(
  storage: ObjectStorage,
  operation: "compact" | "vacuum",
  job: (signal: AbortSignal, storageClock: Clock | undefined) => Promise<T>,
  clock: Clock = systemClock,
): Promise<T> {
  const path = maintenanceLockPath(operation);
  const lock = createStorageLock(storage, path);
  const owner = `${operation}@${Deno.hostname()}/${Deno.pid}/${crypto.randomUUID().slice(0, 8)}`;
  const result = await withMaintenanceLock(
    lock,
    owner,
    MAINTENANCE_LEASE_MS,
    async (signal) => job(signal, await storageClockOf(storage, path, clock)),
  );
  if (!result.acquired) throw new MaintenanceLockHeldError(operation, storage.location, path);
  return result.value;
}

/**
 * The storage's own clock, as an offset from `clock`: the modification time of the newest lease
 * record under `lockPath` (just written by the caller) against `clock`'s now. `undefined` when the
 * records cannot be listed.
 *
 * Tombstones are stamped with the writer's clock and vacuum judges them by its own (Delta
 * PROTOCOL): a host whose clock is behind makes what it removes look old, one whose clock is ahead
 * deletes early. Maintenance takes the later of its clock and this one for the removes it commits,
 * and the earlier for the horizon vacuum deletes before (ADR 0035). Clocks within
 * {@linkcode CLOCK_SKEW_TOLERANCE_MS} of each other are taken to agree (S3 gives whole seconds,
 * file systems coarse times, and the listing takes time).
 */
export async function storageClockOf(
  storage: ObjectStorage,
  lockPath: string,
  clock: Clock = systemClock,
): Promise<Clock | undefined> {
  let newest: number;
  try {
    const records = await storage.list(`${lockPath}/`);
    newest = Math.max(...records.map((r) => r.lastModifiedMs));
  } catch {
    return undefined;
  }
  if (!Number.isFinite(newest)) return undefined;
  const offsetMs = newest - clock.nowMs();
  // Within the tolerance the clocks agree: whole-second and coarse file times, the list's delay.
  if (Math.abs(offsetMs) < CLOCK_SKEW_TOLERANCE_MS) return clock;
  return { nowMs: () => clock.nowMs() + offsetMs };
}

/** Difference between this host's clock and the storage's below which they are taken to agree. */
export const CLOCK_SKEW_TOLERANCE_MS = 2_000;
