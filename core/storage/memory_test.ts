import assert from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { NotFoundError } from "../errors.ts";
import { describeStorageContract } from "./contract.ts";
import { createMemoryStorage, type StorageOp } from "./memory.ts";

describeStorageContract(
  "memory",
  () => Promise.resolve({ storage: createMemoryStorage(), cleanup: () => Promise.resolve() }),
);

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

Deno.test("memory: hooks see every operation with its path, before and after", async () => {
  const calls: string[] = [];
  const storage = createMemoryStorage({
    faults: {
      before: (op, path) => void calls.push(`before ${op} ${path}`),
      after: (op, path) => void calls.push(`after ${op} ${path}`),
    },
  });
  await storage.put("a", text("1"));
  await storage.get("a");
  await storage.getRange("a", 0, 1);
  await storage.head("a");
  await storage.list("p/");
  await storage.delete(["a", "b"]);
  assert.deepEqual(calls, [
    "before put a",
    "after put a",
    "before get a",
    "after get a",
    "before getRange a",
    "after getRange a",
    "before head a",
    "after head a",
    "before list p/",
    "after list p/",
    "before delete a",
    "after delete a",
    "before delete b",
    "after delete b",
  ]);
});

Deno.test("memory: a throwing before hook fails the operation with no effect", async () => {
  const failing = new Set<StorageOp>();
  const storage = createMemoryStorage({
    faults: {
      before(op) {
        if (failing.has(op)) throw new Error(`injected ${op} failure`);
      },
    },
  });
  await storage.put("keep", text("kept"));
  failing.add("put");
  await assert.rejects(storage.put("new", text("x")), /injected put failure/);
  await assert.rejects(storage.put("keep", text("changed")), /injected put failure/);
  assert.deepEqual(storage.snapshotPaths(), ["keep"]);
  assert.equal(decode(await storage.get("keep")), "kept");
  failing.add("delete");
  await assert.rejects(storage.delete(["keep"]), /injected delete failure/);
  assert.equal(storage.size, 1);
  failing.add("get");
  await assert.rejects(storage.get("keep"), /injected get failure/);
  failing.clear();
  assert.equal(decode(await storage.get("keep")), "kept");
});

Deno.test("memory: a throwing after hook loses the answer but not the effect", async () => {
  let loseAnswers = true;
  const storage = createMemoryStorage({
    faults: {
      after(op) {
        if (loseAnswers && (op === "put" || op === "delete")) throw new Error("connection reset");
      },
    },
  });
  await assert.rejects(storage.put("_delta_log/0.json", text("mine"), { ifAbsent: true }), {
    message: "connection reset",
  });
  // The put landed: a retry of the same put-if-absent now reports exists, as on S3.
  loseAnswers = false;
  assert.equal(decode(await storage.get("_delta_log/0.json")), "mine");
  assert.deepEqual(
    await storage.put("_delta_log/0.json", text("mine"), { ifAbsent: true }),
    { ok: false, reason: "exists" },
  );
  loseAnswers = true;
  await assert.rejects(storage.delete(["_delta_log/0.json"]), /connection reset/);
  assert.equal(storage.size, 0);
});

Deno.test("memory: a delay in a hook reorders concurrent operations", async () => {
  const gate = deferred();
  let delayNext = true;
  const storage = createMemoryStorage({
    faults: {
      async before(op) {
        if (op === "put" && delayNext) {
          delayNext = false;
          await gate.promise;
        }
      },
    },
  });
  const slowFirst = storage.put("slow", text("A"), { ifAbsent: true });
  // Issued second, but lands first and wins the put-if-absent race.
  assert.deepEqual(await storage.put("slow", text("B"), { ifAbsent: true }), { ok: true });
  assert.equal(decode(await storage.get("slow")), "B");
  gate.resolve();
  assert.deepEqual(await slowFirst, { ok: false, reason: "exists" });
  assert.equal(decode(await storage.get("slow")), "B");
});

Deno.test("memory: a delayed plain put overwrites the later one when it lands", async () => {
  const gate = deferred();
  let delayNext = true;
  const storage = createMemoryStorage({
    faults: {
      async before(op) {
        if (op === "put" && delayNext) {
          delayNext = false;
          await gate.promise;
        }
      },
    },
  });
  const first = storage.put("x", text("first"));
  await storage.put("x", text("second"));
  gate.resolve();
  await first;
  assert.equal(decode(await storage.get("x")), "first");
});

Deno.test("memory: a hook can fail a read before the missing object is noticed", async () => {
  const storage = createMemoryStorage({
    faults: {
      before(op) {
        if (op === "head") throw new Error("timeout");
      },
    },
  });
  await assert.rejects(storage.head("nope"), /timeout/);
  await assert.rejects(storage.get("nope"), NotFoundError);
});

Deno.test("memory: lastModifiedMs comes from the injected clock", async () => {
  const clock = createManualClock(1_000);
  const storage = createMemoryStorage({ clock, location: "memory://clocked" });
  assert.equal(storage.location, "memory://clocked");
  await storage.put("a", text("1"));
  clock.advance(500);
  await storage.put("b", text("2"));
  assert.equal((await storage.head("a"))?.lastModifiedMs, 1_000);
  assert.deepEqual(await storage.list(""), [
    { path: "a", size: 1, lastModifiedMs: 1_000 },
    { path: "b", size: 1, lastModifiedMs: 1_500 },
  ]);
  clock.advance(500);
  await storage.put("a", text("11"));
  assert.deepEqual(await storage.head("a"), { path: "a", size: 2, lastModifiedMs: 2_000 });
});

Deno.test("memory: getRange copies out", async () => {
  const storage = createMemoryStorage();
  await storage.put("a", text("abc"));
  const range = await storage.getRange("a", 0, 2);
  range[0] = 0;
  assert.equal(decode(await storage.get("a")), "abc");
});

Deno.test("memory: snapshotPaths and size skip the hooks and sort by bytes", async () => {
  let hooked = 0;
  const storage = createMemoryStorage({ faults: { before: () => void hooked++ } });
  await storage.put("k/\u{1F600}", text("1"));
  await storage.put("k/\uFF5E", text("2"));
  await storage.put("a", text("3"));
  hooked = 0;
  assert.deepEqual(storage.snapshotPaths(), ["a", "k/\uFF5E", "k/\u{1F600}"]);
  assert.equal(storage.size, 3);
  assert.equal(hooked, 0);
});
