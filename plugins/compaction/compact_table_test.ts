import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import fc from "fast-check";
import { createManualClock } from "../../core/clock.ts";
import type { Add, Remove } from "../../core/log/actions.ts";
import { commitActions } from "../../core/log/commit.ts";
import { commitPath } from "../../core/log/paths.ts";
import { readCommit } from "../../core/snapshot/load_snapshot.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { type LogicalRow, scanSnapshot } from "../../core/scan/mod.ts";
import type { StructType } from "../../core/schema/types.ts";
import { loadSnapshot, type Snapshot } from "../../core/snapshot/mod.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { appendBatch, createTable } from "../../core/write/mod.ts";
import { createPluginRegistry } from "../registry.ts";
import { compactionPlugin } from "./compaction_plugin.ts";
import { createCompactionContext } from "./compaction_context.ts";
import { type CompactionProgress, compactTable } from "./compact_table.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "ts", type: "timestamp", nullable: true, metadata: {} },
    { name: "amount", type: "decimal(12,3)", nullable: true, metadata: {} },
    {
      name: "tags",
      type: { type: "array", elementType: "string", containsNull: true },
      nullable: true,
      metadata: {},
    },
    { name: "region", type: "string", nullable: true, metadata: {} },
  ],
};

function row(id: number, region: string | null = "eu") {
  return {
    id: BigInt(id),
    ts: BigInt(1_700_000_000_000_000 + id * 1_000_001),
    amount: id % 3 === 0 ? null : `${id}.${String(id % 1000).padStart(3, "0")}`,
    tags: id % 2 === 0 ? ["a", null, `t${id}`] : null,
    region,
  };
}

async function rowsOf(storage: ObjectStorage, snapshot: Snapshot): Promise<LogicalRow[]> {
  const rows: LogicalRow[] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) rows.push(...batch);
  return rows;
}

const text = (rows: LogicalRow[]) =>
  rows.map((r) => JSON.stringify(r, (_, v) => typeof v === "bigint" ? `${v}n` : v));

async function tableWithAppends(
  storage: ObjectStorage,
  rowsPerAppend: Array<ReturnType<typeof row>[]>,
  partitionColumns: string[] = [],
): Promise<Snapshot> {
  const clock = createManualClock(1_000_000);
  let snapshot = await createTable(storage, { schema, partitionColumns, clock });
  for (const rows of rowsPerAppend) {
    clock.advance(1000);
    const r = await appendBatch(storage, snapshot, createArrowTable(schema, rows), { clock });
    if (!r.ok) throw new Error(r.reason);
    snapshot = r.snapshot;
  }
  return snapshot;
}

Deno.test("compactTable: ten single-row appends become one file with the same rows, in order", async () => {
  const storage = createMemoryStorage();
  const before = await tableWithAppends(storage, Array.from({ length: 10 }, (_, i) => [row(i)]));
  equal(before.files.length, 10);
  const expected = text(await rowsOf(storage, before));
  const clock = createManualClock(5_000_000);
  const progress: CompactionProgress[] = [];
  const result = await compactTable(storage, before, {
    clock,
    onProgress: (p) => progress.push(p),
  });
  const after = await loadSnapshot(storage, {});
  equal(after.version, before.version + 1);
  equal(after.files.length, 1);
  deepEqual(text(await rowsOf(storage, after)), expected);
  equal(result.filesBefore, 10);
  equal(result.filesAfter, 1);
  deepEqual(result.versions, [after.version]);
  equal(result.metrics.numFilesRemoved, 10);
  equal(result.metrics.numFilesAdded, 1);
  equal(result.metrics.numRowsWritten, 10);
  equal(result.metrics.numRowsRead, 10);
  equal(progress.at(-1)?.phase, "done");
  equal(progress.filter((p) => p.phase === "rewrite").at(-1)?.filesDone, 10);

  // The commit as Spark and delta-rs write an OPTIMIZE.
  const actions = await readCommit(storage, after.version);
  const info = actions.find((a) => "commitInfo" in a)!;
  ok("commitInfo" in info);
  equal(info.commitInfo.operation, "OPTIMIZE");
  equal(info.commitInfo.isBlindAppend, false);
  const params = info.commitInfo.operationParameters as Record<string, unknown>;
  equal(params.predicate, "[]");
  equal(params.targetSize, String(128 * 1024 * 1024));
  const m = info.commitInfo.operationMetrics as Record<string, unknown>;
  equal(m.numRemovedFiles, "10");
  equal(m.numAddedFiles, "1");
  equal(m.numRemovedBytes, String(before.files.reduce((s, f) => s + f.size, 0)));
  equal(m.numAddedBytes, String(after.files[0]!.size));
  equal(JSON.parse(m.filesRemoved as string).totalFiles, 10);
  equal(m.numBatches, 1);
  const removes = actions.flatMap((a) => ("remove" in a ? [a.remove] : [])) as Remove[];
  deepEqual(removes.map((r) => r.path).sort(), before.files.map((f) => f.path).sort());
  for (const r of removes) {
    equal(r.dataChange, false);
    equal(r.deletionTimestamp, 5_000_000);
    equal(r.extendedFileMetadata, true);
    ok(typeof r.size === "number" && r.size > 0);
    deepEqual(r.partitionValues, {});
  }
  const adds = actions.flatMap((a) => ("add" in a ? [a.add] : [])) as Add[];
  equal(adds.length, 1);
  equal(adds[0]!.dataChange, false);
  equal(JSON.parse(adds[0]!.stats!).numRecords, 10);
  ok(adds[0]!.path.endsWith(".zstd.parquet"));
  // The new file holds the data columns (region is not partitioned here, so all of them).
  equal(JSON.parse(adds[0]!.stats!).minValues.id, 0);
});

