import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { createManualClock } from "../clock.ts";
import { loadSnapshot } from "../snapshot/load_snapshot.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { createTable } from "../write/create_table.ts";
import { commitActions } from "./commit.ts";
import { buildCheckpointTable, writeCheckpoint } from "./checkpoint_write.ts";
import { writeParquetFile } from "../parquet/write_parquet_file.ts";
import { cleanupExpiredLogs, maybeCleanupLogs } from "./log_cleanup.ts";
import { classicCheckpointPath, commitPath } from "./paths.ts";

const DAY = 86_400_000;
const schema = {
  type: "struct" as const,
  fields: [{ name: "x", type: "long" as const, nullable: true, metadata: {} }],
};

/** A table with one commit per day for `days` days and a checkpoint every `every` versions. */
async function dailyTable(days: number, every: number, configuration: Record<string, string> = {}) {
  const clock = createManualClock(Date.UTC(2025, 0, 1, 12));
  const storage = createMemoryStorage({ clock });
  let snap: Snapshot = await createTable(storage, { schema, clock, configuration });
  for (let d = 1; d <= days; d++) {
    clock.advance(DAY);
    const add = {
      path: `part-${d}.parquet`,
      partitionValues: {},
      size: 1,
      modificationTime: clock.nowMs(),
      dataChange: true,
    };
    const r = await commitActions(storage, snap, { operation: "WRITE", actions: [{ add }] }, {
      clock,
    });
    assert.ok(r.ok);
    snap = r.snapshot;
    if (snap.version % every === 0) await writeCheckpoint(storage, snap, { clock });
    await storage.put(
      `_delta_log/${String(snap.version).padStart(20, "0")}.crc`,
      new Uint8Array(1),
    );
  }
  return { clock, storage, snap };
}

Deno.test("cleanupExpiredLogs deletes only below the newest checkpoint older than the retention", async () => {
  // Versions 0..40, one a day; checkpoints at 10, 20, 30, 40; now = day 40 (+12h).
  const { clock, storage, snap } = await dailyTable(40, 10);
  const dry = await cleanupExpiredLogs(storage, snap, { clock, dryRun: true });
  // cutoff = midnight of day 10 (40 - 30): commits 0..9 are older; checkpoint 10 was written at
  // day 10 noon, after the cutoff midnight, so the newest qualifying checkpoint is... none.
  assert.equal(dry.skipped, "no_checkpoint");
  clock.advance(DAY); // cutoff = midnight of day 11: checkpoint 10 qualifies
  const r = await cleanupExpiredLogs(storage, snap, { clock });
  assert.equal(r.checkpointVersion, 10);
  for (let v = 0; v < 10; v++) {
    assert.ok(r.files.includes(commitPath(v)), `commit ${v} deleted`);
    assert.equal(await storage.head(commitPath(v)), undefined);
  }
  assert.ok(r.files.includes("_delta_log/00000000000000000009.crc"));
  assert.ok(!r.files.includes("_delta_log/00000000000000000010.crc"));
  assert.ok(await storage.head(commitPath(10)), "the checkpoint's commit is kept");
  assert.ok(await storage.head(classicCheckpointPath(10)), "the checkpoint is kept");
  assert.ok(await storage.head("_delta_log/_last_checkpoint"));
  // The table still loads at the latest version, and at every version from the checkpoint on.
  const latest = await loadSnapshot(storage);
  assert.equal(latest.version, 40);
  assert.equal(latest.files.length, 40);
  for (const v of [10, 11, 25, 39]) {
    assert.equal((await loadSnapshot(storage, { version: v })).version, v);
  }
  await assert.rejects(loadSnapshot(storage, { version: 9 }));
  // Idempotent: nothing left below the checkpoint.
  const again = await cleanupExpiredLogs(storage, latest, { clock });
  assert.deepEqual(again.files, []);
});

Deno.test("cleanupExpiredLogs: later checkpoints move the cutoff; older checkpoints go too", async () => {
  const { clock, storage, snap } = await dailyTable(40, 10);
  clock.advance(25 * DAY); // now day 65: cutoff midnight of day 35 -> checkpoint 30
  const r = await cleanupExpiredLogs(storage, snap, { clock });
  assert.equal(r.checkpointVersion, 30);
  assert.ok(r.files.includes(classicCheckpointPath(10)));
  assert.ok(r.files.includes(classicCheckpointPath(20)));
  assert.ok(!r.files.includes(classicCheckpointPath(30)));
  assert.ok(!r.files.some((p) => p.endsWith(`${"0".repeat(18)}30.json`)));
  assert.equal((await loadSnapshot(storage)).version, 40);
});

