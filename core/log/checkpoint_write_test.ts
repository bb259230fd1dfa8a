import assert from "node:assert/strict";
import type * as arrow from "apache-arrow";
import fc from "fast-check";
import { createManualClock } from "../clock.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import type { Action } from "./actions.ts";
import {
  buildCheckpointTable,
  CHECKPOINT_BATCH_ROWS,
  createCheckpointCache,
  unexpiredTombstones,
  writeCheckpoint,
} from "./checkpoint_write.ts";
import { parseParquetCheckpoint } from "./checkpoint_read.ts";
import { LAST_CHECKPOINT_PATH } from "./paths.ts";
import { applyActions, applyCommitToSnapshot, createReplayState, finishReplay } from "./replay.ts";
import { txnVersion } from "../snapshot/txn.ts";

const DAY = 86_400_000;

function snapshotOf(
  version: number,
  actions: Action[],
  configuration: Record<string, string> = {},
) {
  const state = createReplayState();
  applyActions(state, version, [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: "t",
        format: { provider: "parquet" },
        partitionColumns: ["p"],
        configuration,
        schemaString:
          '{"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}},{"name":"x","type":"long","nullable":true,"metadata":{}}]}',
      },
    },
    ...actions,
  ]);
  return finishReplay(state, { timestampMs: 0 });
}

const add = (path: string, p: string | null): Action => ({
  add: {
    path,
    partitionValues: { p },
    size: 10,
    modificationTime: 5,
    dataChange: true,
    stats: '{"numRecords":1}',
    tags: { k: "v" },
  },
});

Deno.test("unexpiredTombstones: keeps removes inside delta.deletedFileRetentionDuration", () => {
  const now = 100 * DAY;
  const s = snapshotOf(3, [
    { remove: { path: "old", deletionTimestamp: now - 8 * DAY, dataChange: true } },
    { remove: { path: "new", deletionTimestamp: now - 6 * DAY, dataChange: true } },
    { remove: { path: "unknown", dataChange: true } },
  ]);
  assert.deepEqual(unexpiredTombstones(s, now).map((r) => r.path), ["new"]);
  const short = snapshotOf(3, [
    { remove: { path: "new", deletionTimestamp: now - 6 * DAY, dataChange: true } },
  ], { "delta.deletedFileRetentionDuration": "interval 1 days" });
  assert.deepEqual(unexpiredTombstones(short, now), []);
});

Deno.test("writeCheckpoint: the Parquet file decodes back to the snapshot's actions", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(10 * DAY);
  const s = snapshotOf(7, [
    add("p=a/1.parquet", "a"),
    add("p=__HIVE_DEFAULT_PARTITION__/2 #.parquet", null),
    { txn: { appId: "edge", version: 4, lastUpdated: 9 } },
    { domainMetadata: { domain: "app.x", configuration: "{}", removed: false } },
    {
      remove: {
        path: "p=a/0.parquet",
        deletionTimestamp: 10 * DAY - 1,
        dataChange: true,
        partitionValues: { p: "a" },
        size: 3,
      },
    },
  ]);
  const written = await writeCheckpoint(storage, s, { clock });
  assert.equal(written.path, "_delta_log/00000000000000000007.checkpoint.parquet");
  assert.equal(written.size, 7);
  assert.equal(written.numOfAddFiles, 2);
  const table = buildCheckpointTable(s, clock.nowMs());
  assert.deepEqual(table.schema.fields.map((f) => f.name), [
    "txn",
    "add",
    "remove",
    "metaData",
    "protocol",
    "domainMetadata",
  ]);
  const actions = await parseParquetCheckpoint(await storage.get(written.path), "cp");
  const adds = actions.flatMap((a) => ("add" in a ? [a.add] : []));
  assert.deepEqual(adds.map((a) => a.path).sort(), s.files.map((f) => f.path).sort());
  const second = adds.find((a) => a.path.endsWith("2 #.parquet"))!;
  assert.deepEqual(second.partitionValues, { p: null });
  assert.deepEqual(second.tags, { k: "v" });
  assert.equal(second.stats, '{"numRecords":1}');
  const removes = actions.flatMap((a) => ("remove" in a ? [a.remove] : []));
  assert.equal(removes.length, 1);
  assert.equal(removes[0]!.dataChange, false);
  assert.equal(removes[0]!.extendedFileMetadata, true);
  assert.equal(removes[0]!.size, 3);
  const txn = actions.find((a) => "txn" in a);
  assert.deepEqual(txn, { txn: { appId: "edge", version: 4, lastUpdated: 9 } });
  assert.ok(actions.some((a) => "domainMetadata" in a && a.domainMetadata.domain === "app.x"));
  const last = JSON.parse(new TextDecoder().decode(await storage.get(LAST_CHECKPOINT_PATH)));
  assert.deepEqual(last, {
    version: 7,
    size: 7,
    sizeInBytes: written.sizeInBytes,
    numOfAddFiles: 2,
  });
});

