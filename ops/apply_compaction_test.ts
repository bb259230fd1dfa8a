import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createManualClock } from "../core/clock.ts";
import { createStorageLock } from "../core/lock/mod.ts";
import { commitActions } from "../core/log/commit.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createMemoryStorage, type MemoryStorage } from "../core/storage/memory.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { planTieredBins } from "../plugins/compaction/plan_tiered_bins.ts";
import { createPluginRegistry } from "../plugins/registry.ts";
import { type Plugin, PLUGIN_API_VERSION, type PluginContext } from "../plugins/types.ts";
import { applyCompaction } from "./apply_compaction.ts";
import { MaintenanceLockHeldError, maintenanceLockPath } from "./maintenance_lock.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
  ],
};
const clock = createManualClock(Date.UTC(2025, 0, 1));

/** `perRegion` single-row appends in each of eu and us, partitioned by region. */
async function table(perRegion: number, configuration: Record<string, string> = {}) {
  const storage = createMemoryStorage({ clock, location: "memory://lake/events" });
  let snapshot = await createTable(storage, {
    schema: SCHEMA,
    partitionColumns: ["region"],
    configuration,
    clock,
  });
  for (let i = 0; i < perRegion; i++) {
    for (const region of ["eu", "us"]) {
      const batch = createArrowTable(SCHEMA, [{ id: BigInt(i), region }]);
      const r = await appendBatch(storage, snapshot, batch, { clock });
      if (!r.ok) throw new Error(r.reason);
      snapshot = r.snapshot;
    }
  }
  return storage;
}

const locks = (storage: MemoryStorage) =>
  storage.snapshotPaths().filter((p) => p.startsWith("_lakestrike/locks/"));

Deno.test("applyCompaction: nothing to do takes no lease and writes nothing", async () => {
  const storage = await table(2);
  const before = storage.snapshotPaths();
  const r = await applyCompaction({ storage }, { clock });
  equal(r.status, "nothing_to_do");
  equal(r.compaction.plan.length, 0);
  equal(r.compaction.filesBefore, 4);
  deepEqual(storage.snapshotPaths(), before);
});

Deno.test("applyCompaction: compacts every partition under the lease, then releases it", async () => {
  const storage = await table(5);
  const r = await applyCompaction({ storage }, { clock });
  equal(r.status, "done");
  deepEqual(r.compaction.versions, [11]);
  equal(r.compaction.filesAfter, 2);
  equal(r.binsDeferred, 0);
  const lock = await createStorageLock(storage, maintenanceLockPath("compact"))
    .tryAcquire("next", 60_000);
  ok(lock, "the lease was released");
  await lock.release();
});

Deno.test("applyCompaction: a lease held elsewhere fails with MaintenanceLockHeldError", async () => {
  const storage = await table(5);
  const lease = await createStorageLock(storage, maintenanceLockPath("compact"))
    .tryAcquire("operator", 60_000);
  ok(lease);
  await rejects(applyCompaction({ storage }, { clock }), MaintenanceLockHeldError);
  equal((await loadSnapshot(storage)).files.length, 10);
  await lease.release();
});

Deno.test("applyCompaction: a dry run plans without the lease; partition filter; bins per run", async () => {
  const storage = await table(5);
  const objects = storage.snapshotPaths();
  const dry = await applyCompaction({ storage }, { clock, dryRun: true });
  equal(dry.status, "done");
  equal(dry.compaction.dryRun, true);
  equal(dry.compaction.plan.length, 2);
  deepEqual(storage.snapshotPaths(), objects);
  deepEqual(locks(storage), []);
  const us = await applyCompaction({ storage }, { clock, partitionFilter: { region: "us" } });
  deepEqual(us.compaction.plan.map((b) => b.partitionValues), [{ region: "us" }]);
  await rejects(
    applyCompaction({ storage }, { clock, partitionFilter: { nope: "x" } }),
    /'nope' is not a partition column/,
  );
  const storage2 = await table(5);
  const one = await applyCompaction({ storage: storage2 }, { clock, binsPerRunMax: 1 });
  equal(one.compaction.plan.length, 1);
  equal(one.binsDeferred, 1);
  equal((await applyCompaction({ storage: storage2 }, { clock })).compaction.plan.length, 1);
});

Deno.test("applyCompaction: the caller's planner is asked first with the limits; the built-in answers when it passes", async () => {
  const storage = await table(5);
  const seen: PluginContext[] = [];
  const onlyEu: Plugin = {
    name: "only-eu",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      planCompaction(snapshot, ctx) {
        seen.push(ctx);
        if (snapshot.files.some((f) => f.partitionValues.region === "us")) return undefined;
        return [];
      },
    },
  };
  const plugins = createPluginRegistry([onlyEu]).freeze();
  const r = await applyCompaction({ storage, name: "events" }, {
    plugins,
    clock,
    minFiles: 3,
    targetSizeBytes: 1 << 20,
    commitIntervalBins: 1,
  });
  equal(seen.length, 2, "planned on the latest state, then under the lease");
  for (const ctx of seen) {
    equal(ctx.operation, "compact");
    deepEqual(ctx.limits, { targetSizeBytes: 1 << 20, minFiles: 3, strategy: "binpack" });
    deepEqual(ctx.table, { name: "events", uri: "memory://lake/events" });
  }
  equal(r.compaction.versions.length, 2, "the built-in planned both partitions, one commit each");
  equal(r.compaction.filesAfter, 2);
  await rejects(
    applyCompaction({ storage }, { minFiles: 0 }),
    /minFiles must be a positive integer/,
  );
});

