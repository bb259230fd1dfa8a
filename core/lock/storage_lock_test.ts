import assert from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { createLocalStorage } from "../storage/local.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { createS3Storage } from "../../aws/s3_storage.ts";
import { createTestBucket, testS3Endpoint } from "../../aws/s3_test_support.ts";
import { describeLockContract } from "./lock_contract.ts";
import { createStorageLock } from "./storage_lock.ts";

const lockPath = () => `_lakestrike/locks/${crypto.randomUUID()}`;

describeLockContract("storage, memory", (clock) => {
  const storage = createMemoryStorage();
  const path = lockPath();
  return Promise.resolve({
    open: () => createStorageLock(storage, path, { clock }),
    cleanup: () => Promise.resolve(),
  });
}, { propertyRuns: 300 });

describeLockContract("storage, local disk", async (clock) => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-lock-" });
  const path = lockPath();
  return {
    // A new storage per handle, as a second process would open it.
    open: () => createStorageLock(createLocalStorage(dir), path, { clock }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}, { propertyRuns: 40 });

// One bucket for the whole file; every fixture uses its own lock path in it.
let sharedBucket: Promise<{ bucket: string; cleanup(): Promise<void> }> | undefined;

describeLockContract("storage, S3 (moto)", async (clock) => {
  sharedBucket ??= createTestBucket();
  const { bucket } = await sharedBucket;
  const path = lockPath();
  const open = () =>
    createStorageLock(
      createS3Storage({ bucket, prefix: "t1", endpoint: testS3Endpoint(), retryBaseDelayMs: 1 }),
      path,
      { clock },
    );
  return {
    open,
    async cleanup() {
      const storage = createS3Storage({ bucket, endpoint: testS3Endpoint() });
      await storage.delete((await storage.list(`t1/${path}/`)).map((m) => m.path));
    },
  };
}, { propertyRuns: 12 });

Deno.test("storage lock: records are garbage-collected down to the head", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(0);
  const lock = createStorageLock(storage, "locks/x", { clock });
  const lease = await lock.tryAcquire("a", 100);
  assert.ok(lease !== undefined);
  for (let i = 0; i < 5; i++) assert.equal(await lease.renew(100), true);
  await lease.release();
  const b = await lock.tryAcquire("b", 100);
  assert.ok(b !== undefined);
  assert.deepEqual(storage.snapshotPaths(), ["locks/x/00000000000000000007.json"]);
  const record = JSON.parse(
    new TextDecoder().decode(await storage.get("locks/x/00000000000000000007.json")),
  );
  assert.deepEqual(record, { owner: "b", token: b.token, expiresAtMs: 100, released: false });
});

Deno.test("storage lock: a stale renew re-creating a collected record is a loss", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(0);
  const lock = createStorageLock(storage, "locks/x", { clock });
  const a = await lock.tryAcquire("a", 100); // seq 0
  assert.ok(a !== undefined);
  clock.advance(100);
  const b = await lock.tryAcquire("b", 100); // seq 1, collects seq 0
  assert.ok(b !== undefined);
  assert.equal(await b.renew(100), true); // seq 2, collects seq 1
  // a's renew writes seq 1 again (the put succeeds: it was collected) but seq 2 is above it.
  assert.equal(await a.renew(100), false);
  assert.equal(await b.renew(100), true);
  assert.equal(await lock.tryAcquire("c", 100), undefined);
});

Deno.test("storage lock: a slow contender re-creating a collected record does not win", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(0);
  const lock = createStorageLock(storage, "locks/x", { clock });
  const a = await lock.tryAcquire("a", 100); // seq 0
  assert.ok(a !== undefined);
  clock.advance(100);
  // The slow contender lists and reads seq 0 (expired) now, and writes only later.
  const staleList = await storage.list("locks/x/");
  const staleBytes = await storage.get("locks/x/00000000000000000000.json");
  const b = await lock.tryAcquire("b", 100); // seq 1, collects seq 0
  assert.ok(b !== undefined);
  assert.equal(await b.renew(100), true); // seq 2, collects seq 1
  let stale = true;
  const slow: ObjectStorage = {
    ...storage,
    list: (prefix, options) =>
      stale && options === undefined ? Promise.resolve(staleList) : storage.list(prefix, options),
    get: (path) => stale ? Promise.resolve(staleBytes) : storage.get(path),
  };
  // It re-creates seq 1 (its put succeeds), but the re-check sees seq 2 above it.
  assert.equal(
    await createStorageLock(slow, "locks/x", { clock }).tryAcquire("slow", 100),
    undefined,
  );
  stale = false;
  assert.equal(await b.renew(100), true, "b still holds the lock");
});

Deno.test("storage lock: a foreign object under the lock path is an error naming it", async () => {
  const storage = createMemoryStorage();
  await storage.put("locks/x/readme.txt", new TextEncoder().encode("hi"));
  const lock = createStorageLock(storage, "locks/x");
  await assert.rejects(lock.tryAcquire("a", 100), /locks\/x\/readme\.txt is not a lock record/);
  assert.throws(() => createStorageLock(storage, "/abs"), /Cannot use storage path/);
});
