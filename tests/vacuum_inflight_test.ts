/**
 * The floor of vacuum (ADR 0019): an unreferenced file younger than one hour is never deleted,
 * whatever the retention, so a commit that lands after vacuum ran still finds its data files; and
 * the leftover `.tmp-*` files of crashed local puts are swept once past the horizon and the floor.
 *
 * The reproduction: a writer writes its data files, vacuum runs with a retention of one minute (the
 * table's, or `retentionHours: 0` with enforcement off, or a plugin asking for less), then the
 * writer's commit lands; before the floor the commit succeeded and every scan failed with NotFound.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createManualClock, type ManualClock } from "../core/clock.ts";
import { commitActions } from "../core/log/commit.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { loadSnapshot, type Snapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage, TEMP_FILE_PREFIX } from "../core/storage/local.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { createTable } from "../core/write/create_table.ts";
import { writeDataFiles } from "../core/write/write_data_files.ts";
import { compactByHand } from "../plugins/vacuum/_testing.ts";
import { createPluginRegistry } from "../plugins/registry.ts";
import { PLUGIN_API_VERSION } from "../plugins/types.ts";
import { UNREFERENCED_FILE_AGE_MIN_MS, vacuumTable } from "../plugins/vacuum/mod.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const schema = {
  type: "struct" as const,
  fields: [
    { name: "id", type: "long" as const, nullable: false, metadata: {} },
    { name: "date", type: "string" as const, nullable: true, metadata: {} },
  ],
};
const ONE_MINUTE = { "delta.deletedFileRetentionDuration": "interval 1 minutes" };

async function ids(storage: ObjectStorage, snapshot: Snapshot): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const row of batch) out.push(row[0] as bigint);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Each backend the floor must hold on, with a clock that agrees with its modification times. */
const backends: { name: string; open: () => Promise<[ObjectStorage, ManualClock, () => void]> }[] =
  [
    {
      name: "memory",
      open: () => {
        const clock = createManualClock(Date.UTC(2025, 0, 1));
        return Promise.resolve([createMemoryStorage({ clock }), clock, () => {}]);
      },
    },
    {
      name: "local disk",
      open: async () => {
        const dir = await Deno.makeTempDir({ prefix: "lakestrike-vacuum-inflight-" });
        const cleanup = () => Deno.removeSync(dir, { recursive: true });
        return [createLocalStorage(dir), createManualClock(Date.now()), cleanup];
      },
    },
  ];

for (const backend of backends) {
  Deno.test(`vacuum with a one-minute retention keeps the files of a commit about to land (${backend.name})`, async () => {
    const [storage, clock, cleanup] = await backend.open();
    try {
      const v0 = await createTable(storage, {
        schema,
        partitionColumns: ["date"],
        configuration: ONE_MINUTE,
        clock,
      });
      // A writer writes its data files, then is slow to commit (a paused process, slow storage).
      const batch = createArrowTable(schema, [
        { id: 1n, date: "2025-01-01" },
        { id: 2n, date: "2025-01-02" },
      ]);
      const adds = await writeDataFiles(storage, v0, batch, { clock });
      assert.equal(adds.length, 2);
      clock.advance(10 * MIN);

      // The table's retention, a retention of 0 without enforcement, and a plugin asking for an
      // even later horizon: none may delete them.
      const eager = createPluginRegistry([{
        name: "eager",
        apiVersion: PLUGIN_API_VERSION,
        hooks: { retentionHorizon: (_s, ctx) => ctx.clock.nowMs() },
      }]).freeze();
      for (
        const options of [
          {},
          { retentionHours: 0, enforceRetention: false },
          { retentionHours: 0, enforceRetention: false, plugins: eager },
        ]
      ) {
        const r = await vacuumTable(storage, v0, { clock, ...options });
        assert.deepEqual(r.files, [], JSON.stringify(options));
        assert.equal(r.unreferencedHorizonMs, clock.nowMs() - UNREFERENCED_FILE_AGE_MIN_MS);
      }
      for (const add of adds) assert.ok(await storage.head(add.path), `${add.path} deleted`);

      // The commit lands, and the table reads back whole.
      const committed = await commitActions(storage, v0, {
        operation: "WRITE",
        actions: adds.map((add) => ({ add })),
      }, { clock });
      assert.ok(committed.ok);
      assert.deepEqual(await ids(storage, await loadSnapshot(storage)), [1n, 2n]);
    } finally {
      cleanup();
    }
  });
}

