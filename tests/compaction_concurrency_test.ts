/**
 * Compaction beside live writers: ten writers keep appending idempotent batches (`txn`) while
 * compaction runs repeatedly, on memory storage with random delays at every storage call. At the end
 * every appended row is there exactly once, and every compaction run finished.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { compactTable } from "../plugins/compaction/mod.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "writer", type: "integer", nullable: false, metadata: {} },
    { name: "seq", type: "integer", nullable: false, metadata: {} },
    { name: "day", type: "string", nullable: true, metadata: {} },
  ],
};

/** A deterministic pseudo-random source (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("compaction while 10 writers append: every row exactly once, compaction finished", async () => {
  const seed = 20240917;
  const rand = random(seed);
  const storage = createMemoryStorage({
    faults: {
      before: () =>
        rand() < 0.3 ? new Promise((r) => setTimeout(r, Math.floor(rand() * 3))) : undefined,
    },
  });
  const v0 = await createTable(storage, { schema, partitionColumns: ["day"] });
  const writers = 10;
  const batchesPerWriter = 12;
  const writer = async (w: number) => {
    let snapshot = v0;
    for (let seq = 0; seq < batchesPerWriter; seq++) {
      const day = seq % 2 === 0 ? "2024-01-01" : "2024-01-02";
      const batch = createArrowTable(schema, [{ writer: w, seq, day }]);
      for (let attempt = 0;; attempt++) {
        const r = await appendBatch(storage, snapshot, batch, {
          txn: { appId: `writer-${w}`, version: seq },
        });
        snapshot = r.snapshot;
        if (r.ok) break;
        ok(attempt < 20, `writer ${w} seq ${seq}: ${r.reason}`);
        snapshot = await loadSnapshot(storage, {});
      }
    }
  };
  let compactions = 0;
  let compacted = 0;
  let writing = true;
  const compactor = async () => {
    while (writing) {
      const snapshot = await loadSnapshot(storage, {});
      const result = await compactTable(storage, snapshot, { minFiles: 3, commitIntervalBins: 1 });
      compactions++;
      compacted += result.metrics.numFilesRemoved;
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const done = Promise.all(Array.from({ length: writers }, (_, w) => writer(w))).finally(() => {
    writing = false;
  });
  await Promise.all([done, compactor()]);
  // One last run after the writers stopped.
  const final = await compactTable(storage, await loadSnapshot(storage, {}), { minFiles: 2 });
  ok(compactions >= 2, "compaction ran fewer than twice beside the writers");
  ok(compacted > 0, `seed ${seed}: nothing was compacted while the writers appended`);
  ok(compacted + final.metrics.numFilesRemoved > 0, `seed ${seed}: nothing was compacted`);

  const after = await loadSnapshot(storage, {});
  const seen: string[] = [];
  for await (const rows of scanSnapshot(storage, after)) {
    for (const [w, seq, day] of rows) seen.push(`${w}/${seq}/${day}`);
  }
  const expected: string[] = [];
  for (let w = 0; w < writers; w++) {
    for (let seq = 0; seq < batchesPerWriter; seq++) {
      expected.push(`${w}/${seq}/${seq % 2 === 0 ? "2024-01-01" : "2024-01-02"}`);
    }
  }
  deepEqual(seen.sort(), expected.sort(), `seed ${seed}`);
  equal(after.files.length, 2, "the final run leaves one file per partition");
  for (let w = 0; w < writers; w++) equal(after.txns.get(`writer-${w}`)?.version, 11);
});
