import assert from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { createMemoryStorage, type StorageFaults } from "../storage/memory.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { type Action, parseActions, serializeActions } from "./actions.ts";
import {
  commitActions,
  ENGINE_INFO,
  isDuplicateTxn,
  readCommitIfExists,
  writeCommitFile,
} from "./commit.ts";
import { commitPath } from "./paths.ts";
import { applyActions, createReplayState, finishReplay } from "./replay.ts";

const v0Actions: Action[] = [
  { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
  {
    metaData: {
      id: "table-1",
      format: { provider: "parquet" },
      schemaString:
        '{"type":"struct","fields":[{"name":"x","type":"long","nullable":true,"metadata":{}}]}',
      partitionColumns: [],
      configuration: {},
      createdTime: 0,
    },
  },
];

async function setup(faults?: StorageFaults) {
  // Faults are armed only after version 0 is written.
  let armed = false;
  const storage = createMemoryStorage({
    faults: {
      before: (op, path) => armed ? faults?.before?.(op, path) : undefined,
      after: (op, path) => armed ? faults?.after?.(op, path) : undefined,
    },
  });
  await storage.put(commitPath(0), new TextEncoder().encode(serializeActions(v0Actions)));
  armed = true;
  const state = createReplayState();
  applyActions(state, 0, v0Actions);
  const v0: Snapshot = finishReplay(state, { timestampMs: 0 });
  return { storage, v0 };
}

const add = (path: string, dataChange = true): Action => ({
  add: { path, partitionValues: {}, size: 100, modificationTime: 1, dataChange },
});

async function readActions(storage: ReturnType<typeof createMemoryStorage>, version: number) {
  return parseActions(new TextDecoder().decode(await storage.get(commitPath(version))), "test");
}

Deno.test("commitActions: writes the next version with commitInfo first", async () => {
  const { storage, v0 } = await setup();
  const clock = createManualClock(1_700_000_000_000);
  const r = await commitActions(
    storage,
    v0,
    { operation: "WRITE", operationParameters: { mode: "Append" }, actions: [add("a.parquet")] },
    { clock },
  );
  assert.ok(r.ok);
  assert.equal(r.version, 1);
  assert.equal(r.attempts, 1);
  assert.equal(r.snapshot.version, 1);
  assert.deepEqual(r.snapshot.files.map((f) => f.path), ["a.parquet"]);
  assert.equal(r.snapshot.timestampMs, 1_700_000_000_000);
  const actions = await readActions(storage, 1);
  assert.equal(actions.length, 2);
  const first = actions[0]!;
  assert.ok("commitInfo" in first);
  const ci = first.commitInfo;
  assert.equal(ci.timestamp, 1_700_000_000_000);
  assert.equal(ci.operation, "WRITE");
  assert.deepEqual(ci.operationParameters, { mode: "Append" });
  assert.equal(ci.readVersion, 0);
  assert.equal(ci.isBlindAppend, true);
  assert.equal(ci.engineInfo, ENGINE_INFO);
  assert.match(String(ci.txnId), /^[0-9a-f-]{36}$/);
  assert.deepEqual(actions[1], add("a.parquet"));
});

Deno.test("commitActions: a lost race reads the winners and commits after them", async () => {
  const { storage, v0 } = await setup();
  // Two other writers committed versions 1 and 2 after we read version 0.
  await storage.put(commitPath(1), new TextEncoder().encode(serializeActions([add("w1")])));
  await storage.put(
    commitPath(2),
    new TextEncoder().encode(serializeActions([{ commitInfo: {} }, add("w2")])),
  );
  const r = await commitActions(storage, v0, { operation: "WRITE", actions: [add("ours")] });
  assert.ok(r.ok);
  assert.equal(r.version, 3);
  assert.equal(r.attempts, 2);
  assert.deepEqual(r.snapshot.files.map((f) => f.path).sort(), ["ours", "w1", "w2"]);
  assert.deepEqual((await readActions(storage, 3)).slice(1), [add("ours")]);
  assert.equal(
    ((await readActions(storage, 3))[0] as { commitInfo: { readVersion: number } })
      .commitInfo.readVersion,
    0,
  );
});

Deno.test("commitActions: a concurrent metaData change is a returned conflict, nothing is written", async () => {
  const { storage, v0 } = await setup();
  await storage.put(commitPath(1), new TextEncoder().encode(serializeActions([v0Actions[1]!])));
  const r = await commitActions(storage, v0, { operation: "WRITE", actions: [add("ours")] });
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.kind, "metadata_changed");
  assert.match(
    r.reason,
    /^Cannot commit on top of version 0: version 1 changed the table metadata/,
  );
  assert.equal(r.snapshot.version, 1);
  assert.equal(await storage.head(commitPath(2)), undefined);
});

