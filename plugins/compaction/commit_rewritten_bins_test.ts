import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createManualClock } from "../../core/clock.ts";
import { commitActions } from "../../core/log/commit.ts";
import { commitPath } from "../../core/log/paths.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import type { StructType } from "../../core/schema/types.ts";
import { loadSnapshot, readCommit } from "../../core/snapshot/load_snapshot.ts";
import { createMemoryStorage, type StorageFaults } from "../../core/storage/memory.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { appendBatch, createTable } from "../../core/write/mod.ts";
import { commitRewrittenBins } from "./commit_rewritten_bins.ts";
import { rewriteBin, type RewrittenBin } from "./rewrite_bin.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
  ],
};
const TARGET = 1 << 30;
const clock = createManualClock(1_000_000);

/** Three single-row files in each of the regions eu and us, each bin rewritten (not committed). */
async function rewritten(faults?: StorageFaults) {
  const storage = createMemoryStorage({ clock, ...(faults ? { faults } : {}) });
  let snapshot = await createTable(storage, { schema, partitionColumns: ["region"], clock });
  for (let i = 0; i < 3; i++) {
    for (const region of ["eu", "us"]) {
      const batch = createArrowTable(schema, [{ id: BigInt(i), region }]);
      const r = await appendBatch(storage, snapshot, batch, { clock });
      if (!r.ok) throw new Error(r.reason);
      snapshot = r.snapshot;
    }
  }
  const bins: RewrittenBin[] = [];
  for (const region of ["eu", "us"]) {
    const files = snapshot.files.filter((f) => f.partitionValues.region === region);
    bins.push(
      await rewriteBin(storage, snapshot, { partitionValues: { region }, files }, {
        targetSizeBytes: TARGET,
      }),
    );
  }
  return { storage, snapshot, bins };
}

const newPaths = (bins: RewrittenBin[]) => bins.flatMap((b) => b.adds.map((a) => a.path));

function present(storage: ObjectStorage & { snapshotPaths(): string[] }, paths: string[]) {
  const all = new Set(storage.snapshotPaths());
  return paths.filter((p) => all.has(p));
}

Deno.test("commitRewrittenBins: one OPTIMIZE commit swaps every bin's files, dataChange false", async () => {
  const { storage, snapshot, bins } = await rewritten();
  const r = await commitRewrittenBins(storage, snapshot, bins, {
    targetSizeBytes: TARGET,
    partitionFilter: { region: "eu" },
    clock,
  });
  equal(r.version, snapshot.version + 1);
  deepEqual(r.committed, bins);
  deepEqual(r.dropped, []);
  deepEqual(r.snapshot.files.map((f) => f.path).sort(), newPaths(bins).sort());
  const actions = await readCommit(storage, r.version!);
  const info = actions.flatMap((a) => ("commitInfo" in a ? [a.commitInfo] : []))[0]!;
  equal(info.operation, "OPTIMIZE");
  deepEqual(info.operationParameters, {
    predicate: JSON.stringify(["region = 'eu'"]),
    zOrderBy: "[]",
    auto: false,
    targetSize: String(TARGET),
  });
  equal((info.operationMetrics as Record<string, unknown>).numRemovedFiles, "6");
  const removes = actions.flatMap((a) => ("remove" in a ? [a.remove] : []));
  equal(removes.length, 6);
  ok(removes.every((x) => x.dataChange === false && x.deletionTimestamp === clock.nowMs()));
  const adds = actions.flatMap((a) => ("add" in a ? [a.add] : []));
  equal(adds.length, 2);
  ok(adds.every((x) => x.dataChange === false));
});

Deno.test("commitRewrittenBins: a bin whose input a concurrent commit removed is dropped, its files deleted", async () => {
  const { storage, snapshot, bins } = await rewritten();
  const victim = bins[0]!.bin.files[1]!;
  const del = await commitActions(storage, snapshot, {
    operation: "DELETE",
    actions: [{ remove: { path: victim.path, dataChange: true, deletionTimestamp: 1 } }],
  });
  ok(del.ok);
  // The caller knows only `snapshot`: the first round loses to the DELETE, the second drops bin 0.
  const r = await commitRewrittenBins(storage, snapshot, bins, { targetSizeBytes: TARGET, clock });
  deepEqual(r.dropped, [bins[0]]);
  deepEqual(r.committed, [bins[1]]);
  equal(r.version, del.version + 1);
  deepEqual(present(storage, newPaths([bins[0]!])), [], "the dropped bin's files are gone");
  deepEqual(present(storage, newPaths([bins[1]!])), newPaths([bins[1]!]));
  const after = await loadSnapshot(storage);
  equal(after.files.filter((f) => f.partitionValues.region === "eu").length, 2, "no row re-added");
  equal(after.files.filter((f) => f.partitionValues.region === "us").length, 1);
});

Deno.test("commitRewrittenBins: every bin gone leaves the table as it is", async () => {
  const { storage, snapshot, bins } = await rewritten();
  const removes = bins.map((b) => ({
    remove: { path: b.bin.files[0]!.path, dataChange: true, deletionTimestamp: 1 },
  }));
  const del = await commitActions(storage, snapshot, { operation: "DELETE", actions: removes });
  ok(del.ok);
  const r = await commitRewrittenBins(storage, del.snapshot, bins, { targetSizeBytes: TARGET });
  equal(r.version, undefined);
  equal(r.snapshot, del.snapshot);
  equal(r.dropped.length, 2);
  deepEqual(present(storage, newPaths(bins)), []);
  equal((await loadSnapshot(storage)).version, del.version);
});

Deno.test("commitRewrittenBins: a metadata change fails the commit and deletes the new files", async () => {
  const { storage, snapshot, bins } = await rewritten();
  const meta = await commitActions(storage, snapshot, {
    operation: "SET TBLPROPERTIES",
    actions: [{ metaData: { ...snapshot.metadata, configuration: { a: "b" } } }],
  });
  ok(meta.ok);
  await rejects(
    commitRewrittenBins(storage, snapshot, bins, { targetSizeBytes: TARGET }),
    (e: Error) => (e as { code?: string }).code === "COMMIT_FAILED",
  );
  deepEqual(present(storage, newPaths(bins)), []);
});

Deno.test("commitRewrittenBins: a commit that throws keeps the new files (its outcome is unknown)", async () => {
  const fail: { on?: string } = {};
  const { storage, snapshot, bins } = await rewritten({
    before(op, path) {
      if (op === "put" && path === fail.on) throw new Error("connection reset");
    },
  });
  fail.on = commitPath(snapshot.version + 1);
  await rejects(
    commitRewrittenBins(storage, snapshot, bins, { targetSizeBytes: TARGET }),
    /connection reset/,
  );
  deepEqual(present(storage, newPaths(bins)), newPaths(bins));
});

Deno.test("commitRewrittenBins: gives up after conflictRetriesMax rounds, deleting the files", async () => {
  const { storage, snapshot, bins } = await rewritten();
  // An append takes the next version: with one attempt per commit, the round ends in max_attempts.
  const batch = createArrowTable(schema, [{ id: 9n, region: "eu" }]);
  const append = await appendBatch(storage, snapshot, batch, { clock });
  ok(append.ok);
  await rejects(
    commitRewrittenBins(storage, snapshot, bins, {
      targetSizeBytes: TARGET,
      conflictRetriesMax: 0,
      commitAttemptsMax: 1,
    }),
    /Cannot commit compaction: gave up after 1 rounds/,
  );
  deepEqual(present(storage, newPaths(bins)), []);
  equal((await loadSnapshot(storage)).version, append.version);
});
