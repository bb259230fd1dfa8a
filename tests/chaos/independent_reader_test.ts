/**
 * The independent reader against the project's own reader (`loadSnapshot`, `scanSnapshot`) on
 * tables the project writes: plain appends, across a checkpoint, after log cleanup, after
 * compaction and vacuum, on S3 (moto); and against the expectations of conformance tables that
 * other Delta writers wrote. Also: what it refuses, and how it treats a missing commit file or an
 * incomplete multi-part checkpoint.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createManualClock } from "../../core/clock.ts";
import { writeCheckpoint } from "../../core/log/checkpoint_write.ts";
import { cleanupExpiredLogs } from "../../core/log/log_cleanup.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createLocalStorage } from "../../core/storage/local.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { createS3Storage } from "../../aws/s3_storage.ts";
import { createTestBucket, testS3Client, testS3Endpoint } from "../../aws/s3_test_support.ts";
import { compactTable } from "../../plugins/compaction/mod.ts";
import { vacuumTable } from "../../plugins/vacuum/mod.ts";
import { conformanceTableRoot, loadExpected } from "../conformance.ts";
import {
  appendKeys,
  assertSameSnapshot,
  createKeyedTable,
  keysOf,
  projectValues,
  storageTableAccess,
  valuesText,
} from "./_testing.ts";
import {
  IndependentReadError,
  type IndependentSnapshot,
  listLogIndependently,
  loadHistoryIndependently,
  loadLogIndependently,
  readKeysIndependently,
} from "./independent_reader.ts";
import { localTableAccess, s3TableAccess, type TableAccess } from "./table_access.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";

const DAY_MS = 86_400_000;

/** Every version of the table read by both readers: same state, same keys. */
async function assertAgreeAtEveryVersion(
  storage: ObjectStorage,
  access: TableAccess,
  versions: Iterable<number>,
): Promise<void> {
  for (const version of versions) {
    const project = await loadSnapshot(storage, { version });
    const independent = await loadLogIndependently(access, { version });
    assertSameSnapshot(project, independent);
    const read = await readKeysIndependently(access, independent, "key");
    assert.deepEqual(
      valuesText(read.values),
      await projectValues(storage, project, "key"),
      `version ${version}: keys`,
    );
    // The partition column comes from the log: same values as the project's scan.
    const dates = await readKeysIndependently(access, independent, "date");
    assert.equal(dates.values.length, read.values.length, `version ${version}: date rows`);
    assert.equal(
      dates.values.filter((v) => v === null).length,
      (await projectValues(storage, project, "date")).filter((v) => v === "<null>").length,
      `version ${version}: null partitions`,
    );
  }
}

Deno.test("independent reader: appends on local disk, every version agrees with loadSnapshot", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createKeyedTable(storage);
    for (let i = 0; i < 4; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`a${i}`, 7));
    const access = localTableAccess(dir);
    await assertAgreeAtEveryVersion(storage, access, [0, 1, 2, 3, 4]);
    const latest = await loadLogIndependently(access);
    assert.equal(latest.version, 4);
    assert.equal(latest.checkpointVersion, undefined);
    const { values } = await readKeysIndependently(access, latest, "key");
    assert.equal(values.length, 28);
    assert.equal(new Set(values).size, 28);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("independent reader: across a checkpoint, and with _last_checkpoint gone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createKeyedTable(storage);
    for (let i = 0; i < 3; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`b${i}`, 5));
    await writeCheckpoint(storage, snapshot);
    for (let i = 3; i < 5; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`b${i}`, 5));
    const access = localTableAccess(dir);
    assert.equal((await loadLogIndependently(access)).checkpointVersion, 3);
    assert.equal((await loadLogIndependently(access, { version: 2 })).checkpointVersion, undefined);
    await assertAgreeAtEveryVersion(storage, access, [2, 3, 4, 5]);
    // The listing is the truth: without _last_checkpoint the checkpoint is still found.
    await Deno.remove(`${dir}/_delta_log/_last_checkpoint`);
    assert.equal((await loadLogIndependently(access)).checkpointVersion, 3);
    const history = await loadHistoryIndependently(access);
    assert.deepEqual(history.errors, []);
    assert.deepEqual(history.versions.map((v) => v.version), [0, 1, 2, 3, 4, 5]);
    assert.equal(history.latest?.checkpointVersion, 3);
    assertSameSnapshot(await loadSnapshot(storage), history.latest!);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("independent reader: after log cleanup the versions from the checkpoint on still agree", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snapshot = await createKeyedTable(storage, { clock });
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    snapshot = await appendKeys(storage, snapshot, keysOf(`c${i}`, 4), { clock });
  }
  await writeCheckpoint(storage, snapshot, { clock });
  clock.advance(40 * DAY_MS);
  for (let i = 4; i < 6; i++) {
    clock.advance(1000);
    snapshot = await appendKeys(storage, snapshot, keysOf(`c${i}`, 4), { clock });
  }
  const cleaned = await cleanupExpiredLogs(storage, snapshot, { clock });
  assert.equal(cleaned.checkpointVersion, 4);
  assert.ok(cleaned.files.length >= 4, `cleanup deleted ${cleaned.files}`);
  const access = storageTableAccess(storage);
  const listing = await listLogIndependently(access);
  assert.deepEqual(listing.commitVersions, [4, 5, 6]);
  assert.deepEqual(listing.gaps, []);
  await assertAgreeAtEveryVersion(storage, access, [4, 5, 6]);
  await assert.rejects(
    loadLogIndependently(access, { version: 3 }),
    (e: unknown) => e instanceof IndependentReadError && /version 0 is missing/.test(e.message),
  );
  const history = await loadHistoryIndependently(access);
  assert.deepEqual(history.errors, []);
  assert.deepEqual(history.versions.map((v) => v.version), [4, 5, 6]);
});

