/**
 * Maintenance on a host whose clock is behind the storage's (the chaos run restarts runners with
 * their clock an hour back): what it removes must stay readable for the table's retention.
 */
import { deepEqual, equal } from "node:assert/strict";
import { createManualClock } from "../core/clock.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { createPluginRegistry } from "../plugins/registry.ts";
import { partitionTtlPlugin } from "../plugins/retention/mod.ts";
import { applyCompaction } from "./apply_compaction.ts";
import { applyVacuum } from "./apply_vacuum.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "date", type: "date", nullable: true, metadata: {} },
  ],
};
const HOUR_MS = 3_600_000;
const RETENTION = { "delta.deletedFileRetentionDuration": "interval 20 seconds" };

/** A table of eight one-row files of `date`, on a storage whose clock is `storageClock`. */
async function table(date: string) {
  const storageClock = createManualClock(Date.UTC(2026, 10, 4, 12));
  const storage = createMemoryStorage({ clock: storageClock, location: "memory://lake/events" });
  let snapshot = await createTable(storage, {
    schema: SCHEMA,
    partitionColumns: ["date"],
    configuration: RETENTION,
    clock: storageClock,
  });
  for (let i = 0; i < 8; i++) {
    const batch = createArrowTable(SCHEMA, [{ id: BigInt(i), date }]);
    const r = await appendBatch(storage, snapshot, batch, { clock: storageClock });
    if (!r.ok) throw new Error(r.reason);
    snapshot = r.snapshot;
  }
  storageClock.advance(60_000); // the files are a minute old
  return { storage, storageClock, inputs: snapshot.files.map((f) => f.path).sort() };
}

const vacuumed = async (storage: ReturnType<typeof createMemoryStorage>, nowMs: number) =>
  (await applyVacuum({ storage }, { clock: createManualClock(nowMs) })).vacuum.files
    .map((f) => f.path).sort();

/** A vacuum on the storage's clock keeps `removed` 5 s later and deletes them 25 s later. */
async function keptForTheRetention(
  { storage, storageClock }: Awaited<ReturnType<typeof table>>,
  removed: string[],
): Promise<void> {
  storageClock.advance(5_000);
  deepEqual(await vacuumed(storage, storageClock.nowMs()), [], "vacuumed inside the retention");
  storageClock.advance(20_000);
  deepEqual(await vacuumed(storage, storageClock.nowMs()), removed);
}

Deno.test("a compaction whose clock is an hour behind: its inputs outlive the retention", async () => {
  const t = await table("2026-11-04");
  const { storage, storageClock, inputs } = t;
  const behind = createManualClock(storageClock.nowMs() - HOUR_MS);
  const r = await applyCompaction({ storage }, { clock: behind });
  equal(r.status, "done");
  const removes = (await loadSnapshot(storage)).tombstones;
  deepEqual(removes.map((t) => t.path).sort(), inputs);
  for (const remove of removes) {
    // Stamped with the table's time, not the host's: a reader of the version before the
    // compaction keeps 20 seconds to finish.
    equal(
      remove.deletionTimestamp! >= storageClock.nowMs() - 1_000,
      true,
      String(remove.deletionTimestamp),
    );
  }
  await keptForTheRetention(t, inputs);
});

Deno.test("data retention whose clock is an hour behind: its removes outlive the retention", async () => {
  const t = await table("2026-01-01");
  const { storage, storageClock, inputs } = t;
  const registry = createPluginRegistry([partitionTtlPlugin({ column: "date", days: 30 })])
    .freeze();
  const behind = createManualClock(storageClock.nowMs() - HOUR_MS);
  const r = await applyVacuum({ storage }, { plugins: registry, clock: behind });
  deepEqual(r.retention?.files.map((f) => f.path).sort(), inputs);
  deepEqual(r.vacuum.files, [], "a clock behind deletes nothing it just removed");
  await keptForTheRetention(t, inputs);
});

Deno.test("a vacuum whose clock is two hours ahead deletes nothing young", async () => {
  const { storage, storageClock, inputs } = await table("2026-11-04");
  // A data file a writer has written and not yet committed, and a compaction's fresh removes.
  await storage.put("date=2026-11-04/part-uncommitted.parquet", new Uint8Array(8));
  equal((await applyCompaction({ storage }, { clock: storageClock })).status, "done");
  storageClock.advance(5_000);
  const ahead = createManualClock(storageClock.nowMs() + 2 * HOUR_MS);
  deepEqual((await applyVacuum({ storage }, { clock: ahead })).vacuum.files, []);
  storageClock.advance(20_000);
  deepEqual(await vacuumed(storage, storageClock.nowMs()), inputs);
});