Deno.test("applyCompaction: an unreadable delta.targetFileSize is refused before any plugin runs", async () => {
  // Another engine's table: createTable would refuse the property, a metaData commit does not.
  const storage = await table(1);
  const snapshot = await loadSnapshot(storage);
  const configuration = { "delta.targetFileSize": "huge" };
  const r = await commitActions(storage, snapshot, {
    operation: "SET TBLPROPERTIES",
    actions: [{ metaData: { ...snapshot.metadata, configuration } }],
  });
  ok(r.ok);
  await rejects(
    applyCompaction({ storage }, { clock }),
    (e: Error) => e.name === "InvalidArgumentError" && /delta.targetFileSize/.test(e.message),
  );
});

Deno.test("applyCompaction: writes the checkpoint that falls due", async () => {
  const storage = await table(5, { "delta.checkpointInterval": "11" });
  const r = await applyCompaction({ storage }, { clock });
  deepEqual(r.compaction.versions, [11]);
  ok(storage.snapshotPaths().includes("_delta_log/00000000000000000011.checkpoint.parquet"));
});

Deno.test("applyCompaction: on the caller's stale snapshot, later appends stay and a later remove drops its bin", async () => {
  const storage = await table(5); // five one-row files in eu and in us
  const stale = await loadSnapshot(storage);
  // After the caller's snapshot: an append to eu, and a remove of one us file.
  const append = await appendBatch(
    storage,
    stale,
    createArrowTable(SCHEMA, [{ id: 99n, region: "eu" }]),
    { clock },
  );
  ok(append.ok);
  const gone = stale.files.find((f) => f.partitionValues.region === "us")!;
  const removed = await commitActions(storage, append.snapshot, {
    operation: "DELETE",
    actions: [{
      remove: { path: gone.path, deletionTimestamp: clock.nowMs(), dataChange: true },
    }],
  }, { clock });
  ok(removed.ok);
  const r = await applyCompaction({ storage }, { clock, minFiles: 2, snapshot: stale });
  equal(r.status, "done");
  equal(r.compaction.metrics.numBinsDroppedByConflict, 1, "the us bin lost a file");
  const after = await loadSnapshot(storage);
  const byRegion = (region: string) =>
    after.files.filter((f) => f.partitionValues.region === region).length;
  equal(byRegion("eu"), 2, "the compacted eu file and the append after the snapshot");
  equal(byRegion("us"), 4, "the us bin was dropped: four files left by the delete");
});

Deno.test("applyCompaction: a tiered run rewrites and commits its cheapest bins first", async () => {
  const storage = await table(0);
  let snapshot = await loadSnapshot(storage);
  // eu: ten files of 100 rows (one bin of 1,000 rows); us: ten of one row (one bin of 10 rows).
  // The plan lists eu's bin first (eu's files came first); the run commits us's first.
  for (const [region, rows] of [["eu", 100], ["us", 1]] as const) {
    for (let i = 0; i < 10; i++) {
      const batch = createArrowTable(
        SCHEMA,
        Array.from({ length: rows }, (_, j) => ({ id: BigInt(i * rows + j), region })),
      );
      const r = await appendBatch(storage, snapshot, batch, { clock });
      if (!r.ok) throw new Error(r.reason);
      snapshot = r.snapshot;
    }
  }
  const r = await applyCompaction({ storage }, {
    clock,
    strategy: "tiered",
    commitIntervalBins: 1,
    readAmplificationMax: Infinity,
  });
  equal(r.status, "done");
  equal(r.compaction.versions.length, 2);
  deepEqual(
    planTieredBins(snapshot, { readAmplificationMax: Infinity })
      .map((b) => b.partitionValues.region),
    ["eu", "us"],
  );
  deepEqual(r.compaction.plan.map((b) => b.partitionValues.region), ["us", "eu"]);
  const removed = async (version: number) => {
    const text = new TextDecoder().decode(
      await storage.get(`_delta_log/${String(version).padStart(20, "0")}.json`),
    );
    return [
      ...new Set(
        text.split("\n").filter((l) => l.includes('"remove"')).map((l) =>
          JSON.parse(l).remove.partitionValues.region
        ),
      ),
    ];
  };
  deepEqual(await removed(r.compaction.versions[0]!), ["us"]);
  deepEqual(await removed(r.compaction.versions[1]!), ["eu"]);
  // A read budget bound below 1 is refused before anything is planned or written.
  const before = storage.snapshotPaths();
  await rejects(
    applyCompaction({ storage }, { clock, strategy: "tiered", readAmplificationMax: 0.5 }),
    /readAmplificationMax must be a number >= 1, got 0.5/,
  );
  deepEqual(storage.snapshotPaths(), before);
});