Deno.test("compactTable: partition filter, files at the target left alone, minFiles", async () => {
  const storage = createMemoryStorage();
  const appends = [];
  for (let i = 0; i < 6; i++) appends.push([row(i, "eu"), row(100 + i, "us"), row(200 + i, null)]);
  const before = await tableWithAppends(storage, appends, ["region"]);
  equal(before.files.length, 18);
  const expected = text(await rowsOf(storage, before)).sort();
  const r1 = await compactTable(storage, before, { partitionFilter: { region: "us" } });
  equal(r1.plan.length, 1);
  deepEqual(r1.plan[0]!.partitionValues, { region: "us" });
  equal(r1.snapshot.files.length, 13);
  const us = r1.snapshot.files.filter((f) => f.partitionValues.region === "us");
  equal(us.length, 1);
  ok(us[0]!.path.startsWith("region=us/"), us[0]!.path);
  equal(JSON.parse(us[0]!.stats!).minValues.region, undefined, "partition column in data file");

  // The null partition, by the Hive name.
  const r2 = await compactTable(storage, r1.snapshot, {
    partitionFilter: { region: "__HIVE_DEFAULT_PARTITION__" },
  });
  equal(r2.plan.length, 1);
  equal(r2.snapshot.files.length, 8);
  // Target smaller than every file: nothing planned, nothing committed.
  const r3 = await compactTable(storage, r2.snapshot, { targetSizeBytes: 10 });
  equal(r3.plan.length, 0);
  deepEqual(r3.versions, []);
  // minFiles above the number of small files of a partition: nothing planned.
  equal((await compactTable(storage, r2.snapshot, { minFiles: 7 })).plan.length, 0);
  const r4 = await compactTable(storage, r2.snapshot, {});
  equal(r4.snapshot.files.length, 3);
  // A plan that would move rows to another partition is refused.
  const moved = await tableWithAppends(createMemoryStorage(), [[row(1, "eu"), row(2, "us")]], [
    "region",
  ]);
  await rejects(
    compactTable(createMemoryStorage(), moved, {
      planner: (s) => [{ partitionValues: { region: "eu" }, files: [...s.files] }],
    }),
    /not in the partition of its bin/,
  );
  deepEqual(text(await rowsOf(storage, await loadSnapshot(storage, {}))).sort(), expected);
  await rejects(
    compactTable(storage, r4.snapshot, { partitionFilter: { nope: "x" } }),
    /'nope' is not a partition column/,
  );
});

Deno.test("compactTable: delta.targetFileSize and commits in steps", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(0);
  let snapshot = await createTable(storage, {
    schema,
    clock,
    configuration: { "delta.targetFileSize": "1" },
  });
  for (let i = 0; i < 4; i++) {
    const r = await appendBatch(storage, snapshot, createArrowTable(schema, [row(i)]), { clock });
    ok(r.ok);
    snapshot = r.snapshot;
  }
  equal((await compactTable(storage, snapshot, { minFiles: 1 })).plan.length, 0, "all >= 1 byte");
  const small = await compactTable(storage, snapshot, {
    minFiles: 2,
    targetSizeBytes: Math.max(...snapshot.files.map((f) => f.size)) * 2 + 1,
    commitIntervalBins: 1,
  });
  equal(small.plan.length, 2);
  deepEqual(small.versions, [snapshot.version + 1, snapshot.version + 2]);
  equal(small.snapshot.files.length, 2);
});

Deno.test("compactTable: dry run plans and changes nothing", async () => {
  const storage = createMemoryStorage();
  const before = await tableWithAppends(storage, Array.from({ length: 6 }, (_, i) => [row(i)]));
  const objects = storage.snapshotPaths();
  const result = await compactTable(storage, before, { dryRun: true });
  equal(result.dryRun, true);
  equal(result.plan.length, 1);
  equal(result.plan[0]!.files.length, 6);
  equal(result.metrics.filesRemoved.totalFiles, 6);
  deepEqual(storage.snapshotPaths(), objects);
});