Deno.test("independent reader: after compaction and vacuum, lifetimes and keys agree", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snapshot = await createKeyedTable(storage, { clock });
  for (let i = 0; i < 6; i++) {
    clock.advance(1000);
    snapshot = await appendKeys(storage, snapshot, keysOf(`d${i}`, 3), { clock });
  }
  const before = snapshot.version;
  clock.advance(1000);
  const compacted = await compactTable(storage, snapshot, { clock, minFiles: 2 });
  assert.ok(compacted.versions.length >= 1);
  snapshot = compacted.snapshot;
  const access = storageTableAccess(storage);
  await assertAgreeAtEveryVersion(storage, access, [before, snapshot.version]);

  // Lifetimes: the compacted inputs end where the compaction committed.
  const history = await loadHistoryIndependently(access);
  const compactionVersion = before + 1;
  const ended = history.files.filter((f) => f.removedVersion === compactionVersion);
  const started = history.files.filter((f) => f.addedVersion === compactionVersion);
  assert.ok(ended.length >= 2, "compacted inputs have a removedVersion");
  assert.ok(started.length >= 1, "compaction outputs start at its version");
  assert.deepEqual(
    history.files.filter((f) => f.removedVersion === undefined).map((f) => f.path).sort(),
    snapshot.files.map((f) => f.path).sort(),
  );

  // Vacuum after the retention: old versions lose their files, the latest still agrees.
  clock.advance(8 * DAY_MS);
  const vacuumed = await vacuumTable(storage, snapshot, { clock });
  assert.ok(vacuumed.files.length >= ended.length);
  const latest = await loadSnapshot(storage);
  await assertAgreeAtEveryVersion(storage, access, [latest.version]);
  await assert.rejects(
    readKeysIndependently(access, await loadLogIndependently(access, { version: before }), "key"),
    (e: unknown) => e instanceof IndependentReadError && /is missing/.test(e.message),
  );
  const collected = await readKeysIndependently(
    access,
    await loadLogIndependently(access, { version: before }),
    "key",
    { collectErrors: true },
  );
  assert.ok(collected.errors.length >= 2);
});

Deno.test("independent reader: a missing commit file above the checkpoint is a gap", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createKeyedTable(storage);
    for (let i = 0; i < 2; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`e${i}`, 2));
    await writeCheckpoint(storage, snapshot);
    for (let i = 2; i < 5; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`e${i}`, 2));
    await Deno.remove(`${dir}/_delta_log/00000000000000000004.json`);
    const access = localTableAccess(dir);
    const listing = await listLogIndependently(access);
    assert.deepEqual(listing.gaps, [4]);
    await assert.rejects(
      loadLogIndependently(access),
      (e: unknown) => e instanceof IndependentReadError && /version 4 is missing/.test(e.message),
    );
    const history = await loadHistoryIndependently(access);
    assert.equal(history.latest, undefined);
    assert.deepEqual(history.versions.map((v) => v.version), [0, 1, 2, 3]);
    assert.ok(history.errors.some((e) => /no reader can load the latest/.test(e)));
    // Below the checkpoint a missing commit file is what log cleanup leaves: no gap, no error.
    await Deno.remove(`${dir}/_delta_log/00000000000000000000.json`);
    await Deno.remove(`${dir}/_delta_log/00000000000000000001.json`);
    const cleaned = await listLogIndependently(access);
    assert.deepEqual(cleaned.gaps, [4]);
    assert.deepEqual(
      (await loadHistoryIndependently(access)).versions.map((v) => v.version),
      [2, 3],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("independent reader: a checkpoint that drops a file disagrees with the commits", async () => {
  const storage = createMemoryStorage();
  let snapshot = await createKeyedTable(storage);
  for (let i = 0; i < 3; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`f${i}`, 2));
  // A checkpoint written from a state that lacks the first append's files.
  const dropped = snapshot.files.slice(1);
  await writeCheckpoint(storage, { ...snapshot, files: dropped });
  const history = await loadHistoryIndependently(storageTableAccess(storage));
  assert.equal(history.errors.length, 1, history.errors.join("\n"));
  assert.match(history.errors[0]!, /checkpoint of version 3 disagrees .* lacks /);
});

