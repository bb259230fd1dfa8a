/**
 * Proof tests of vacuum on real Parquet tables: a table compacted at version 1, the files of a
 * writer that crashed before committing, the retention checks, lite mode, dry runs, the
 * VACUUM START/END commits and the plugin hooks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createManualClock, type ManualClock } from "../core/clock.ts";
import { isLakestrikeError } from "../core/errors.ts";
import { readCommit } from "../core/snapshot/load_snapshot.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { loadSnapshot, type Snapshot } from "../core/snapshot/mod.ts";
import { commitActions } from "../core/log/commit.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { createMemoryStorage, type MemoryStorage } from "../core/storage/memory.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { appendBatch } from "../core/write/append_batch.ts";
import { createTable } from "../core/write/create_table.ts";
import { compactTable } from "../plugins/compaction/mod.ts";
import { createPluginRegistry } from "../plugins/registry.ts";
import { PLUGIN_API_VERSION } from "../plugins/types.ts";
import { vacuumPlugin, vacuumTable } from "../plugins/vacuum/mod.ts";

const HOUR = 3_600_000;
const schema = {
  type: "struct" as const,
  fields: [
    { name: "id", type: "long" as const, nullable: false, metadata: {} },
    { name: "date", type: "string" as const, nullable: true, metadata: {} },
  ],
};

async function rowCount(storage: MemoryStorage, snapshot: Snapshot): Promise<number> {
  let n = 0;
  for await (const batch of scanSnapshot(storage, snapshot)) n += batch.length;
  return n;
}

/** Version 0 and `appends` single-row appends, all at the clock's time (one file each). */
async function tableWithAppends(clock: ManualClock, storage: MemoryStorage, appends = 5) {
  let snap: Snapshot = await createTable(storage, { schema, clock });
  for (let i = 0; i < appends; i++) {
    const batch = createArrowTable(schema, [{ id: BigInt(i), date: "2025-01-01" }]);
    const r = await appendBatch(storage, snap, batch, { clock });
    assert.ok(r.ok);
    snap = r.snapshot;
  }
  return snap;
}

Deno.test("vacuum: a table compacted at version 1 loses the pre-compaction files 72 h later", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snap: Snapshot = await createTable(storage, { schema, clock });
  // Six single-row appends (versions 1..6), then one compaction commit an hour later. (The table
  // cannot be compacted at version 1 itself: version 0 of createTable holds no files.)
  const adds = [];
  for (let i = 0; i < 6; i++) {
    const batch = createArrowTable(schema, [{ id: BigInt(i), date: "2025-01-01" }]);
    const r = await appendBatch(storage, snap, batch, { clock });
    assert.ok(r.ok);
    snap = r.snapshot;
    adds.push(...r.adds);
  }
  const before = adds.map((a) => a.path);
  clock.advance(HOUR);
  // The real OPTIMIZE (plugins/compaction), as `deno task compact` runs it.
  const compacted = await compactTable(storage, snap, { clock, minFiles: 2 });
  assert.equal(compacted.versions.length, 1);
  snap = compacted.snapshot;
  const after = snap.files.map((f) => f.path);
  assert.equal(after.length, 1);
  assert.ok(!before.includes(after[0]!));

  clock.advance(72 * HOUR);
  // Retention above the elapsed time deletes nothing.
  const early = await vacuumTable(storage, snap, {
    clock,
    retentionHours: 73,
    enforceRetention: false,
  });
  assert.deepEqual(early.files, []);
  for (const p of before) assert.ok(await storage.head(p));

  const r = await vacuumTable(storage, snap, {
    clock,
    retentionHours: 72,
    enforceRetention: false,
  });
  assert.deepEqual(r.files.map((f) => f.path).sort(), [...before].sort());
  for (const p of before) assert.equal(await storage.head(p), undefined, `${p} kept`);
  for (const p of after) assert.ok(await storage.head(p), `${p} deleted`);
  const latest = await loadSnapshot(storage);
  assert.equal(await rowCount(storage, latest), 6);
  assert.equal(latest.version, snap.version + 2);
});

