/**
 * Lease locks for maintenance jobs (compaction, vacuum), never used on the commit path: the
 * {@linkcode MaintenanceLock} contract, a lock on any {@linkcode ObjectStorage} with put-if-absent,
 * and {@linkcode withMaintenanceLock}, which runs a job under a lease. A lock on a DynamoDB item is
 * the AWS module's (`aws/dynamodb_lock.ts`).
 *
 * The lock contract test suite lives in `./lock_contract.ts`, apart from this entry point, because
 * it registers `Deno.test` cases.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createStorageLock, withMaintenanceLock } from "./mod.ts";
 * const lock = createStorageLock(createMemoryStorage(), "_lakestrike/locks/compaction");
 * const run = await withMaintenanceLock(lock, "compactor", 60_000, () => Promise.resolve("done"));
 * if (!run.acquired) throw new Error("the lock was free");
 * ```
 *
 * @module
 */

export type { ObjectStorage } from "../storage/storage.ts";
export {
  LeaseLostError,
  type LockLease,
  type MaintenanceLock,
  type WithLockResult,
  withMaintenanceLock,
  type WithMaintenanceLockOptions,
} from "./lock.ts";
export { createStorageLock, type StorageLockOptions } from "./storage_lock.ts";