Deno.test("independent reader: an S3 table on moto agrees with loadSnapshot", async () => {
  const { bucket, cleanup } = await createTestBucket();
  const client = testS3Client();
  const access = s3TableAccess({ endpoint: testS3Endpoint(), bucket, prefix: "t/events" });
  try {
    const storage = createS3Storage({ bucket, prefix: "t/events", client });
    let snapshot = await createKeyedTable(storage);
    for (let i = 0; i < 3; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`s${i}`, 5));
    await writeCheckpoint(storage, snapshot);
    snapshot = await appendKeys(storage, snapshot, keysOf("s3", 5));
    await assertAgreeAtEveryVersion(storage, access, [0, 2, 3, 4]);
    const history = await loadHistoryIndependently(access);
    assert.deepEqual(history.errors, []);
    assert.equal(history.latest?.checkpointVersion, 3);
    assert.equal(await access.get("nothing/here.parquet"), undefined);
  } finally {
    access.close();
    client.destroy();
    await cleanup();
  }
});

/** Conformance tables without deletion vectors or column mapping, with their data files. */
const CONFORMANCE_TABLES = [
  "dat-basic_append",
  "dat-basic_partitioned",
  "dat-with_schema_change",
  "drs-python-0.25.5-checkpoint",
  "drs-simple_table",
  "golden-basic-with-inserts-deletes-checkpoint",
  "golden-multi-part-checkpoint",
  "golden-only-checkpoint-files",
  "golden-snapshot-vacuumed",
  "kernel-app-txn-checkpoint",
  "spark-delta-0.1.0",
];

interface ConformanceExpected {
  latest_version: number;
  num_files_active: number;
  row_count: number;
  checkpoint_used: { version: number } | null;
  active_files: { path: string; size: number; partitionValues: Record<string, string | null> }[];
  txns: Record<string, { version: number }>;
  per_version?: Record<string, { num_files_active: number; row_count: number | null }>;
  columns: { name: string }[];
  metadata: { partitionColumns: string[] };
}

/** The first column of the schema that is not a partition column. */
function firstDataColumn(snapshot: IndependentSnapshot): string {
  const fields = JSON.parse(snapshot.metaData.schemaString).fields as { name: string }[];
  return fields.find((f) => !snapshot.metaData.partitionColumns.includes(f.name))!.name;
}

for (const name of CONFORMANCE_TABLES) {
  Deno.test(`independent reader: conformance table ${name}`, async () => {
    const expected = loadExpected(name) as unknown as ConformanceExpected;
    const access = localTableAccess(conformanceTableRoot(name));
    const snapshot = await loadLogIndependently(access);
    assert.equal(snapshot.version, expected.latest_version);
    assert.equal(snapshot.checkpointVersion, expected.checkpoint_used?.version);
    assert.equal(snapshot.files.length, expected.num_files_active);
    const decoded = expected.active_files.map((f) => ({
      path: decodeURIComponent(f.path),
      size: f.size,
      partitionValues: f.partitionValues,
    })).sort((a, b) => (a.path < b.path ? -1 : 1));
    assert.deepEqual(
      snapshot.files.map((f) => ({
        path: f.path,
        size: f.size,
        partitionValues: f.partitionValues,
      })),
      decoded,
    );
    assert.deepEqual(
      Object.fromEntries([...snapshot.txns].map(([k, t]) => [k, t.version])),
      Object.fromEntries(Object.entries(expected.txns).map(([k, t]) => [k, t.version])),
    );
    // Row counts: the values of one data column (and of a partition column, if any).
    const dataColumn = firstDataColumn(snapshot);
    assert.equal(
      dataColumn,
      expected.columns.find((c) => !expected.metadata.partitionColumns.includes(c.name))?.name,
    );
    const read = await readKeysIndependently(access, snapshot, dataColumn);
    assert.equal(read.values.length, expected.row_count, `${name}: rows`);
    const partitionColumn = expected.metadata.partitionColumns[0];
    if (partitionColumn !== undefined) {
      const parts = await readKeysIndependently(access, snapshot, partitionColumn);
      assert.equal(parts.values.length, expected.row_count, `${name}: partition rows`);
    }
    const history = await loadHistoryIndependently(access);
    assert.deepEqual(history.errors, [], `${name}: history errors`);
    for (const [v, exp] of Object.entries(expected.per_version ?? {})) {
      const at = await loadLogIndependently(access, { version: Number(v) });
      assert.equal(at.files.length, exp.num_files_active, `${name} v${v}: files`);
      assert.equal(
        history.versions.find((h) => h.version === Number(v))?.numFiles,
        exp.num_files_active,
        `${name} v${v}: files in the history walk`,
      );
      if (exp.row_count !== null) {
        const rows = await readKeysIndependently(access, at, firstDataColumn(at));
        assert.equal(rows.values.length, exp.row_count, `${name} v${v}: rows`);
      }
    }
  });
}

