import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createManualClock } from "../core/clock.ts";
import { createStorageLock } from "../core/lock/mod.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { createMemoryLogger } from "../plugins/logger.ts";
import { createPluginRegistry } from "../plugins/registry.ts";
import { partitionTtlPlugin } from "../plugins/retention/mod.ts";
import { applyVacuum } from "./apply_vacuum.ts";
import { MaintenanceLockHeldError, maintenanceLockPath } from "./maintenance_lock.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "x", type: "long", nullable: true, metadata: {} },
    { name: "date", type: "date", nullable: true, metadata: {} },
  ],
};
const NOW = Date.UTC(2025, 5, 1);

/** Rows in an expired partition (2025-01-01) and a live one (2025-05-31). */
async function table(configuration: Record<string, string> = {}) {
  const clock = createManualClock(NOW);
  const storage = createMemoryStorage({ clock });
  let snapshot = await createTable(storage, {
    schema: SCHEMA,
    partitionColumns: ["date"],
    configuration,
    clock,
  });
  for (const date of ["2025-01-01", "2025-01-01", "2025-05-31"]) {
    const r = await appendBatch(storage, snapshot, createArrowTable(SCHEMA, [{ x: 1n, date }]), {
      clock,
    });
    if (!r.ok) throw new Error(r.reason);
    snapshot = r.snapshot;
  }
  clock.advance(1);
  return { storage, clock, snapshot };
}

const ttl = () => createPluginRegistry([partitionTtlPlugin({ column: "date", days: 30 })]).freeze();

Deno.test("applyVacuum: the retention plugins' removes are committed, then vacuumed", async () => {
  const { storage, clock, snapshot } = await table();
  const expired = snapshot.files.filter((f) => f.partitionValues.date === "2025-01-01");
  const r = await applyVacuum({ storage }, {
    plugins: ttl(),
    clock,
    retentionHours: 0,
    enforceRetention: false,
  });
  deepEqual(r.retention?.files.map((f) => f.path), expired.map((f) => f.path));
  equal(r.retention?.version, snapshot.version + 1);
  deepEqual(r.vacuum.files.map((f) => f.path).sort(), expired.map((f) => f.path).sort());
  const after = await loadSnapshot(storage);
  deepEqual(after.files.map((f) => f.partitionValues.date), ["2025-05-31"]);
  for (const f of expired) equal(await storage.head(f.path), undefined);
  equal(r.logs, undefined);
});

Deno.test("applyVacuum: a dry run lists the expired files and changes nothing, without the lease", async () => {
  const { storage, clock, snapshot } = await table();
  const objects = storage.snapshotPaths();
  const r = await applyVacuum({ storage }, { plugins: ttl(), clock, dryRun: true, logs: true });
  equal(r.retention?.files.length, 2);
  equal(r.retention?.version, undefined);
  equal(r.logs?.skipped, "no_checkpoint");
  deepEqual(storage.snapshotPaths(), objects);
  equal((await loadSnapshot(storage)).version, snapshot.version);
});

Deno.test("applyVacuum: no retention hooks, retention turned off, or an append-only table: no DELETE", async () => {
  for (
    const [options, configuration] of [
      [{}, {}],
      [{ plugins: ttl(), dataRetention: false }, {}],
      [{ plugins: ttl() }, { "delta.appendOnly": "true" }],
    ] as const
  ) {
    const { storage, clock, snapshot } = await table(configuration);
    const logger = createMemoryLogger();
    const r = await applyVacuum({ storage }, { ...options, clock, logger });
    equal(r.vacuum.files.length, 0);
    equal((await loadSnapshot(storage)).files.length, 3);
    equal(r.vacuum.version, snapshot.version, "no DELETE commit before the vacuum");
    if (configuration["delta.appendOnly"]) {
      deepEqual(r.retention, { files: [], skipped: "append_only" });
      ok(logger.records.some((x) => /append-only/.test(x.message)));
    } else {
      equal(r.retention, undefined);
    }
  }
});

Deno.test("applyVacuum: a lease held elsewhere fails with MaintenanceLockHeldError", async () => {
  const { storage, clock } = await table();
  const lease = await createStorageLock(storage, maintenanceLockPath("vacuum"))
    .tryAcquire("operator", 60_000);
  ok(lease);
  await rejects(applyVacuum({ storage }, { plugins: ttl(), clock }), MaintenanceLockHeldError);
  equal((await loadSnapshot(storage)).files.length, 3, "nothing removed");
  await lease.release();
});
