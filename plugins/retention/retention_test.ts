import assert from "node:assert/strict";
import { createManualClock } from "../../core/clock.ts";
import { isLakestrikeError } from "../../core/errors.ts";
import type { Action } from "../../core/log/actions.ts";
import { writeCheckpoint } from "../../core/log/checkpoint_write.ts";
import { commitActions } from "../../core/log/commit.ts";
import { commitPath } from "../../core/log/paths.ts";
import { loadSnapshot } from "../../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { createTable } from "../../core/write/create_table.ts";
import { createPluginRegistry } from "../registry.ts";
import { vacuumTable } from "../vacuum/vacuum_table.ts";
import { applyDataRetention } from "./apply_data_retention.ts";
import { lastVersionsHorizon } from "./keep_last_versions_plugin.ts";
import {
  keepLastVersionsPlugin,
  partitionEndMs,
  partitionTtlPlugin,
  planPartitionTtl,
} from "./mod.ts";

const DAY = 86_400_000;
const schema = {
  type: "struct" as const,
  fields: [
    { name: "x", type: "long" as const, nullable: true, metadata: {} },
    { name: "day", type: "date" as const, nullable: true, metadata: {} },
  ],
};
const xSchema = {
  type: "struct" as const,
  fields: [{ name: "x", type: "long" as const, nullable: true, metadata: {} }],
};
const add = (day: string | null, n: number) => ({
  add: {
    path: `day=${day ?? "__HIVE_DEFAULT_PARTITION__"}/f${n}.parquet`,
    partitionValues: { day },
    size: 10,
    modificationTime: 0,
    dataChange: true,
  },
});

Deno.test("partitionTtl: expires whole days older than the limit, never null or junk", async () => {
  const clock = createManualClock(Date.UTC(2025, 2, 10, 12));
  const storage = createMemoryStorage({ clock });
  const v0 = await createTable(storage, { schema, partitionColumns: ["day"], clock });
  const v1 = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: [add("2025-03-01", 1), add("2025-03-02", 2), add("2025-03-03", 3), add(null, 4)],
  }, { clock });
  assert.ok(v1.ok);
  // Limit: 2025-03-03 12:00. Day 03-02 ended at 03-03 00:00 (expired); 03-03 not yet.
  const expired = planPartitionTtl(v1.snapshot, { column: "day", days: 7 }, clock.nowMs());
  assert.deepEqual(expired.map((f) => f.partitionValues.day), ["2025-03-01", "2025-03-02"]);
  assert.throws(
    () => planPartitionTtl(v1.snapshot, { column: "x", days: 1 }, 0),
    /not a partition column/,
  );
  assert.throws(() => partitionTtlPlugin({ column: "day", days: -1 }));

  const r = await applyDataRetention(storage, v1.snapshot, [
    partitionTtlPlugin({ column: "day", days: 7 }),
  ], {
    clock,
  });
  assert.equal(r.version, 2);
  assert.deepEqual(
    r.snapshot.files.map((f) => f.partitionValues.day).sort(),
    ["2025-03-03", null].sort(),
  );
  for (const t of r.snapshot.tombstones) {
    assert.equal(t.deletionTimestamp, clock.nowMs());
    assert.equal(t.dataChange, true);
  }
  const ttl = (days: number) => [partitionTtlPlugin({ column: "day", days })];
  const seven = await applyDataRetention(storage, r.snapshot, ttl(7), { clock, dryRun: true });
  assert.equal(seven.files.length, 0); // 03-03 ends 03-04 00:00, after the limit; null never expires
  const six = await applyDataRetention(storage, r.snapshot, ttl(6), { clock, dryRun: true });
  assert.deepEqual(six.files.map((f) => f.partitionValues.day), ["2025-03-03"]);
  assert.equal(six.version, undefined, "a dry run commits nothing");
});

Deno.test("partitionTtl: a timestamp partition value that names no instant never expires", () => {
  // Date.UTC carried hour 25 and minute 61 into the next day and hour.
  for (const text of ["2024-01-31 25:00:00", "2024-01-31 10:61:00", "2024-01-31 10:00:60"]) {
    assert.equal(partitionEndMs(text, "timestamp"), undefined, text);
  }
  assert.equal(
    partitionEndMs("2024-01-31 10:00:00.000001", "timestamp"),
    Date.UTC(2024, 0, 31, 10) + 1,
  );
});

Deno.test("applyDataRetention refuses append-only tables", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, {
    schema,
    partitionColumns: ["day"],
    configuration: { "delta.appendOnly": "true" },
  });
  await assert.rejects(
    applyDataRetention(storage, v0, [partitionTtlPlugin({ column: "day", days: 1 })]),
    (e) => isLakestrikeError(e, "UNSUPPORTED_FEATURE"),
  );
});