Deno.test("compactTable: a registry planner (first answer wins) is used", async () => {
  const storage = createMemoryStorage();
  const before = await tableWithAppends(storage, Array.from({ length: 4 }, (_, i) => [row(i)]));
  const registry = createPluginRegistry([compactionPlugin({ minFiles: 2 })]).freeze();
  const result = await compactTable(storage, before, {
    planner: (s) =>
      registry.runPlanCompaction(
        s,
        createCompactionContext(storage, s, { limits: { minFiles: 3 } }),
      ),
  });
  equal(result.plan[0]!.files.length, 4);
  equal(result.snapshot.files.length, 1);
  // A planner that names a file that is not active is refused before anything is written.
  const ghost = { ...before.files[0]!, path: "ghost.parquet" };
  await rejects(
    compactTable(storage, result.snapshot, {
      planner: () => [{ partitionValues: {}, files: [ghost] }],
    }),
    /ghost.parquet is not active/,
  );
  await rejects(
    compactTable(storage, result.snapshot, {
      planner: (s) => [{ partitionValues: {}, files: [s.files[0]!] }, {
        partitionValues: {},
        files: [s.files[0]!],
      }],
    }),
    /in more than one bin/,
  );
});

Deno.test("compactTable: a concurrent removal of an input file drops only that bin", async () => {
  const storage = createMemoryStorage();
  const appends = [];
  for (let i = 0; i < 5; i++) appends.push([row(i, "eu"), row(100 + i, "us")]);
  const before = await tableWithAppends(storage, appends, ["region"]);
  const victim = before.files.find((f) => f.partitionValues.region === "eu")!;
  let injected = false;
  const result = await compactTable(storage, before, {
    onProgress: (p) => {
      if (p.phase !== "commit" || injected) return;
      injected = true;
      // A concurrent DELETE of one eu file commits between our rewrite and our commit.
      void commitActions(storage, before, {
        operation: "DELETE",
        actions: [{ remove: { path: victim.path, dataChange: true, deletionTimestamp: 1 } }],
      });
    },
  });
  ok(injected);
  equal(result.metrics.numBinsDroppedByConflict, 1);
  equal(result.versions.length, 1);
  const after = await loadSnapshot(storage, {});
  equal(after.version, before.version + 2);
  const eu = after.files.filter((f) => f.partitionValues.region === "eu");
  const us = after.files.filter((f) => f.partitionValues.region === "us");
  equal(eu.length, 4, "the eu bin was dropped");
  equal(us.length, 1, "the us bin was committed");
  // The dropped bin's new file was deleted; every data file in storage is active or removed.
  const known = new Set([...before.files, ...after.files].map((f) => f.path));
  for (const path of storage.snapshotPaths()) {
    if (!path.startsWith("_delta_log/")) ok(known.has(path), `orphan ${path}`);
  }
  equal((await rowsOf(storage, after)).length, 9);
});

Deno.test("compactTable: commits in steps never re-add rows a commit before the step deleted", async () => {
  // Bins are planned on `before`; a DELETE of a b file lands while bin a commits, so bin a's
  // commit reads past it and the b step commits on a state where its input is already removed.
  let inject: (() => Promise<void>) | undefined;
  const storage = createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op !== "put" || inject === undefined || !path.startsWith("_delta_log/")) return;
        const run = inject;
        inject = undefined;
        await run();
      },
    },
  });
  const appends = [];
  for (let i = 0; i < 5; i++) appends.push([row(i, "a"), row(100 + i, "b")]);
  const before = await tableWithAppends(storage, appends, ["region"]);
  const victim = before.files.find((f) => f.partitionValues.region === "b")!;
  let deleted: number | undefined;
  inject = async () => {
    const r = await commitActions(storage, before, {
      operation: "DELETE",
      actions: [{ remove: { path: victim.path, dataChange: true, deletionTimestamp: 1 } }],
    });
    ok(r.ok);
    deleted = r.version;
  };
  const result = await compactTable(storage, before, {
    commitIntervalBins: 1,
    planner: (s) =>
      ["a", "b"].map((region) => ({
        partitionValues: { region },
        files: s.files.filter((f) => f.partitionValues.region === region),
      })),
  });
  equal(deleted, before.version + 1, "the DELETE landed before the first compaction commit");
  const after = await loadSnapshot(storage, {});
  const rows = await rowsOf(storage, after);
  equal(rows.filter((r) => r[4] === "a").length, 5);
  equal(rows.filter((r) => r[4] === "b").length, 4, "the deleted b row stays deleted");
  deepEqual(result.versions, [before.version + 2], "only bin a was committed");
  equal(result.metrics.numBinsDroppedByConflict, 1);
  equal(after.version, before.version + 2);
  equal(after.files.filter((f) => f.partitionValues.region === "b").length, 4);
  const known = new Set([...before.files, ...after.files].map((f) => f.path));
  for (const path of storage.snapshotPaths()) {
    if (!path.startsWith("_delta_log/")) ok(known.has(path), `orphan ${path}`);
  }
});

