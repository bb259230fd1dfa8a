/**
 * Vacuum while writers keep appending and a compactor keeps compacting: no appended row is lost.
 *
 * The clock only moves while no write has been in flight for more than half the retention, which
 * is the precondition vacuum states (never a retention shorter than the longest write); within it,
 * tombstones of the compactions expire and vacuum really deletes files while the writers run.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createManualClock } from "../core/clock.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { appendBatch } from "../core/write/append_batch.ts";
import { createTable } from "../core/write/create_table.ts";
import { compactByHand } from "../plugins/vacuum/_testing.ts";
import { vacuumTable } from "../plugins/vacuum/mod.ts";

const MIN = 60_000;
const RETENTION_MIN = 10;

Deno.test("vacuum while writers append and a compactor compacts: no appended row is lost", async () => {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const schema = {
    type: "struct" as const,
    fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
  };
  await createTable(storage, { schema, clock });
  const inFlight = new Set<number>(); // start times of writes in progress
  const track = async <T>(fn: () => Promise<T>): Promise<T> => {
    const started = clock.nowMs();
    inFlight.add(started);
    try {
      return await fn();
    } finally {
      inFlight.delete(started);
    }
  };
  const WRITERS = 3;
  const APPENDS = 12;
  let writersDone = 0;
  const writer = async (w: number) => {
    for (let i = 0; i < APPENDS; i++) {
      const batch = createArrowTable(schema, [{ id: BigInt(w * 1000 + i) }]);
      for (;;) {
        const snap = await loadSnapshot(storage);
        const r = await track(() => appendBatch(storage, snap, batch, { clock }));
        if (r.ok) break;
      }
      await new Promise((res) => setTimeout(res, 0));
    }
    writersDone++;
  };
  const compactor = async () => {
    while (writersDone < WRITERS) {
      const snap = await loadSnapshot(storage);
      if (snap.files.length >= 4) {
        await track(() => compactByHand(storage, snap, snap.files, clock));
      }
      await new Promise((res) => setTimeout(res, 1));
    }
  };
  let deleted = 0;
  const vacuumer = async () => {
    while (writersDone < WRITERS) {
      const oldest = Math.min(...inFlight);
      if (inFlight.size === 0 || clock.nowMs() - oldest < (RETENTION_MIN / 2) * MIN) {
        clock.advance(MIN);
      }
      const r = await vacuumTable(storage, await loadSnapshot(storage), {
        clock,
        retentionHours: RETENTION_MIN / 60,
        enforceRetention: false,
      });
      deleted += r.files.length;
      await new Promise((res) => setTimeout(res, 0));
    }
  };
  await Promise.all([
    ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
    compactor(),
    vacuumer(),
  ]);
  clock.advance(2 * RETENTION_MIN * MIN);
  const last = await vacuumTable(storage, await loadSnapshot(storage), {
    clock,
    retentionHours: RETENTION_MIN / 60,
    enforceRetention: false,
  });
  deleted += last.files.length;
  assert.ok(deleted > 0, "vacuum must have deleted compacted-away files");

  const ids: bigint[] = [];
  const latest = await loadSnapshot(storage);
  for await (const batch of scanSnapshot(storage, latest)) {
    for (const row of batch) ids.push(row[0] as bigint);
  }
  const want = [];
  for (let w = 0; w < WRITERS; w++) {
    for (let i = 0; i < APPENDS; i++) want.push(BigInt(w * 1000 + i));
  }
  assert.deepEqual(ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), want);
});