Deno.test("commitActions: compaction conflicts with a concurrent remove of the same file", async () => {
  const { storage, v0 } = await setup();
  const r1 = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: [add("a"), add("b")],
  });
  assert.ok(r1.ok);
  const base = r1.snapshot;
  const del = await commitActions(storage, base, {
    operation: "DELETE",
    actions: [{ remove: { path: "a", dataChange: true, deletionTimestamp: 1 } }],
  });
  assert.ok(del.ok);
  const compaction = await commitActions(storage, base, {
    operation: "OPTIMIZE",
    actions: [
      { remove: { path: "a", dataChange: false, deletionTimestamp: 1 } },
      { remove: { path: "b", dataChange: false, deletionTimestamp: 1 } },
      add("ab", false),
    ],
  });
  assert.ok(!compaction.ok && compaction.kind === "concurrent_delete_delete");
});

Deno.test("commitActions: a put that landed but lost its answer is committed once", async () => {
  let failNext = true;
  const { storage, v0 } = await setup({
    after(op, path) {
      if (op === "put" && path.startsWith("_delta_log/") && failNext) {
        failNext = false;
        throw new Error("connection reset after the request was sent");
      }
    },
  });
  const r = await commitActions(storage, v0, { operation: "WRITE", actions: [add("a")] });
  assert.ok(r.ok);
  assert.equal(r.version, 1);
  assert.equal(r.attempts, 1);
  assert.equal(await storage.head(commitPath(2)), undefined);
});

Deno.test("commitActions: a put that failed before landing throws the storage error", async () => {
  const { storage, v0 } = await setup({
    before(op) {
      if (op === "put") throw new Error("disk on fire");
    },
  });
  await assert.rejects(
    commitActions(storage, v0, { operation: "WRITE", actions: [add("a")] }),
    /disk on fire/,
  );
  assert.equal(await storage.head(commitPath(1)), undefined);
});

Deno.test("writeCommitFile: unknown outcome with other bytes at the path is 'exists'", async () => {
  let first = true;
  const s2 = createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && first) {
          first = false;
          // Another writer takes the version while our request is in flight; then ours fails.
          await s2.put(path, new TextEncoder().encode("theirs\n"), { ifAbsent: true });
          throw new Error("timeout");
        }
      },
    },
  });
  const outcome = await writeCommitFile(s2, 5, new TextEncoder().encode("ours\n"));
  assert.equal(outcome, "exists");
});

Deno.test("commitActions: idempotent txn already committed is not written again", async () => {
  const { storage, v0 } = await setup();
  const draft = {
    operation: "WRITE",
    actions: [add("a"), { txn: { appId: "edge-1", version: 4 } }],
  };
  const r1 = await commitActions(storage, v0, draft);
  assert.ok(r1.ok && !r1.duplicate && r1.version === 1);
  const again = await commitActions(storage, r1.snapshot, {
    operation: "WRITE",
    actions: [add("a-retry"), { txn: { appId: "edge-1", version: 4 } }],
  });
  assert.ok(again.ok);
  assert.equal(again.duplicate, true);
  assert.equal(again.version, 1);
  assert.equal(again.attempts, 0);
  assert.equal(await storage.head(commitPath(2)), undefined);
  // A stale snapshot learns of the txn from the winning commit and reports the duplicate.
  const stale = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: [add("a-stale"), { txn: { appId: "edge-1", version: 3 } }],
  });
  assert.ok(stale.ok && stale.duplicate === true && stale.version === 1);
  assert.equal(await storage.head(commitPath(2)), undefined);
  // A newer txn version of the same appId is written.
  const next = await commitActions(storage, r1.snapshot, {
    operation: "WRITE",
    actions: [add("b"), { txn: { appId: "edge-1", version: 5 } }],
  });
  assert.ok(next.ok && !next.duplicate && next.version === 2);
  assert.equal(next.snapshot.txns.get("edge-1")?.version, 5);
});

