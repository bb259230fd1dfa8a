/**
 * A {@linkcode MaintenanceLock} on any {@linkcode ObjectStorage} with put-if-absent: memory, local
 * disk (`link(2)`) and S3 (`If-None-Match: *`). It needs no other capability (no `If-Match`, no
 * rename), so one algorithm serves every backend and S3-compatible stores without `If-Match`.
 *
 * The lock is a sequence of immutable records `<path>/<seq>.json` (`seq` zero-padded to 20 digits
 * so that listing order is numeric order), each holding `{owner, token, expiresAtMs, released}`.
 * The record with the highest `seq` is the lock's state. Every change — acquire, renew, release —
 * writes the next record with put-if-absent, so changes are linearized by the storage's mutual
 * exclusion per path:
 *
 * * `tryAcquire` lists the records, reads the highest (`n`); if it is an unexpired, unreleased
 *   lease it returns `undefined`; otherwise it writes `n + 1` (or `0` on an empty lock). Of
 *   several contenders that read the same `n`, exactly one creates `n + 1`.
 * * `renew` and `release` write `mySeq + 1`; that fails exactly when someone else wrote it first,
 *   i.e. acquired the lock.
 * * After every successful write the writer re-lists for a record above its own and treats one as
 *   a loss. Old records are garbage-collected (deleted) by the next writer, and a very slow
 *   contender could otherwise re-create a deleted `seq` below the head. Because a record is only
 *   deleted after a higher one was written, the highest record is never deleted and the re-check
 *   catches every such write.
 *
 * Costs per call: `tryAcquire` 1 list + 1 get + 1 put + 1 list (+ 1 delete); `renew` 1 put +
 * 1 list (+ 1 delete). Nothing else may write or delete under `path`.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { InvalidArgumentError, LakestrikeError } from "../errors.ts";
import { validatePath } from "../storage/path.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { type LockLease, type MaintenanceLock, validateLeaseArgs } from "./lock.ts";

/** Options of {@linkcode createStorageLock}. */
export interface StorageLockOptions {
  /** Clock that judges expiry; default the system clock. */
  clock?: Clock;
}

/** One lock record as stored. */
interface LockRecord {
  owner: string;
  token: string;
  expiresAtMs: number;
  released: boolean;
}

const SEQ_DIGITS = 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Create a lock kept under `path` (a folder, e.g. `_lakestrike/locks/compaction`) of `storage`.
 *
 * @example
 * ```ts
 * import { createManualClock } from "../clock.ts";
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createStorageLock } from "./storage_lock.ts";
 * const clock = createManualClock(0);
 * const storage = createMemoryStorage();
 * const lock = createStorageLock(storage, "_lakestrike/locks/compaction", { clock });
 * const lease = await lock.tryAcquire("compactor-1", 60_000);
 * if (lease === undefined) throw new Error("a free lock must be acquired");
 * if (await lock.tryAcquire("compactor-2", 60_000) !== undefined) throw new Error("held");
 * clock.advance(60_000); // compactor-1 stopped renewing: its lease expired
 * const next = await lock.tryAcquire("compactor-2", 60_000);
 * if (next === undefined || await lease.renew(60_000)) throw new Error("lease must be lost");
 * ```
 */
