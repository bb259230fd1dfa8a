import assert from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { LeaseLostError, withMaintenanceLock } from "./lock.ts";
import { createStorageLock } from "./storage_lock.ts";

function setup() {
  const clock = createManualClock(0);
  const storage = createMemoryStorage();
  const lock = createStorageLock(storage, "_lakestrike/locks/compaction", { clock });
  return { clock, storage, lock };
}

/** Resolve once `condition()` holds, checking after each macrotask (bounded). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(condition(), "condition never held");
}

Deno.test("withMaintenanceLock: runs fn, then releases", async () => {
  const { lock, clock } = setup();
  const result = await withMaintenanceLock(lock, "a", 1_000, async (signal, lease) => {
    assert.equal(signal.aborted, false);
    assert.equal(lease.owner, "a");
    assert.equal(await lock.tryAcquire("b", 1_000), undefined, "held while fn runs");
    return "done";
  }, { clock });
  assert.deepEqual(result, { acquired: true, value: "done" });
  assert.ok(await lock.tryAcquire("b", 1_000) !== undefined, "released at the end");
});

Deno.test("withMaintenanceLock: a held lock is the value {acquired: false}", async () => {
  const { lock, clock } = setup();
  assert.ok(await lock.tryAcquire("other", 1_000) !== undefined);
  let ran = false;
  const result = await withMaintenanceLock(lock, "a", 1_000, () => {
    ran = true;
    return Promise.resolve(1);
  }, { clock });
  assert.deepEqual(result, { acquired: false });
  assert.equal(ran, false);
});

Deno.test("withMaintenanceLock: renews in the background while fn runs", async () => {
  const { lock, clock } = setup();
  await withMaintenanceLock(lock, "a", 1_000, async (_signal, lease) => {
    const first = lease.expiresAtMs;
    clock.advance(900);
    await until(() => lease.expiresAtMs > first);
    assert.equal(lease.expiresAtMs, 1_900);
    clock.advance(900); // past the first expiry: the renewed lease still holds
    assert.equal(await lock.tryAcquire("b", 1_000), undefined);
  }, { clock, renewIntervalMs: 1 });
});

Deno.test("withMaintenanceLock: fn's error is rethrown and the lock released", async () => {
  const { lock, clock } = setup();
  await assert.rejects(
    withMaintenanceLock(lock, "a", 1_000, () => Promise.reject(new Error("job failed")), { clock }),
    /job failed/,
  );
  assert.ok(await lock.tryAcquire("b", 1_000) !== undefined);
});

Deno.test("withMaintenanceLock: a lost lease aborts fn's signal and rejects", async () => {
  const { lock, clock } = setup();
  let thief: Awaited<ReturnType<typeof lock.tryAcquire>>;
  await assert.rejects(
    withMaintenanceLock(lock, "a", 1_000, async (signal) => {
      // The holder stalls past its lease (no renew happens: the interval is long) ...
      clock.advance(1_000);
      thief = await lock.tryAcquire("b", 1_000);
      assert.ok(thief !== undefined);
      // ... and its next renew finds the lock taken.
      await until(() => signal.aborted);
      assert.ok(signal.reason instanceof LeaseLostError);
      return "finished anyway";
    }, { clock, renewIntervalMs: 5 }),
    (e: unknown) => {
      assert.ok(e instanceof LeaseLostError);
      assert.match(
        e.message,
        /^Cannot keep lock memory:\/\/.*compaction for a: another owner acquired it$/,
      );
      return true;
    },
  );
  assert.equal(
    await thief!.renew(1_000),
    true,
    "the loser's exit does not release the thief's lock",
  );
});

Deno.test("withMaintenanceLock: renews that keep failing until expiry abort fn", async () => {
  const clock = createManualClock(0);
  let failRenews = false;
  const storage = createMemoryStorage({
    faults: {
      before(op) {
        if (failRenews && op === "put") throw new Error("storage down");
      },
    },
  });
  const lock = createStorageLock(storage, "locks/x", { clock });
  await assert.rejects(
    withMaintenanceLock(lock, "a", 1_000, async (signal, lease) => {
      failRenews = true;
      clock.advance(500);
      // Failures before expiry are retried, not a loss.
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(signal.aborted, false);
      clock.set(lease.expiresAtMs);
      await until(() => signal.aborted);
    }, { clock, renewIntervalMs: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof LeaseLostError);
      assert.match(e.message, /renewing failed until the lease expired/);
      assert.match(String((e.cause as Error).message), /storage down/);
      return true;
    },
  );
});