Deno.test("independent reader: refuses deletion vectors and column mapping clearly", async () => {
  for (
    const [name, pattern] of [
      ["drs-table-with-dv-small", /deletion vector/],
      ["golden-table-with-columnmapping-mode-name", /column mapping \(name\)/],
    ] as const
  ) {
    const access = localTableAccess(conformanceTableRoot(name));
    const snapshot = await loadLogIndependently(access);
    const column = JSON.parse(snapshot.metaData.schemaString).fields[0].name as string;
    await assert.rejects(
      readKeysIndependently(access, snapshot, column),
      (e: unknown) => e instanceof IndependentReadError && pattern.test(e.message),
      name,
    );
  }
});

Deno.test("independent reader: an incomplete multi-part checkpoint is ignored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = conformanceTableRoot("golden-multi-part-checkpoint");
    const copy = await new Deno.Command("cp", { args: ["-r", `${root}/.`, dir] }).output();
    assert.ok(copy.success);
    const log = `${dir}/_delta_log`;
    const part = [...Deno.readDirSync(log)].map((e) => e.name)
      .find((n) => /\.checkpoint\.0000000001\.0000000002\.parquet$/.test(n))!;
    await Deno.remove(`${log}/${part}`);
    const access = localTableAccess(dir);
    const expected = loadExpected("golden-multi-part-checkpoint") as unknown as ConformanceExpected;
    const snapshot = await loadLogIndependently(access);
    assert.equal(snapshot.checkpointVersion, undefined);
    assert.equal(snapshot.files.length, expected.num_files_active);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const name of [
    "golden-log-replay-dv-key-cases",
    "drs-table-with-dv-small",
    "golden-dv-partitioned-with-checkpoint",
  ]
) {
  Deno.test(`independent reader: log replay of deletion-vector table ${name}`, async () => {
    const expected = loadExpected(name) as unknown as ConformanceExpected;
    const access = localTableAccess(conformanceTableRoot(name));
    const snapshot = await loadLogIndependently(access);
    assert.equal(snapshot.version, expected.latest_version);
    assert.deepEqual(
      snapshot.files.map((f) => `${f.path} ${f.size}`),
      expected.active_files.map((f) => `${decodeURIComponent(f.path)} ${f.size}`).sort(),
    );
    const history = await loadHistoryIndependently(access);
    assert.deepEqual(history.errors, []);
    for (const [v, exp] of Object.entries(expected.per_version ?? {})) {
      const at = await loadLogIndependently(access, { version: Number(v) });
      assert.equal(at.files.length, exp.num_files_active, `${name} v${v}: files`);
    }
  });
}

Deno.test("independent reader: an older checkpoint that drops a file disagrees too", async () => {
  // A vacuum or a runner that loaded the table while this checkpoint was the newest trusted it;
  // a newer, correct checkpoint does not undo what they did.
  const storage = createMemoryStorage();
  let snapshot = await createKeyedTable(storage);
  for (let i = 0; i < 3; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`g${i}`, 2));
  await writeCheckpoint(storage, { ...snapshot, files: snapshot.files.slice(1) });
  for (let i = 3; i < 5; i++) snapshot = await appendKeys(storage, snapshot, keysOf(`g${i}`, 2));
  await writeCheckpoint(storage, snapshot);
  const history = await loadHistoryIndependently(storageTableAccess(storage));
  assert.equal(history.errors.length, 1, history.errors.join("\n"));
  assert.match(history.errors[0]!, /checkpoint of version 3 disagrees .* lacks /);
  assert.equal(history.latest?.version, 5);
});