Deno.test("compactTable: a commit with an unknown outcome keeps its new files", async () => {
  // The commit put lands but its answer is lost, and reading it back fails once: the outcome is
  // unknown to compaction, and the table does reference the new file.
  let armed = false;
  let commitFile: string | undefined;
  const storage = createMemoryStorage({
    faults: {
      after(op, path) {
        if (armed && op === "put" && path === commitFile) {
          armed = false;
          throw new Error("connection reset after the put");
        }
      },
      before(op, path) {
        if (op === "get" && path === commitFile && !armed) {
          commitFile = undefined;
          throw new Error("connection reset on the read-back");
        }
      },
    },
  });
  const before = await tableWithAppends(storage, Array.from({ length: 5 }, (_, i) => [row(i)]));
  const expected = text(await rowsOf(storage, before));
  commitFile = commitPath(before.version + 1);
  armed = true;
  await rejects(compactTable(storage, before, {}), /reading it back failed too/);
  equal(commitFile, undefined, "both faults fired");
  const after = await loadSnapshot(storage, {});
  equal(after.version, before.version + 1, "the commit landed");
  equal(after.files.length, 1);
  for (const f of after.files) ok(await storage.head(f.path), `active file ${f.path} is missing`);
  deepEqual(text(await rowsOf(storage, after)), expected);
});

Deno.test("compactTable: a concurrent metadata change fails the run and leaves no new file", async () => {
  const storage = createMemoryStorage();
  const before = await tableWithAppends(storage, Array.from({ length: 5 }, (_, i) => [row(i)]));
  const objects = storage.snapshotPaths();
  await rejects(
    compactTable(storage, before, {
      onProgress: (p) => {
        if (p.phase !== "commit") return;
        void commitActions(storage, before, {
          operation: "SET TBLPROPERTIES",
          actions: [{ metaData: { ...before.metadata, configuration: { a: "b" } } }],
        });
      },
    }),
    (e: Error) => (e as { code?: string }).code === "COMMIT_FAILED",
  );
  deepEqual(
    storage.snapshotPaths().filter((p) => !p.startsWith("_delta_log/")),
    objects.filter((p) => !p.startsWith("_delta_log/")),
  );
});

Deno.test("compactTable: an aborted run leaves no new file", async () => {
  const storage = createMemoryStorage();
  const before = await tableWithAppends(storage, Array.from({ length: 8 }, (_, i) => [row(i)]));
  const objects = storage.snapshotPaths();
  const controller = new AbortController();
  await rejects(
    compactTable(storage, before, {
      signal: controller.signal,
      outputFileRowsMax: 2,
      onProgress: (p) => {
        if (p.filesDone === 5) controller.abort(new Error("stop"));
      },
    }),
    /stop/,
  );
  deepEqual(storage.snapshotPaths(), objects);
});

Deno.test("compactTable: outputFileRowsMax splits the output, rows keep their order", async () => {
  const storage = createMemoryStorage();
  const before = await tableWithAppends(
    storage,
    Array.from({ length: 5 }, (_, i) => [row(3 * i), row(3 * i + 1), row(3 * i + 2)]),
  );
  const result = await compactTable(storage, before, { outputFileRowsMax: 4 });
  equal(result.snapshot.files.length, 4);
  deepEqual(
    result.snapshot.files.map((f) => JSON.parse(f.stats!).numRecords),
    [4, 4, 4, 3],
  );
  deepEqual(text(await rowsOf(storage, result.snapshot)), text(await rowsOf(storage, before)));
});

Deno.test("compactTable: property: keeps the multiset of rows for any plan", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.array(fc.tuple(fc.nat(1000), fc.constantFrom("eu", "us", null)), {
          minLength: 1,
          maxLength: 4,
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 6000 }),
      async (appends, minFiles, targetSizeBytes) => {
        const storage = createMemoryStorage();
        const before = await tableWithAppends(
          storage,
          appends.map((rows) => rows.map(([id, region]) => row(id, region))),
          ["region"],
        );
        const expected = text(await rowsOf(storage, before)).sort();
        const result = await compactTable(storage, before, { minFiles, targetSizeBytes });
        ok(result.snapshot.files.length <= before.files.length);
        const after = await loadSnapshot(storage, {});
        deepEqual(text(await rowsOf(storage, after)).sort(), expected);
      },
    ),
    { numRuns: 25 },
  );
});