Deno.test("writeCheckpoint: never moves _last_checkpoint back to an older version", async () => {
  const storage = createMemoryStorage();
  await writeCheckpoint(storage, snapshotOf(20, []));
  const older = await writeCheckpoint(storage, snapshotOf(10, []));
  assert.equal(older.lastCheckpointUpdated, false);
  const last = JSON.parse(new TextDecoder().decode(await storage.get(LAST_CHECKPOINT_PATH)));
  assert.equal(last.version, 20);
  assert.ok(await storage.head("_delta_log/00000000000000000010.checkpoint.parquet"));
});

Deno.test("writeCheckpoint: drops txns older than delta.setTransactionRetentionDuration", async () => {
  const now = 100 * DAY;
  const txns: Action[] = [
    { txn: { appId: "gone", version: 3, lastUpdated: now - 2 * DAY } },
    { txn: { appId: "at-horizon", version: 5, lastUpdated: now - DAY } },
    { txn: { appId: "live", version: 7, lastUpdated: now - DAY + 1 } },
    { txn: { appId: "no-lastUpdated", version: 1 } },
  ];
  const appIdsIn = async (configuration: Record<string, string>) => {
    const storage = createMemoryStorage();
    const s = snapshotOf(9, txns, configuration);
    const written = await writeCheckpoint(storage, s, { clock: createManualClock(now) });
    const actions = await parseParquetCheckpoint(await storage.get(written.path), "cp");
    const kept = actions.flatMap((a) => ("txn" in a ? [a.txn] : []));
    // A checkpoint never changes what a writer is told about an application.
    const reread = { ...s, txns: new Map(kept.map((t) => [t.appId, t])) };
    for (const id of ["gone", "at-horizon", "live", "no-lastUpdated"]) {
      assert.equal(txnVersion(reread, id, now), txnVersion(s, id, now), id);
    }
    return kept.map((t) => t.appId).sort();
  };
  assert.deepEqual(
    await appIdsIn({ "delta.setTransactionRetentionDuration": "interval 1 days" }),
    ["live", "no-lastUpdated"],
  );
  // Without the property (Spark's default) no txn expires; nor with a value that cannot be used.
  const all = ["at-horizon", "gone", "live", "no-lastUpdated"];
  assert.deepEqual(await appIdsIn({}), all);
  assert.deepEqual(
    await appIdsIn({ "delta.setTransactionRetentionDuration": "interval -1 days" }),
    all,
  );
});

Deno.test("writeCheckpoint: thousands of tombstones, built in batches with event-loop turns between, decode back", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(10 * DAY);
  const n = CHECKPOINT_BATCH_ROWS * 2 + 321;
  const s = snapshotOf(9, [
    add("p=a/live.parquet", "a"),
    ...Array.from({ length: n }, (_, i): Action => ({
      remove: {
        path: `p=a/${i}.parquet`,
        deletionTimestamp: 10 * DAY - i,
        dataChange: true,
        partitionValues: { p: i % 3 === 0 ? null : "a" },
        size: i,
      },
    })),
  ]);
  // A timer set before the checkpoint fires while it is built (the build yields between batches).
  let timerFired = false;
  let builtBeforeTimer = false;
  setTimeout(() => {
    timerFired = true;
  }, 0);
  const written = writeCheckpoint(storage, s, { clock }).then((w) => {
    builtBeforeTimer = !timerFired;
    return w;
  });
  const w = await written;
  assert.equal(builtBeforeTimer, false, "the event loop had a turn during the build");
  assert.equal(w.size, n + 3);
  const table = buildCheckpointTable(s, clock.nowMs());
  // protocol and metaData; the add; the removes in three batches.
  assert.equal(table.batches.length, 5);
  const actions = await parseParquetCheckpoint(await storage.get(w.path), "cp");
  const removes = actions.flatMap((a) => ("remove" in a ? [a.remove] : []));
  assert.equal(removes.length, n);
  const byPath = new Map(removes.map((r) => [r.path, r]));
  for (const i of [0, 1, CHECKPOINT_BATCH_ROWS - 1, CHECKPOINT_BATCH_ROWS, n - 1]) {
    const r = byPath.get(`p=a/${i}.parquet`)!;
    assert.equal(r.size, i);
    assert.equal(r.deletionTimestamp, 10 * DAY - i);
    assert.deepEqual(r.partitionValues, { p: i % 3 === 0 ? null : "a" });
  }
  assert.deepEqual(
    actions.flatMap((a) => ("add" in a ? [a.add.path] : [])),
    ["p=a/live.parquet"],
  );
});

