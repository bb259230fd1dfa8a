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
 * it. `job` gets a signal that aborts if the lease is lost.
 */
export async function runExclusive<T>(
  storage: ObjectStorage,
  operation: "compact" | "vacuum",
  job: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const path = maintenanceLockPath(operation);
  const lock = createStorageLock(storage, path);
  const owner = `${operation}@${Deno.hostname()}/${Deno.pid}/${crypto.randomUUID().slice(0, 8)}`;
  const result = await withMaintenanceLock(
    lock,
    owner,
    MAINTENANCE_LEASE_MS,
    (signal) => job(signal),
  );
  if (!result.acquired) throw new MaintenanceLockHeldError(operation, storage.location, path);
  return result.value;
}
