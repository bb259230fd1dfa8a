/**
 * The chaos checker on tables the project writes: a healthy table passes, and each violation the
 * checker exists for is reported when it is made on purpose (a lost, duplicated, refused or
 * unexpected key; a gap; a data file that a retained version needs; a corrupt data file or
 * checkpoint), and nothing is reported for what is fine (log cleanup, a file committed after the
 * checker listed the table, files of versions older than the window).
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
import { compactTable } from "../../plugins/compaction/mod.ts";
import { vacuumTable } from "../../plugins/vacuum/mod.ts";
import { appendKeys, createKeyedTable, keysOf, storageTableAccess } from "./_testing.ts";
import { checkInvariants, type InvariantOptions } from "./invariants.ts";
import { localTableAccess, type TableAccess } from "./table_access.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function options(acked: string[], extra: Partial<InvariantOptions> = {}): InvariantOptions {
  return {
    keyColumn: "key",
    acked: new Set(acked),
    refused: new Set(),
    unknown: new Set(),
    nowMs: Date.now(),
    retentionMs: 7 * DAY_MS,
    ...extra,
  };
}

/** A local table of `batches` appends of 5 keys each; returns its directory and all keys. */
async function localTable(batches: number): Promise<{ dir: string; keys: string[] }> {
  const dir = await Deno.makeTempDir();
  const storage = createLocalStorage(dir);
  let snapshot = await createKeyedTable(storage);
  const keys: string[] = [];
  for (let i = 0; i < batches; i++) {
    const batch = keysOf(`k${i}`, 5);
    snapshot = await appendKeys(storage, snapshot, batch);
    keys.push(...batch);
  }
  return { dir, keys };
}

/** The data file (relative path) that holds `key`, found by its min/max stats. */
async function fileHolding(dir: string, key: string): Promise<string> {
  for await (const e of Deno.readDir(`${dir}/_delta_log`)) {
    if (!e.name.endsWith(".json")) continue;
    for (const line of (await Deno.readTextFile(`${dir}/_delta_log/${e.name}`)).split("\n")) {
      if (!line.includes('"add"')) continue;
      const add = JSON.parse(line).add;
      const stats = JSON.parse(add.stats);
      if (stats.minValues.key <= key && key <= stats.maxValues.key) {
        return decodeURIComponent(add.path);
      }
    }
  }
  throw new Error(`no file holds ${key}`);
}

Deno.test("invariants: a healthy table with checkpoint, compaction and log cleanup passes", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snapshot = await createKeyedTable(storage, { clock });
  const keys: string[] = [];
  for (let i = 0; i < 6; i++) {
    clock.advance(1000);
    const batch = keysOf(`h${i}`, 4);
    snapshot = await appendKeys(storage, snapshot, batch, { clock });
    keys.push(...batch);
  }
  clock.advance(1000);
  snapshot = (await compactTable(storage, snapshot, { clock, minFiles: 2 })).snapshot;
  await writeCheckpoint(storage, snapshot, { clock });
  clock.advance(40 * DAY_MS);
  const batch = keysOf("h6", 4);
  snapshot = await appendKeys(storage, snapshot, batch, { clock });
  keys.push(...batch);
  const cleaned = await cleanupExpiredLogs(storage, snapshot, { clock });
  assert.ok(cleaned.files.length > 0);
  const access = storageTableAccess(storage);
  const report = await checkInvariants(access, {
    ...options(keys.slice(0, -2)),
    unknown: new Set([...keys.slice(-2), "never-arrived"]),
    refused: new Set(["bad-1", "bad-2"]),
    nowMs: clock.nowMs(),
  });
  assert.deepEqual(report, {
    latestVersion: snapshot.version,
    lost: [],
    duplicated: [],
    refusedButWritten: [],
    unexpected: [],
    nullKeys: 0,
    unreadable: [],
    gaps: [],
    missingFiles: [],
    rows: keys.length,
    retainedVersions: 1,
    ok: true,
  });
  // Deterministic: the same table gives the same report.
  assert.deepEqual(
    await checkInvariants(access, {
      ...options(keys.slice(0, -2)),
      unknown: new Set([...keys.slice(-2), "never-arrived"]),
      refused: new Set(["bad-1", "bad-2"]),
      nowMs: clock.nowMs(),
    }),
    report,
  );
});

Deno.test("invariants: lost, duplicated, refused and unexpected keys are reported", async () => {
  const storage = createMemoryStorage();
  let snapshot = await createKeyedTable(storage);
  snapshot = await appendKeys(storage, snapshot, ["a", "b", "u1", "u2", "r1", "x"]);
  snapshot = await appendKeys(storage, snapshot, ["b", "u2"]);
  const report = await checkInvariants(storageTableAccess(storage), {
    ...options(["a", "b", "gone"]),
    unknown: new Set(["u1", "u2", "u3"]),
    refused: new Set(["r1", "r2"]),
  });
  assert.equal(report.latestVersion, 2);
  assert.deepEqual(report.lost, ["gone"]);
  assert.deepEqual(report.duplicated, ["b", "u2"]);
  assert.deepEqual(report.refusedButWritten, ["r1"]);
  assert.deepEqual(report.unexpected, ["x"]);
  assert.equal(report.rows, 8);
  assert.equal(report.ok, false);
});

Deno.test("invariants: no table at all loses every acknowledged key", async () => {
  const report = await checkInvariants(storageTableAccess(createMemoryStorage()), options(["a"]));
  assert.equal(report.latestVersion, -1);
  assert.deepEqual(report.lost, ["a"]);
  assert.equal(report.ok, false);
});