Deno.test("isDuplicateTxn: needs a txn and every appId at or past its version", () => {
  const snapshot = { txns: new Map([["a", { appId: "a", version: 3 }]]) };
  assert.equal(isDuplicateTxn(snapshot, { actions: [add("x")] }), false);
  assert.equal(isDuplicateTxn(snapshot, { actions: [{ txn: { appId: "a", version: 2 } }] }), true);
  assert.equal(isDuplicateTxn(snapshot, { actions: [{ txn: { appId: "a", version: 4 } }] }), false);
  assert.equal(isDuplicateTxn(snapshot, { actions: [{ txn: { appId: "b", version: 0 } }] }), false);
});

Deno.test("commitActions: a txn expired by delta.setTransactionRetentionDuration is no duplicate", async () => {
  const { storage, v0 } = await setup();
  const DAY = 86_400_000;
  const clock = createManualClock(100 * DAY);
  const retention = { "delta.setTransactionRetentionDuration": "interval 7 days" };
  const r1 = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: [
      { metaData: { ...v0.metadata, configuration: retention } },
      add("a"),
      { txn: { appId: "p", version: 5, lastUpdated: clock.nowMs() } },
    ],
  }, { clock });
  assert.ok(r1.ok && !r1.duplicate);
  // Re-committing the producer's position: a duplicate while the txn lives...
  const retry = () =>
    commitActions(storage, r1.snapshot, {
      operation: "WRITE",
      actions: [add("b"), { txn: { appId: "p", version: 5, lastUpdated: clock.nowMs() } }],
    }, { clock });
  clock.advance(7 * DAY - 1);
  const live = await retry();
  assert.ok(live.ok && live.duplicate === true);
  // ...and written once it expired, as txnVersion no longer knows the producer (before, the
  // runner's commit loop was told "duplicate" forever and never answered).
  clock.advance(1);
  const expired = await retry();
  assert.ok(expired.ok && !expired.duplicate && expired.version === 2);
  assert.deepEqual(expired.snapshot.files.map((f) => f.path).sort(), ["a", "b"]);
});

Deno.test("commitActions: gives up after maxAttempts", async () => {
  const { storage, v0 } = await setup();
  // Every time we read the winners, yet another writer commits the next version.
  let next = 1;
  await storage.put(commitPath(next++), new TextEncoder().encode(serializeActions([add("w")])));
  const hostile = {
    ...storage,
    location: storage.location,
    async put(path: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }) {
      await storage.put(
        commitPath(next),
        new TextEncoder().encode(serializeActions([add(`w${next}`)])),
        { ifAbsent: true },
      );
      next++;
      return storage.put(path, bytes, options);
    },
  };
  const r = await commitActions(hostile, v0, { operation: "WRITE", actions: [add("ours")] }, {
    maxAttempts: 3,
  });
  assert.ok(!r.ok);
  assert.equal(r.kind, "max_attempts");
  assert.equal(r.attempts, 3);
  assert.match(r.reason, /gave up after 3 attempts/);
});

Deno.test("readCommitIfExists: undefined for a missing version, actions otherwise", async () => {
  const { storage } = await setup();
  assert.equal(await readCommitIfExists(storage, 9), undefined);
  const c = await readCommitIfExists(storage, 0);
  assert.equal(c?.actions.length, 2);
});