Deno.test("cleanupExpiredLogs never deletes without a checkpoint, and honours the table property", async () => {
  const { clock, storage, snap } = await dailyTable(12, 1000);
  clock.advance(400 * DAY);
  const r = await cleanupExpiredLogs(storage, snap, { clock });
  assert.equal(r.skipped, "no_checkpoint");
  assert.equal(
    (await storage.list("_delta_log/")).filter((m) => m.path.endsWith(".json")).length,
    13,
  );

  const off = await dailyTable(40, 10, { "delta.enableExpiredLogCleanup": "false" });
  off.clock.advance(400 * DAY);
  assert.equal(
    (await cleanupExpiredLogs(off.storage, off.snap, { clock: off.clock })).skipped,
    "disabled",
  );
  const m = await maybeCleanupLogs(off.storage, off.snap, { clock: off.clock });
  assert.equal(m.ran, false);
  assert.ok(await off.storage.head(commitPath(0)));
});

Deno.test("cleanupExpiredLogs honours delta.logRetentionDuration and refuses an unreadable checkpoint", async () => {
  const { clock, storage, snap } = await dailyTable(20, 10, {
    "delta.logRetentionDuration": "interval 2 days",
  });
  clock.advance(DAY);
  // Break checkpoint 20; checkpoint 10 qualifies only if 20 is skipped, but 20 is the newest.
  await storage.put(classicCheckpointPath(20), new Uint8Array([1, 2, 3]));
  clock.advance(3 * DAY);
  const r = await cleanupExpiredLogs(storage, snap, { clock, dryRun: true });
  assert.equal(r.skipped, "checkpoint_unreadable");
  const m = await maybeCleanupLogs(storage, snap, { clock });
  assert.ok(m.ran && m.result.files.length === 0);
});

const SIDECAR_TYPE = new arrow.Struct([
  new arrow.Field("path", new arrow.Utf8()),
  new arrow.Field("sizeInBytes", new arrow.Int64()),
  new arrow.Field("modificationTime", new arrow.Int64()),
]);

/**
 * Write a classic-NAMED checkpoint of `snap` that follows the V2 spec: its rows are `protocol`,
 * `metaData` and one `sidecar` per reference in `refs`. When `sidecarPath` is given, the
 * snapshot's file actions are written there as the sidecar.
 */
async function writeClassicV2Checkpoint(
  storage: ReturnType<typeof createMemoryStorage>,
  snap: Snapshot,
  nowMs: number,
  refs: string[],
  sidecarPath?: string,
) {
  const full = buildCheckpointTable(snap, nowMs);
  if (sidecarPath !== undefined) {
    await storage.put(
      sidecarPath,
      writeParquetFile(full.select(["add", "remove"]), { compression: "snappy" }),
    );
  }
  const protoCol = full.getChild("protocol")!;
  const metaCol = full.getChild("metaData")!;
  const pm: unknown[] = [], mm: unknown[] = [], sc: unknown[] = [];
  for (let i = 0; i < full.numRows; i++) {
    const p = protoCol.get(i), m = metaCol.get(i);
    if (p) pm.push(p.toJSON()), mm.push(null), sc.push(null);
    if (m) pm.push(null), mm.push(m.toJSON()), sc.push(null);
  }
  for (const path of refs) {
    pm.push(null), mm.push(null), sc.push({ path, sizeInBytes: 1n, modificationTime: 0n });
  }
  const field = (n: string) => full.schema.fields.find((f) => f.name === n)!.type;
  const t = new arrow.Table({
    protocol: arrow.vectorFromArray(pm, field("protocol")),
    metaData: arrow.vectorFromArray(mm, field("metaData")),
    sidecar: arrow.vectorFromArray(sc, SIDECAR_TYPE),
  });
  await storage.put(
    classicCheckpointPath(snap.version),
    writeParquetFile(t, { compression: "snappy" }),
  );
}

/**
 * v0 create, v1 add, v2 empty + a classic-named V2 checkpoint referring to `ref` (whose file is
 * `sidecarPath`), an old orphan sidecar; 40 days later v3 (+ optionally a checkpoint at v3
 * referring to `laterRef`).
 */
async function classicV2Table(
  ref: string,
  sidecarPath: string,
  laterRef?: string,
  extraSidecars: string[] = [],
) {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snap: Snapshot = await createTable(storage, { schema, clock });
  const commit = async (actions: Parameters<typeof commitActions>[2]["actions"]) => {
    const r = await commitActions(storage, snap, { operation: "WRITE", actions }, { clock });
    assert.ok(r.ok);
    snap = r.snapshot;
  };
  const add = {
    path: "A.parquet",
    partitionValues: {},
    size: 10,
    modificationTime: clock.nowMs(),
    dataChange: true,
  };
  await commit([{ add }]);
  await commit([]);
  await writeClassicV2Checkpoint(storage, snap, clock.nowMs(), [ref], sidecarPath);
  await storage.put("_delta_log/_sidecars/orphan.parquet", new Uint8Array(3));
  for (const p of extraSidecars) await storage.put(p, new Uint8Array(3));
  clock.advance(40 * DAY);
  await commit([]);
  if (laterRef !== undefined) {
    await writeClassicV2Checkpoint(storage, snap, clock.nowMs(), [laterRef]);
  }
  // With a later checkpoint, the snapshot of v3 as committed (the later checkpoint may not load).
  return { clock, storage, snap: laterRef === undefined ? await loadSnapshot(storage) : snap };
}