Deno.test("vacuum: files of a crashed writer go once older than the horizon, never before", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const snap = await tableWithAppends(clock, storage, 2);
  // A writer wrote its Parquet file and died before committing.
  const orphan = createArrowTable(schema, [{ id: 99n, date: "x" }]);
  const tmp = createMemoryStorage({ clock });
  const tmpSnap = await createTable(tmp, { schema, clock });
  const written = await appendBatch(tmp, tmpSnap, orphan, { clock });
  assert.ok(written.ok);
  const orphanPath = written.adds[0]!.path;
  await storage.put(orphanPath, await tmp.get(orphanPath));
  await storage.put("_tmp_spark_staging/part-0.parquet", new Uint8Array(5)); // hidden: never

  for (const elapsed of [0, 100 * HOUR, 168 * HOUR]) {
    clock.set(Date.UTC(2025, 0, 1) + elapsed);
    const r = await vacuumTable(storage, snap, { clock });
    assert.deepEqual(r.files, [], `deleted after ${elapsed / HOUR} h`);
    assert.ok(await storage.head(orphanPath));
  }
  clock.set(Date.UTC(2025, 0, 1) + 168 * HOUR + 1);
  const r = await vacuumTable(storage, snap, { clock });
  assert.deepEqual(r.files.map((f) => f.path), [orphanPath]);
  assert.equal(await storage.head(orphanPath), undefined);
  assert.ok(await storage.head("_tmp_spark_staging/part-0.parquet"));
  assert.equal(await rowCount(storage, await loadSnapshot(storage)), 2);
});

Deno.test("vacuum: retention below the table's is refused unless enforcement is off", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const snap = await tableWithAppends(clock, storage, 1);
  await assert.rejects(
    vacuumTable(storage, snap, { clock, retentionHours: 1 }),
    (e) => isLakestrikeError(e, "INVALID_ARGUMENT") && /168 hours/.test(e.message),
  );
  await assert.rejects(
    vacuumTable(storage, snap, { clock, retentionHours: -1, enforceRetention: false }),
  );
  const ok = await vacuumTable(storage, snap, { clock, retentionHours: 200 });
  assert.equal(ok.retentionMs, 200 * HOUR);
});

Deno.test("vacuum: dry run lists files and bytes and changes nothing; commits record metrics", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const snap = await tableWithAppends(clock, storage, 1);
  await storage.put("stray-1.parquet", new Uint8Array(7));
  await storage.put("date=x/stray-2.parquet", new Uint8Array(3));
  clock.advance(200 * HOUR);
  const pathsBefore = storage.snapshotPaths();
  const dry = await vacuumTable(storage, snap, { clock, dryRun: true });
  assert.deepEqual(dry.files, [
    { path: "date=x/stray-2.parquet", size: 3 },
    { path: "stray-1.parquet", size: 7 },
  ]);
  assert.equal(dry.bytes, 10);
  assert.deepEqual(storage.snapshotPaths(), pathsBefore);

  const r = await vacuumTable(storage, snap, { clock });
  assert.equal(r.startVersion, snap.version + 1);
  assert.equal(r.endVersion, snap.version + 2);
  const start = (await readCommit(storage, r.startVersion!))[0] as {
    commitInfo: Record<string, unknown>;
  };
  assert.equal(start.commitInfo.operation, "VACUUM START");
  assert.deepEqual(start.commitInfo.operationParameters, {
    retentionCheckEnabled: "true",
    defaultRetentionMillis: String(168 * HOUR),
  });
  assert.deepEqual(start.commitInfo.operationMetrics, {
    numFilesToDelete: "2",
    sizeOfDataToDelete: "10",
  });
  const end = (await readCommit(storage, r.endVersion!))[0] as {
    commitInfo: Record<string, unknown>;
  };
  assert.equal(end.commitInfo.operation, "VACUUM END");
  assert.deepEqual(end.commitInfo.operationParameters, { status: "COMPLETED" });
  assert.deepEqual(end.commitInfo.operationMetrics, {
    numDeletedFiles: "2",
    numVacuumedDirectories: "0",
  });
});

Deno.test("vacuum lite: deletes only the files of expired tombstones", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snap = await tableWithAppends(clock, storage, 3);
  // The real OPTIMIZE (plugins/compaction), as `deno task compact` runs it.
  const compacted = await compactTable(storage, snap, { clock, minFiles: 2 });
  assert.equal(compacted.versions.length, 1);
  snap = compacted.snapshot;
  const removed = snap.tombstones.map((t) => t.path).sort();
  assert.equal(removed.length, 3);
  await storage.put("stray.parquet", new Uint8Array(1));
  clock.advance(169 * HOUR);
  const r = await vacuumTable(storage, snap, { clock, mode: "lite" });
  assert.deepEqual(r.files.map((f) => f.path), removed);
  assert.equal(r.filesListed, 0);
  assert.ok(await storage.head("stray.parquet"), "lite mode never lists");
  assert.equal(await rowCount(storage, await loadSnapshot(storage)), 3);
});