export function createStorageLock(
  storage: ObjectStorage,
  path: string,
  options: StorageLockOptions = {},
): MaintenanceLock {
  validatePath(path);
  const clock = options.clock ?? systemClock;
  const folder = `${path}/`;
  const location = `${storage.location}/${path}`;
  const keyOf = (seq: number) => `${folder}${String(seq).padStart(SEQ_DIGITS, "0")}.json`;

  const write = async (seq: number, record: LockRecord): Promise<boolean> => {
    const put = await storage.put(keyOf(seq), encoder.encode(JSON.stringify(record)), {
      ifAbsent: true,
    });
    if (!put.ok) return false;
    // Re-check: a record above ours means our seq was garbage-collected and re-created late.
    const above = await storage.list(folder, { startAfter: keyOf(seq), limit: 1 });
    return above.length === 0;
  };

  const collect = async (paths: string[]) => {
    // Best effort: a leftover record below the head is harmless and deleted by a later writer.
    try {
      await storage.delete(paths);
    } catch { /* see above */ }
  };

  const makeLease = (owner: string, token: string, startSeq: number, startExpiresAtMs: number) => {
    let seq = startSeq;
    let expiresAtMs = startExpiresAtMs;
    let done = false; // lost or released
    const lease: LockLease = {
      owner,
      token,
      get expiresAtMs() {
        return expiresAtMs;
      },
      async renew(leaseMs) {
        validateLeaseArgs(location, owner, leaseMs);
        if (done) return false;
        const newExpiresAtMs = clock.nowMs() + leaseMs;
        const ok = await write(seq + 1, {
          owner,
          token,
          expiresAtMs: newExpiresAtMs,
          released: false,
        });
        if (!ok) {
          done = true;
          return false;
        }
        await collect([keyOf(seq)]);
        seq += 1;
        expiresAtMs = newExpiresAtMs;
        return true;
      },
      async release() {
        if (done) return;
        done = true;
        if (await write(seq + 1, { owner, token, expiresAtMs: 0, released: true })) {
          await collect([keyOf(seq)]);
        }
      },
    };
    return lease;
  };

  return {
    location,
    async tryAcquire(owner, leaseMs) {
      validateLeaseArgs(location, owner, leaseMs);
      const records = await storage.list(folder);
      const head = records[records.length - 1];
      let nextSeq = 0;
      if (head !== undefined) {
        const headSeq = parseSeq(head.path, folder, location);
        const record = parseRecord(await readRecord(storage, head.path), head.path, location);
        if (!record.released && clock.nowMs() < record.expiresAtMs) return undefined;
        nextSeq = headSeq + 1;
      }
      const token = crypto.randomUUID();
      const expiresAtMs = clock.nowMs() + leaseMs;
      if (!await write(nextSeq, { owner, token, expiresAtMs, released: false })) return undefined;
      await collect(records.map((m) => m.path));
      return makeLease(owner, token, nextSeq, expiresAtMs);
    },
  };
}

async function readRecord(storage: ObjectStorage, path: string): Promise<Uint8Array | undefined> {
  try {
    return await storage.get(path);
  } catch (e) {
    // Garbage-collected between list and get: a newer record exists, so the lock is taken.
    if (e instanceof LakestrikeError && e.code === "NOT_FOUND") return undefined;
    throw e;
  }
}

function parseSeq(path: string, folder: string, location: string): number {
  const name = path.slice(folder.length);
  const match = /^(\d{20})\.json$/.exec(name);
  const seq = match === null ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(seq)) {
    throw new InvalidArgumentError(
      `Cannot acquire lock ${location}: ${path} is not a lock record; nothing else may be stored there`,
    );
  }
  return seq;
}

/**
 * Parse a record; `undefined` bytes (deleted meanwhile) parse as an unexpired foreign lease, so the
 * contender backs off rather than guessing.
 */
function parseRecord(
  bytes: Uint8Array | undefined,
  path: string,
  location: string,
): LockRecord {
  if (bytes === undefined) {
    return { owner: "?", token: "?", expiresAtMs: Number.POSITIVE_INFINITY, released: false };
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    value = undefined;
  }
  const r = value as Partial<LockRecord> | undefined;
  if (
    typeof r !== "object" || r === null || typeof r.owner !== "string" ||
    typeof r.token !== "string" || typeof r.expiresAtMs !== "number" ||
    typeof r.released !== "boolean"
  ) {
    throw new LakestrikeError(
      "STORAGE",
      `Cannot acquire lock ${location}: ${path} is not a valid lock record`,
    );
  }
  return r as LockRecord;
}
