/**
 * Lease locks for maintenance jobs (compaction, vacuum): they keep one job from running twice on a
 * table at the same time. A lock is never taken on the commit path; commits rest on the storage's
 * put-if-absent alone (docs/design.md section 3), so a lost or stuck lock can delay maintenance but
 * never a commit.
 *
 * Guarantees every {@linkcode MaintenanceLock} gives, with time read from its clock:
 *
 * * **at most one unexpired holder** — once `tryAcquire` returned a lease, no other `tryAcquire`
 *   succeeds until that lease expired (`nowMs() >= expiresAtMs`) or was released;
 * * **a crashed holder's lease expires** — nothing but `renew` extends a lease, so a holder that
 *   stops renewing loses the lock after `leaseMs`;
 * * **renew fails once lost** — after another owner acquired the lock, `renew` returns `false`
 *   (and stays `false`); `release` of a lost lease is a no-op and never frees the new holder.
 *
 * A lease is identified by a random token, not by the owner name: two `tryAcquire` calls with the
 * same owner name are two contenders. Clocks of different machines must agree to well within the
 * lease (leases of minutes, clocks synced by NTP), because expiry is judged by the contender's clock.
 *
 * ```
 *            tryAcquire ok              renew ok
 *   free ───────────────────▶ held ◀───────────┐
 *    ▲ ▲                       │  └─────────────┘
 *    │ └───── release ─────────┤
 *    └─ (expiresAtMs passes) ──┘   (an expired lease may still renew until someone acquires)
 * ```
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { InvalidArgumentError, LakestrikeError } from "../errors.ts";

/** A held lease of a {@linkcode MaintenanceLock}. */
export interface LockLease {
  /** Who holds the lease (for humans and logs). */
  readonly owner: string;
  /** Random identity of this lease. */
  readonly token: string;
  /** When the lease expires unless renewed, in epoch ms of the lock's clock; `renew` moves it. */
  readonly expiresAtMs: number;
  /**
   * Extend the lease to `now + leaseMs`. Returns `false` when the lease was lost (another owner
   * acquired the lock) or released; then it stays lost. Throws on storage errors (retryable).
   */
  renew(leaseMs: number): Promise<boolean>;
  /** Give the lock up. A no-op for a lease that is lost or already released. */
  release(): Promise<void>;
}

/** A lease lock; see the module doc for its guarantees. */
export interface MaintenanceLock {
  /** Where the lock lives, e.g. `s3://lake/t1/_lakestrike/locks/compaction` or `dynamodb://locks/t1`. */
  readonly location: string;
  /** Take the lock for `leaseMs` unless someone holds an unexpired lease; `undefined` if held. */
  tryAcquire(owner: string, leaseMs: number): Promise<LockLease | undefined>;
}

/** A maintenance job's lease was lost while the job ran. */
export class LeaseLostError extends LakestrikeError {
  /** Where the lock lives. */
  readonly location: string;
  /** Create the error for the lock at `location` held by `owner`. */
  constructor(location: string, owner: string, why: string, options?: ErrorOptions) {
    super("STORAGE", `Cannot keep lock ${location} for ${owner}: ${why}`, options);
    this.name = "LeaseLostError";
    this.location = location;
  }
}

/** Throw {@linkcode InvalidArgumentError} unless `owner` and `leaseMs` are usable. */
export function validateLeaseArgs(location: string, owner: string, leaseMs: number): void {
  if (typeof owner !== "string" || owner === "") {
    throw new InvalidArgumentError(`Cannot acquire lock ${location}: the owner is empty`);
  }
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) {
    throw new InvalidArgumentError(
      `Cannot acquire lock ${location}: leaseMs ${leaseMs} is not a positive integer`,
    );
  }
}

/** Options of {@linkcode withMaintenanceLock}. */
export interface WithMaintenanceLockOptions {
  /** How often to renew; default a third of `leaseMs`. */
  renewIntervalMs?: number;
  /** The clock of the lock, to tell when a lease that cannot be renewed has run out. */
  clock?: Clock;
}

/** Result of {@linkcode withMaintenanceLock}: lock contention is a value. */
export type WithLockResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Run `fn` while holding the lock: acquire (or return `{ acquired: false }` when another owner holds
 * it), renew every `renewIntervalMs` in the background, release at the end. When the lease is lost
 * (a renew returns `false`, or renews keep failing until the lease expired) `fn`'s signal is
 * aborted with a {@linkcode LeaseLostError}, and `withMaintenanceLock` rejects with that error even
 * if `fn` completes: work done after the loss may have overlapped another holder's.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createStorageLock } from "./storage_lock.ts";
 * import { withMaintenanceLock } from "./lock.ts";
 * const lock = createStorageLock(createMemoryStorage(), "_lakestrike/locks/vacuum");
 * const result = await withMaintenanceLock(lock, "vacuum@host-1", 60_000, (signal) => {
 *   signal.throwIfAborted();
 *   return Promise.resolve(42);
 * });
 * if (!result.acquired || result.value !== 42) throw new Error("expected to run");
 * ```
 */
export async function withMaintenanceLock<T>(
  lock: MaintenanceLock,
  owner: string,
  leaseMs: number,
  fn: (signal: AbortSignal, lease: LockLease) => Promise<T>,
  options: WithMaintenanceLockOptions = {},
): Promise<WithLockResult<T>> {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.renewIntervalMs ?? Math.max(1, Math.floor(leaseMs / 3));
  const lease = await lock.tryAcquire(owner, leaseMs);
  if (lease === undefined) return { acquired: false };

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const lose = (why: string, cause?: unknown) => {
    if (controller.signal.aborted) return;
    controller.abort(
      new LeaseLostError(lock.location, owner, why, cause === undefined ? undefined : { cause }),
    );
  };
  const tick = async () => {
    try {
      if (!await lease.renew(leaseMs)) lose("another owner acquired it");
    } catch (e) {
      // A failed renew is retried on the next tick while the lease lasts.
      if (clock.nowMs() >= lease.expiresAtMs) lose("renewing failed until the lease expired", e);
    }
  };
  const schedule = () => {
    if (stopped || controller.signal.aborted) return;
    timer = setTimeout(() => {
      inFlight = tick().then(schedule);
    }, intervalMs);
  };
  schedule();

  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await fn(controller.signal, lease) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  stopped = true;
  clearTimeout(timer);
  await inFlight;
  if (controller.signal.aborted) throw controller.signal.reason;
  await lease.release();
  if (!outcome.ok) throw outcome.error;
  return { acquired: true, value: outcome.value };
}