Deno.test("cleanupExpiredLogs keeps the sidecars of a classic-named V2 checkpoint", async () => {
  const { clock, storage, snap } = await classicV2Table(
    "sc-1.parquet",
    "_delta_log/_sidecars/sc-1.parquet",
  );
  assert.deepEqual(snap.checkpointUsed, { version: 2, kind: "classic", parts: 1 });
  const r = await cleanupExpiredLogs(storage, snap, { clock });
  assert.equal(r.checkpointVersion, 2);
  assert.deepEqual(r.files, [
    commitPath(0),
    commitPath(1),
    "_delta_log/_sidecars/orphan.parquet",
  ]);
  assert.ok(await storage.head("_delta_log/_sidecars/sc-1.parquet"));
  const after = await loadSnapshot(storage);
  assert.deepEqual(after.files.map((f) => f.path), ["A.parquet"]);
});

Deno.test("cleanupExpiredLogs resolves sidecar references like the checkpoint reader", async () => {
  // A reference with '/' is a path from the table root; an encoded one is read as written.
  for (
    const [ref, path] of [
      ["_delta_log/_sidecars/sc-1.parquet", "_delta_log/_sidecars/sc-1.parquet"],
      ["sc%201.parquet", "_delta_log/_sidecars/sc%201.parquet"],
    ]
  ) {
    const { clock, storage, snap } = await classicV2Table(ref!, path!, undefined, [
      "_delta_log/_sidecars/sc 1.parquet",
    ]);
    const r = await cleanupExpiredLogs(storage, snap, { clock });
    assert.equal(r.checkpointVersion, 2, ref);
    assert.ok(!r.files.includes(path!), ref);
    // The decoded name of an encoded reference is kept too (another reader may decode it).
    assert.equal(
      r.files.includes("_delta_log/_sidecars/sc 1.parquet"),
      !ref!.includes("%"),
      ref,
    );
    assert.ok(r.files.includes("_delta_log/_sidecars/orphan.parquet"), ref);
    assert.deepEqual((await loadSnapshot(storage)).files.map((f) => f.path), ["A.parquet"], ref);
  }
});

Deno.test("cleanupExpiredLogs keeps every sidecar when a reference resolves outside _sidecars", async () => {
  for (
    const laterRef of [
      "s3://elsewhere/tbl/_delta_log/_sidecars/orphan.parquet",
      "_delta_log/_sidecars/../_sidecars/orphan.parquet",
      "other/orphan.parquet",
      "/_delta_log/_sidecars/orphan.parquet",
    ]
  ) {
    const { clock, storage, snap } = await classicV2Table(
      "sc-1.parquet",
      "_delta_log/_sidecars/sc-1.parquet",
      laterRef,
    );
    const r = await cleanupExpiredLogs(storage, snap, { clock });
    assert.equal(r.checkpointVersion, 2, laterRef);
    assert.deepEqual(r.files, [commitPath(0), commitPath(1)], laterRef);
    assert.ok(await storage.head("_delta_log/_sidecars/orphan.parquet"), laterRef);
    assert.ok(await storage.head("_delta_log/_sidecars/sc-1.parquet"), laterRef);
  }
});

Deno.test("maybeCleanupLogs lists the log once per cutoff: again only when the cutoff moves", async () => {
  // Checkpoints at 10 and 20, one commit a day; cutoff = now - 30 days, at UTC midnight.
  const { clock, storage, snap } = await dailyTable(40, 10);
  let lists = 0;
  const counting = {
    ...storage,
    list: (...args: Parameters<typeof storage.list>) => {
      lists++;
      return storage.list(...args);
    },
  };
  // No checkpoint older than the cutoff yet: done for this cutoff, nothing deleted.
  const first = await maybeCleanupLogs(counting, snap, { clock });
  assert.ok(first.ran && first.result.skipped === "no_checkpoint");
  const listed = lists;
  clock.advance(3_600_000); // an hour later, the same cutoff: no listing
  assert.deepEqual(await maybeCleanupLogs(counting, snap, { clock }), {
    ran: false,
    reason: "done_for_cutoff",
  });
  assert.equal(lists, listed);
  clock.advance(DAY); // the cutoff moved past checkpoint 10: the commits below it go
  const next = await maybeCleanupLogs(counting, snap, { clock });
  assert.ok(next.ran && next.result.checkpointVersion === 10);
  assert.ok(next.result.files.includes(commitPath(0)));
  assert.equal(await storage.head(commitPath(0)), undefined);
  assert.ok(lists > listed);
});