Deno.test("vacuum floor: unreferenced files go after an hour; removed files keep the retention", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snap: Snapshot = await createTable(storage, { schema, configuration: ONE_MINUTE, clock });
  for (const id of [1n, 2n, 3n]) {
    const adds = await writeDataFiles(
      storage,
      snap,
      createArrowTable(schema, [{ id, date: "d" }]),
      { clock },
    );
    const r = await commitActions(storage, snap, {
      operation: "WRITE",
      actions: adds.map((add) => ({ add })),
    }, { clock });
    assert.ok(r.ok);
    snap = r.snapshot;
  }
  const compacted = await compactByHand(storage, snap, snap.files, clock);
  assert.ok(compacted.ok);
  snap = compacted.snapshot;
  const removed = snap.tombstones.map((t) => t.path).sort();
  // A writer that crashed after writing its file.
  const [crashed] = await writeDataFiles(
    storage,
    snap,
    createArrowTable(schema, [{ id: 9n, date: "d" }]),
    { clock },
  );

  // Two minutes on: the removed files are past the one-minute retention and go; the crashed
  // writer's file is unreferenced and stays until it is an hour old.
  clock.advance(2 * MIN);
  const r1 = await vacuumTable(storage, snap, { clock });
  assert.deepEqual(r1.files.map((f) => f.path), removed);
  assert.ok(await storage.head(crashed!.path));

  clock.advance(UNREFERENCED_FILE_AGE_MIN_MS - 2 * MIN);
  const atFloor = await vacuumTable(storage, snap, { clock });
  assert.deepEqual(atFloor.files, [], "not strictly older than the floor yet");
  clock.advance(1);
  const r2 = await vacuumTable(storage, snap, { clock });
  assert.deepEqual(r2.files.map((f) => f.path), [crashed!.path]);
  assert.deepEqual(await ids(storage, await loadSnapshot(storage)), [1n, 2n, 3n]);
});

Deno.test("vacuum sweeps old .tmp- files of crashed local puts, never _delta_log/.tmp/", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-vacuum-tmp-" });
  try {
    const storage = createLocalStorage(dir);
    const clock = createManualClock(Date.now());
    const v0 = await createTable(storage, { schema, partitionColumns: ["date"], clock });
    const adds = await writeDataFiles(
      storage,
      v0,
      createArrowTable(schema, [{ id: 1n, date: "2025-01-01" }]),
      { clock },
    );
    const r = await commitActions(storage, v0, {
      operation: "WRITE",
      actions: adds.map((add) => ({ add })),
    }, { clock });
    assert.ok(r.ok);

    const t = TEMP_FILE_PREFIX;
    const swept = [
      `${t}crashed-root`,
      `_delta_log/${t}crashed-checkpoint`,
      `date=2025-01-01/${t}crashed-data`,
    ];
    const kept = [
      "_delta_log/.tmp/00000000000000000002.json.4b1c", // the DynamoDB log store's
      `_delta_log/.tmp/${t}inside-dynamodb-temp-dir`,
      `_lakestrike/locks/${t}lock`, // another hidden directory
    ];
    const age = async (path: string, ms: number) => {
      const at = new Date(Date.now() - ms);
      await Deno.utime(`${dir}/${path}`, at, at);
    };
    for (const path of [...swept, ...kept]) {
      await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/") + 1)}`, { recursive: true });
      await Deno.writeFile(`${dir}/${path}`, new Uint8Array(5));
      await age(path, 30 * DAY);
    }
    // A put in flight (just written) and one older than the floor but inside the retention.
    await Deno.writeFile(`${dir}/date=2025-01-01/${t}in-flight`, new Uint8Array(5));
    await Deno.writeFile(`${dir}/date=2025-01-01/${t}two-hours`, new Uint8Array(5));
    await age(`date=2025-01-01/${t}two-hours`, 2 * HOUR);

    const dry = await vacuumTable(storage, r.snapshot, { clock, dryRun: true });
    assert.deepEqual(dry.files.map((f) => f.path), swept.toSorted());
    const done = await vacuumTable(storage, r.snapshot, { clock });
    assert.deepEqual(done.files.map((f) => f.path), swept.toSorted());
    for (const path of swept) {
      await assert.rejects(Deno.stat(`${dir}/${path}`), Deno.errors.NotFound, path);
    }
    for (const path of kept) await Deno.stat(`${dir}/${path}`);
    await Deno.stat(`${dir}/date=2025-01-01/${t}in-flight`);
    await Deno.stat(`${dir}/date=2025-01-01/${t}two-hours`);

    // With a retention of 0 the floor still keeps the fresh one.
    const zero = await vacuumTable(storage, await loadSnapshot(storage), {
      clock,
      retentionHours: 0,
      enforceRetention: false,
    });
    assert.deepEqual(zero.files.map((f) => f.path), [`date=2025-01-01/${t}two-hours`]);
    await Deno.stat(`${dir}/date=2025-01-01/${t}in-flight`);
    assert.deepEqual(await ids(storage, await loadSnapshot(storage)), [1n]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