Deno.test("keepLastVersions: horizon keeps exactly what the last K versions need", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snap: Snapshot = await createTable(storage, { schema, partitionColumns: ["day"], clock });
  const times: number[] = [clock.nowMs()];
  for (let i = 1; i <= 6; i++) {
    clock.advance(DAY);
    const actions = i % 2 === 0
      ? [{
        remove: {
          path: snap.files[0]!.path,
          deletionTimestamp: clock.nowMs() - 5,
          dataChange: true,
        },
      }]
      : [add("2025-01-01", i)];
    const r = await commitActions(storage, snap, { operation: "WRITE", actions }, { clock });
    assert.ok(r.ok);
    snap = r.snapshot;
    times.push(clock.nowMs());
  }
  // K = 3: versions 4..6; removes in 5..6: version 6 removes at times[6] - 5; commit time of 4.
  assert.equal(await lastVersionsHorizon(storage, snap, 3), Math.min(times[4]!, times[6]! - 5) - 1);
  // K = 2: versions 5..6; the remove in 6 (deletionTimestamp before version 5's time? no: after).
  assert.equal(await lastVersionsHorizon(storage, snap, 2), Math.min(times[5]!, times[6]! - 5) - 1);
  assert.equal(await lastVersionsHorizon(storage, snap, 7), 0, "all versions: keep everything");
  await storage.delete(["_delta_log/00000000000000000005.json"]);
  assert.equal(
    await lastVersionsHorizon(storage, snap, 3),
    0,
    "unreadable commit: keep everything",
  );
  assert.throws(() => keepLastVersionsPlugin({ versions: 0 }));
});

/** The klv repro: v1 adds A, v2 is the oldest kept of 3, v3 removes A, 8 days later v4. */
async function keptAfterTombstoneDropped(opts: { checkpoint: boolean; dropCommit?: number }) {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const s0 = await createTable(storage, { schema: xSchema, clock });
  let s: Snapshot = s0;
  const c = async (actions: Action[]) => {
    const r = await commitActions(storage, s, { operation: "WRITE", actions }, { clock });
    assert.ok(r.ok);
    s = r.snapshot;
  };
  for (const p of ["A.parquet", "B.parquet", "dv/deletion_vector_b.bin", "C.parquet"]) {
    await storage.put(p, new Uint8Array(10));
  }
  await storage.put("_change_data/cdc-1.parquet", new Uint8Array(10));
  await storage.put("stray.parquet", new Uint8Array(10));
  const file = (path: string, extra: Record<string, unknown> = {}) => ({
    path,
    partitionValues: {},
    size: 10,
    modificationTime: clock.nowMs(),
    dataChange: true,
    ...extra,
  });
  await c([{ add: file("A.parquet") }]); // v1
  clock.advance(DAY);
  await c([]); // v2: the oldest kept version
  clock.advance(DAY);
  await c([ // v3: A removed; B (with a DV file) and C added and removed again; a cdc file
    { remove: { path: "A.parquet", deletionTimestamp: clock.nowMs(), dataChange: true } },
    {
      add: file("B.parquet", {
        deletionVector: {
          storageType: "p",
          pathOrInlineDv: `${storage.location.replace(/\/+$/, "")}/dv/deletion_vector_b.bin`,
          offset: 1,
          sizeInBytes: 4,
          cardinality: 1,
        },
      }),
    },
    { add: file("C.parquet") },
    {
      cdc: { path: "_change_data/cdc-1.parquet", partitionValues: {}, size: 10, dataChange: false },
    },
  ]);
  clock.advance(DAY);
  await c([
    { remove: { path: "B.parquet", deletionTimestamp: clock.nowMs(), dataChange: true } },
    { remove: { path: "C.parquet", deletionTimestamp: clock.nowMs(), dataChange: true } },
  ]); // v4
  clock.advance(8 * DAY);
  await c([]); // v5
  if (opts.checkpoint) await writeCheckpoint(storage, s, { clock });
  if (opts.dropCommit !== undefined) await storage.delete([commitPath(opts.dropCommit)]);
  const latest = await loadSnapshot(storage, {});
  const plugins = createPluginRegistry([keepLastVersionsPlugin({ versions: 4 })]).freeze();
  const res = await vacuumTable(storage, latest, { clock, plugins });
  return res.files.map((f) => f.path);
}

Deno.test("keepLastVersions: spares the files of the kept versions after a checkpoint dropped their tombstones", async () => {
  // Without a checkpoint the tombstones keep them; with one, only the plugin's filter does.
  for (const checkpoint of [false, true]) {
    assert.deepEqual(await keptAfterTombstoneDropped({ checkpoint }), ["stray.parquet"]);
  }
});

Deno.test("keepLastVersions: spares every candidate when a kept version cannot be read", async () => {
  assert.deepEqual(await keptAfterTombstoneDropped({ checkpoint: true, dropCommit: 4 }), []);
});