Deno.test("vacuum plugins: retentionHorizon only lengthens, filterVacuumCandidates only spares", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const snap = await tableWithAppends(clock, storage, 1);
  await storage.put("keep/a.parquet", new Uint8Array(1));
  await storage.put("drop/b.parquet", new Uint8Array(1));
  clock.advance(200 * HOUR);
  // A plugin asking for a *shorter* retention (a later horizon) is ignored.
  const eager = createPluginRegistry([{
    name: "eager",
    apiVersion: PLUGIN_API_VERSION,
    hooks: { retentionHorizon: (_s, ctx) => ctx.clock.nowMs() },
  }]).freeze();
  const r1 = await vacuumTable(storage, snap, { clock, plugins: eager, dryRun: true });
  assert.equal(r1.horizonMs, clock.nowMs() - 168 * HOUR);
  // A longer minimum retention keeps everything.
  const careful = createPluginRegistry([vacuumPlugin({ minRetentionHours: 500 })]).freeze();
  assert.deepEqual((await vacuumTable(storage, snap, { clock, plugins: careful })).files, []);
  // A filter spares; a filter that adds a path fails the run before anything is deleted.
  const spare = createPluginRegistry([vacuumPlugin({ sparePrefixes: ["keep/"] })]).freeze();
  const r2 = await vacuumTable(storage, snap, { clock, plugins: spare });
  assert.deepEqual(r2.files.map((f) => f.path), ["drop/b.parquet"]);
  assert.equal(r2.filesSpared, 1);
  const sneaky = createPluginRegistry([{
    name: "sneaky",
    apiVersion: PLUGIN_API_VERSION,
    hooks: { filterVacuumCandidates: (paths) => [...paths, snap.files[0]!.path] },
  }]).freeze();
  await storage.put("drop/c.parquet", new Uint8Array(1));
  clock.advance(200 * HOUR);
  await assert.rejects(vacuumTable(storage, snap, { clock, plugins: sneaky }));
  assert.ok(await storage.head("drop/c.parquet"));
  assert.ok(await storage.head(snap.files[0]!.path));
});

Deno.test("vacuum: refuses unknown writer features; a stale snapshot is refreshed first", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const v0 = await createTable(storage, { schema, clock });
  await assert.rejects(
    vacuumTable(storage, {
      ...v0,
      protocol: {
        minReaderVersion: 3,
        minWriterVersion: 7,
        readerFeatures: [],
        writerFeatures: ["rowTracking"],
      },
    }, { clock }),
    (e) => isLakestrikeError(e, "UNSUPPORTED_FEATURE"),
  );
  // Files committed after the snapshot vacuum was given must survive even when old.
  const batch = createArrowTable(schema, [{ id: 1n, date: null }]);
  const r = await appendBatch(storage, v0, batch, { clock });
  assert.ok(r.ok);
  clock.advance(1000 * HOUR);
  const v = await vacuumTable(storage, v0, { clock });
  assert.deepEqual(v.files, []);
  assert.equal(v.version, 1);
  assert.ok(await storage.head(r.adds[0]!.path));
});

// --- Absolute paths in the log (Delta PROTOCOL: `path` is a URI, relative or absolute) ---------

const DAY = 24 * HOUR;

/** A table whose only file is added by `addPath` (absolute); then a retention-0 vacuum 8 days on. */
async function vacuumWithAbsoluteAdd(
  storage: ObjectStorage,
  clock: ManualClock,
  addPath: string,
): Promise<string[]> {
  const v0 = await createTable(storage, { schema, clock });
  await storage.put("part-active.parquet", new Uint8Array(10));
  await storage.put("part-stray.parquet", new Uint8Array(10));
  const r = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: [{
      add: {
        path: addPath,
        partitionValues: {},
        size: 10,
        modificationTime: clock.nowMs(),
        dataChange: true,
      },
    }],
  }, { clock });
  assert.ok(r.ok);
  clock.advance(8 * DAY);
  const res = await vacuumTable(storage, r.snapshot, {
    clock,
    retentionHours: 0,
    enforceRetention: false,
  });
  return res.files.map((f) => f.path);
}