/** The rows of a checkpoint table as JSON text, in order. */
function rowsOf(table: arrow.Table): string[] {
  return table.toArray().map((row) =>
    JSON.stringify(row, (_, v) => {
      if (typeof v === "bigint") return `${v}n`;
      if (v instanceof Map) return [...v.entries()];
      if (v !== null && typeof v === "object" && typeof v.toJSON === "function") return v.toJSON();
      return v;
    })
  );
}

Deno.test("buildCheckpointTable: with a cache, the next version reuses the batches of unchanged actions", () => {
  const cache = createCheckpointCache(4);
  const v0 = snapshotOf(1, [
    add("p=a/live.parquet", "a"),
    ...Array.from({ length: 10 }, (_, i): Action => ({
      remove: { path: `p=a/${i}.parquet`, deletionTimestamp: 5 * DAY, dataChange: true },
    })),
  ]);
  const first = buildCheckpointTable(v0, 5 * DAY, cache);
  const v1 = applyCommitToSnapshot(v0, 2, [
    { remove: { path: "p=a/live.parquet", deletionTimestamp: 5 * DAY, dataChange: true } },
    add("p=a/new.parquet", "a"),
  ], 0);
  const second = buildCheckpointTable(v1, 5 * DAY, cache);
  // Tombstones 0-3 and 4-7 are the same batch objects; the add and the tail are new.
  const reused = second.batches.filter((b) => first.batches.includes(b));
  assert.equal(reused.length, 2);
  assert.deepEqual(rowsOf(second), rowsOf(buildCheckpointTable(v1, 5 * DAY)));
});

Deno.test("property: checkpoints built with a cache across versions equal those built without", () => {
  // Versions that add files, remove active ones, add back removed ones, toggle a domain, and move
  // time so that tombstones expire (retention one day).
  const step = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("add" as const), n: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant("remove" as const), n: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant("domain" as const), on: fc.boolean() }),
      fc.record({ kind: fc.constant("time" as const), hours: fc.integer({ min: 1, max: 12 }) }),
    ),
    { minLength: 1, maxLength: 12 },
  );
  fc.assert(
    fc.property(fc.array(step, { minLength: 2, maxLength: 8 }), fc.integer({ min: 1, max: 7 }), (
      versions,
      batchRows,
    ) => {
      const cache = createCheckpointCache(batchRows);
      let now = 10 * DAY;
      let s = snapshotOf(0, [], { "delta.deletedFileRetentionDuration": "interval 1 days" });
      versions.forEach((ops, i) => {
        const actions: Action[] = [];
        for (const op of ops) {
          if (op.kind === "time") now += op.hours * 3_600_000;
          else if (op.kind === "domain") {
            actions.push({
              domainMetadata: { domain: "d", configuration: "{}", removed: !op.on },
            });
          } else if (op.kind === "add") actions.push(add(`p=a/${op.n}.parquet`, "a"));
          else {
            actions.push({
              remove: { path: `p=a/${op.n}.parquet`, deletionTimestamp: now, dataChange: true },
            });
          }
        }
        s = applyCommitToSnapshot(s, i + 1, actions, now);
        const cached = buildCheckpointTable(s, now, cache);
        assert.deepEqual(rowsOf(cached), rowsOf(buildCheckpointTable(s, now)));
      });
    }),
    { numRuns: 60 },
  );
});
