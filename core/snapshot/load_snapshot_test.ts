import assert from "node:assert/strict";
import { createManualClock, type ManualClock } from "../clock.ts";
import { CorruptLogError, isLakestrikeError, TableNotFoundError } from "../errors.ts";
import { type Action, serializeActions } from "../log/actions.ts";
import { commitPath } from "../log/paths.ts";
import { createMemoryStorage, type MemoryStorage } from "../storage/memory.ts";
import { loadHistory, loadSnapshot, readCommit, versionAtTimestamp } from "./load_snapshot.ts";

const SCHEMA =
  '{"type":"struct","fields":[{"name":"a","type":"long","nullable":true,"metadata":{}}]}';

function header(configuration: Record<string, string> = {}): Action[] {
  return [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: "t",
        format: { provider: "parquet" },
        schemaString: SCHEMA,
        partitionColumns: [],
        configuration,
      },
    },
  ];
}

const add = (path: string): Action => ({
  add: { path, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true },
});

interface Table {
  storage: MemoryStorage;
  clock: ManualClock;
  commit(version: number, actions: Action[], atMs: number): Promise<void>;
}

function createTable(): Table {
  const clock = createManualClock(0);
  const storage = createMemoryStorage({ clock });
  return {
    storage,
    clock,
    async commit(version, actions, atMs) {
      clock.set(atMs);
      const bytes = new TextEncoder().encode(serializeActions(actions));
      const r = await storage.put(commitPath(version), bytes, { ifAbsent: true });
      assert.ok(r.ok);
    },
  };
}

Deno.test("time travel by timestamp uses commit file times", async () => {
  const t = createTable();
  await t.commit(0, [...header(), add("a")], 1000);
  await t.commit(1, [add("b")], 2000);
  await t.commit(2, [add("c")], 3000);
  assert.equal((await loadSnapshot(t.storage, { timestampMs: 1000 })).version, 0);
  assert.equal((await loadSnapshot(t.storage, { timestampMs: 2500 })).version, 1);
  const at2 = await loadSnapshot(t.storage, { timestampMs: 2000 });
  assert.equal(at2.version, 1);
  assert.equal(at2.timestampMs, 2000);
  assert.equal(at2.files.length, 2);
  assert.equal((await loadSnapshot(t.storage, { timestampMs: 99_999 })).version, 2);
  await assert.rejects(
    loadSnapshot(t.storage, { timestampMs: 999 }),
    (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND") && e.message.includes("before"),
  );
});

Deno.test("time travel by timestamp prefers in-commit timestamps", async () => {
  const t = createTable();
  const ict = (ms: number): Action => ({
    commitInfo: { inCommitTimestamp: ms, operation: "WRITE" },
  });
  // File times are all equal and late; only the in-commit timestamps order the commits.
  await t.commit(
    0,
    [ict(100), ...header({ "delta.enableInCommitTimestamps": "true" }), add("a")],
    9000,
  );
  await t.commit(1, [ict(200), add("b")], 9000);
  await t.commit(2, [ict(300), add("c")], 9000);
  assert.equal(await versionAtTimestamp(t.storage, 250), 1);
  assert.equal(await versionAtTimestamp(t.storage, 300), 2);
  const s = await loadSnapshot(t.storage, { timestampMs: 199 });
  assert.equal(s.version, 0);
  assert.equal(s.timestampMs, 100);
  await assert.rejects(
    loadSnapshot(t.storage, { timestampMs: 99 }),
    (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND"),
  );
});

Deno.test("loadSnapshot by version and latest", async () => {
  const t = createTable();
  await t.commit(0, [...header(), add("a")], 1);
  await t.commit(1, [{ remove: { path: "a", dataChange: true } }, add("b")], 2);
  const latest = await loadSnapshot(t.storage);
  assert.equal(latest.version, 1);
  assert.deepEqual(latest.files.map((f) => f.path), ["b"]);
  assert.deepEqual(latest.tombstones.map((r) => r.path), ["a"]);
  const v0 = await loadSnapshot(t.storage, { version: 0 });
  assert.deepEqual(v0.files.map((f) => f.path), ["a"]);
  await assert.rejects(
    loadSnapshot(t.storage, { version: 2 }),
    (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND") && e.message.includes("version 2"),
  );
  await assert.rejects(loadSnapshot(createMemoryStorage()), TableNotFoundError);
});

Deno.test("readCommit reports missing and malformed commits", async () => {
  const t = createTable();
  await t.commit(0, [...header()], 1);
  await t.storage.put(commitPath(1), new TextEncoder().encode('{"add":{"path":"a"}}\n{oops\n'));
  assert.equal((await readCommit(t.storage, 0)).length, 2);
  await assert.rejects(
    readCommit(t.storage, 1),
    (e: unknown) =>
      e instanceof CorruptLogError && e.message === "Cannot read version 1: invalid JSON on line 2",
  );
  await assert.rejects(
    readCommit(t.storage, 5),
    (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND"),
  );
});

Deno.test("an unsupported protocol is refused at load", async () => {
  const t = createTable();
  await t.commit(0, [{
    protocol: {
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ["variantType"],
      writerFeatures: ["variantType"],
    },
  }, header()[1]!], 1);
  await assert.rejects(
    loadSnapshot(t.storage),
    (e: unknown) =>
      isLakestrikeError(e, "UNSUPPORTED_FEATURE") && e.message.includes("'variantType'"),
  );
});

Deno.test("loadHistory lists newest first with limit and version", async () => {
  const t = createTable();
  await t.commit(0, [{ commitInfo: { operation: "CREATE TABLE" } }, ...header()], 10);
  await t.commit(1, [{ commitInfo: { operation: "WRITE" } }, add("a")], 20);
  await t.commit(2, [add("b")], 30);
  const all = await loadHistory(t.storage);
  assert.deepEqual(all.map((h) => [h.version, h.timestampMs]), [[2, 30], [1, 20], [0, 10]]);
  assert.equal(all[0]!.commitInfo, undefined);
  assert.equal(all[1]!.commitInfo?.operation, "WRITE");
  const some = await loadHistory(t.storage, { limit: 1, version: 1 });
  assert.deepEqual(some.map((h) => h.version), [1]);
});

Deno.test("many versions load from the commits after the checkpoint only", async () => {
  // Without a checkpoint every commit is read; the reads run in parallel and stay in order.
  const t = createTable();
  await t.commit(0, [...header()], 1);
  for (let v = 1; v <= 300; v++) {
    await t.commit(v, [add(`f${v}`), { txn: { appId: "w", version: v } }], v + 1);
  }
  const s = await loadSnapshot(t.storage);
  assert.equal(s.version, 300);
  assert.equal(s.files.length, 300);
  assert.equal(s.files[0]?.path, "f1");
  assert.equal(s.files.at(-1)?.path, "f300");
  assert.equal(s.txns.get("w")?.version, 300);
});