Deno.test("vacuum keeps an active file given as a file:// URI under a root with a space", async () => {
  const clock = createManualClock(Date.now());
  const dir = await Deno.makeTempDir({ prefix: "my table " });
  try {
    const storage = createLocalStorage(dir);
    assert.match(storage.location, /%20/);
    // The log holds `file:///tmp/my%20table…/part-active.parquet`, decoded to a space.
    const deleted = await vacuumWithAbsoluteAdd(
      storage,
      clock,
      `file://${dir}/part-active.parquet`,
    );
    assert.deepEqual(deleted, ["part-stray.parquet"]);
    assert.ok(await storage.head("part-active.parquet"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vacuum keeps an active file given as a Hadoop-style file:/ URI", async () => {
  const clock = createManualClock(Date.now());
  const dir = await Deno.makeTempDir({ prefix: "plain" });
  try {
    const storage = createLocalStorage(dir);
    const deleted = await vacuumWithAbsoluteAdd(storage, clock, `file:${dir}/part-active.parquet`);
    assert.deepEqual(deleted, ["part-stray.parquet"]);
    assert.ok(await storage.head("part-active.parquet"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vacuum keeps an active s3a:// file of a table opened as s3://", async () => {
  for (const scheme of ["s3a", "s3n", "S3"]) {
    const clock = createManualClock(Date.UTC(2025, 0, 1));
    const storage = createMemoryStorage({ clock, location: "s3://b/t" });
    const deleted = await vacuumWithAbsoluteAdd(
      storage,
      clock,
      `${scheme}://b/t/part-active.parquet`,
    );
    assert.deepEqual(deleted, ["part-stray.parquet"], scheme);
    assert.ok(await storage.head("part-active.parquet"), scheme);
  }
});

Deno.test("vacuum: an absolute file outside the root protects nothing inside it", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock, location: "s3://b/t" });
  const deleted = await vacuumWithAbsoluteAdd(storage, clock, "s3://b/other/part-active.parquet");
  assert.deepEqual(deleted, ["part-active.parquet", "part-stray.parquet"]);
});

Deno.test("vacuum refuses when an active path is an absolute URI it cannot parse", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock, location: "s3://b/t" });
  await assert.rejects(
    vacuumWithAbsoluteAdd(storage, clock, "s3:part-active.parquet"),
    (e: unknown) => isLakestrikeError(e) && /Cannot vacuum/.test((e as Error).message),
  );
  assert.ok(await storage.head("part-active.parquet"));
  assert.ok(await storage.head("part-stray.parquet"));
});

/** A table with deletion vectors whose one file has a `p` (absolute) DV at `dvUri`. */
async function vacuumWithAbsoluteDv(dvUri: string) {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock, location: "s3://b/t" });
  const v0 = await createTable(storage, { schema, clock });
  await storage.put("A.parquet", new Uint8Array(10));
  await storage.put("dv x/deletion_vector_1.bin", new Uint8Array(10));
  const r = await commitActions(storage, v0, {
    operation: "DELETE",
    actions: [
      {
        protocol: {
          minReaderVersion: 3,
          minWriterVersion: 7,
          readerFeatures: ["deletionVectors"],
          writerFeatures: ["deletionVectors"],
        },
      },
      {
        add: {
          path: "A.parquet",
          partitionValues: {},
          size: 10,
          modificationTime: 0,
          dataChange: true,
          deletionVector: {
            storageType: "p",
            pathOrInlineDv: dvUri,
            offset: 1,
            sizeInBytes: 4,
            cardinality: 1,
          },
        },
      },
    ],
  }, { clock });
  assert.ok(r.ok);
  clock.advance(8 * DAY);
  return { storage, run: () => vacuumTable(storage, r.snapshot, { clock }) };
}

Deno.test("vacuum keeps a percent-encoded absolute (p) deletion-vector file", async () => {
  const { storage, run } = await vacuumWithAbsoluteDv("s3a://b/t/dv%20x/deletion_vector_1.bin");
  const res = await run();
  assert.deepEqual(res.files.map((f) => f.path), []);
  assert.ok(await storage.head("dv x/deletion_vector_1.bin"));
});

Deno.test("vacuum refuses when a deletion-vector path has malformed percent-encoding", async () => {
  const { storage, run } = await vacuumWithAbsoluteDv("s3://b/t/dv%zz/deletion_vector_1.bin");
  await assert.rejects(run(), (e: unknown) => isLakestrikeError(e));
  assert.ok(await storage.head("dv x/deletion_vector_1.bin"));
});

Deno.test("vacuum: a negative deletedFileRetentionDuration another engine wrote is the default", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const v0 = await createTable(storage, { schema, clock });
  // Another engine's metaData commit: createTable refuses this value, the reader must not trust it.
  const r = await commitActions(storage, v0, {
    operation: "SET TBLPROPERTIES",
    actions: [{
      metaData: {
        ...v0.metadata,
        configuration: { "delta.deletedFileRetentionDuration": "interval -1 days" },
      },
    }],
  }, { clock });
  assert.ok(r.ok);
  await storage.put("part-inflight.parquet", new Uint8Array(10)); // a writer's, not yet committed
  clock.advance(HOUR);
  const res = await vacuumTable(storage, r.snapshot, { clock });
  assert.equal(res.retentionMs, 168 * HOUR);
  assert.deepEqual(res.files, []);
  assert.ok(await storage.head("part-inflight.parquet"));
});