Deno.test("invariants: a deleted data file of the latest version is missing, unreadable and lost", async () => {
  const { dir, keys } = await localTable(3);
  try {
    const victim = await fileHolding(dir, "k1-0");
    await Deno.remove(`${dir}/${victim}`);
    const report = await checkInvariants(localTableAccess(dir), options(keys));
    assert.deepEqual(report.missingFiles, [{ version: 3, path: victim }]);
    assert.ok(report.lost.includes("k1-0"), `lost ${report.lost}`);
    assert.ok(report.lost.every((k) => k.startsWith("k1-")), `lost ${report.lost}`);
    assert.equal(report.unreadable.length, 1);
    assert.match(report.unreadable[0]!, /^version 3: data file .* is missing$/);
    assert.equal(report.ok, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invariants: a corrupt data file makes the latest version unreadable", async () => {
  const { dir, keys } = await localTable(2);
  try {
    const victim = await fileHolding(dir, "k0-0");
    await Deno.writeTextFile(`${dir}/${victim}`, "not parquet");
    const report = await checkInvariants(localTableAccess(dir), options(keys));
    assert.deepEqual(report.missingFiles, []);
    assert.equal(report.unreadable.length, 1);
    assert.match(report.unreadable[0]!, /not readable Parquet/);
    assert.ok(report.lost.includes("k0-0"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invariants: a missing commit file above the checkpoint is a gap and unreadable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createKeyedTable(storage);
    snapshot = await appendKeys(storage, snapshot, keysOf("g0", 3));
    await writeCheckpoint(storage, snapshot);
    snapshot = await appendKeys(storage, snapshot, keysOf("g1", 3));
    snapshot = await appendKeys(storage, snapshot, keysOf("g2", 3));
    await Deno.remove(`${dir}/_delta_log/00000000000000000002.json`);
    const report = await checkInvariants(localTableAccess(dir), options(keysOf("g0", 3)));
    assert.deepEqual(report.gaps, [2]);
    assert.equal(report.latestVersion, 3);
    assert.ok(report.unreadable.some((u) => /version 3: no reader can load/.test(u)));
    assert.equal(report.ok, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invariants: a corrupt newest checkpoint makes the latest version unreadable", async () => {
  const { dir, keys } = await localTable(2);
  try {
    const storage = createLocalStorage(dir);
    await writeCheckpoint(storage, await loadSnapshot(storage));
    await Deno.writeTextFile(`${dir}/_delta_log/00000000000000000002.checkpoint.parquet`, "junk");
    const report = await checkInvariants(localTableAccess(dir), options(keys));
    assert.equal(report.unreadable.length, 1, report.unreadable.join("\n"));
    assert.match(report.unreadable[0]!, /^version 2: Cannot read checkpoint/);
    assert.deepEqual(report.lost, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invariants: files of versions inside the window must exist, older ones may go", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snapshot = await createKeyedTable(storage, { clock });
  const keys: string[] = [];
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    const batch = keysOf(`w${i}`, 3);
    snapshot = await appendKeys(storage, snapshot, batch, { clock });
    keys.push(...batch);
  }
  const beforeCompaction = snapshot.version; // 4, committed at t0 + 4 s
  const oldFiles = snapshot.files.map((f) => f.path).sort();
  clock.advance(HOUR_MS);
  snapshot = (await compactTable(storage, snapshot, { clock, minFiles: 2 })).snapshot;
  clock.advance(2 * HOUR_MS);
  // Vacuum with retention 0 deletes what version 4 needs.
  const vacuumed = await vacuumTable(storage, snapshot, {
    clock,
    retentionHours: 0,
    enforceRetention: false,
  });
  assert.deepEqual(vacuumed.files.map((f) => f.path).sort(), oldFiles);
  const access = storageTableAccess(storage);
  // A window of 4 h reaches back to version 4: its files are missing.
  const wide = await checkInvariants(access, {
    ...options(keys),
    nowMs: clock.nowMs(),
    retentionMs: 4 * HOUR_MS,
  });
  assert.deepEqual(
    wide.missingFiles,
    oldFiles.map((path) => ({ version: beforeCompaction, path })),
  );
  assert.deepEqual(wide.lost, []);
  assert.deepEqual(wide.unreadable, []);
  // A window of 2.5 h starts after the compaction: nothing is missing.
  const narrow = await checkInvariants(access, {
    ...options(keys),
    nowMs: clock.nowMs(),
    retentionMs: 2.5 * HOUR_MS,
  });
  assert.deepEqual(narrow.missingFiles, []);
  assert.ok(narrow.ok, JSON.stringify(narrow));
});

Deno.test("invariants: a file committed after the listing is confirmed, not reported", async () => {
  const { dir, keys } = await localTable(2);
  try {
    const late = await fileHolding(dir, "k1-0");
    const local = localTableAccess(dir);
    // The listing does not see `late` (as if it was committed after the list call).
    const racing: TableAccess = {
      ...local,
      list: async (prefix) => (await local.list(prefix)).filter((o) => o.path !== late),
      get: (path) => local.get(path),
    };
    const report = await checkInvariants(racing, options(keys));
    assert.ok(report.ok, JSON.stringify(report));
    // The same listing with the file really gone: reported.
    await Deno.remove(`${dir}/${late}`);
    const gone = await checkInvariants(racing, options(keys));
    assert.deepEqual(gone.missingFiles.map((m) => m.path), [late]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
