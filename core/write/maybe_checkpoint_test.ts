import { deepEqual, equal, ok } from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { createArrowTable } from "../parquet/mod.ts";
import type { StructType } from "../schema/types.ts";
import { loadSnapshot } from "../snapshot/mod.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { appendBatch } from "./append_batch.ts";
import { createTable } from "./create_table.ts";
import { maybeCheckpoint } from "./maybe_checkpoint.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [{ name: "x", type: "long", nullable: false, metadata: {} }],
};
const DAY_MS = 86_400_000;

async function history(cleanup: "true" | "false") {
  const clock = createManualClock(Date.UTC(2024, 0, 1));
  const storage = createMemoryStorage({ clock });
  let snapshot = await createTable(storage, {
    schema: SCHEMA,
    configuration: { "delta.checkpointInterval": "2", "delta.enableExpiredLogCleanup": cleanup },
    clock,
  });
  const results = [];
  for (let i = 0; i < 6; i++) {
    // Versions 1..4 are written on day 0; 5 and 6 forty days later.
    if (i === 4) clock.advance(40 * DAY_MS);
    const r = await appendBatch(storage, snapshot, createArrowTable(SCHEMA, [{ x: BigInt(i) }]), {
      clock,
    });
    ok(r.ok);
    snapshot = r.snapshot;
    results.push(await maybeCheckpoint(storage, snapshot, { clock }));
  }
  const logFiles = storage.snapshotPaths().filter((p) => p.startsWith("_delta_log/0"));
  return { storage, snapshot, results, logFiles };
}

Deno.test("maybeCheckpoint writes at the interval and then cleans up expired log files", async () => {
  const { storage, results, logFiles } = await history("true");
  deepEqual(results.map((r) => r.written), [false, true, false, true, false, true]);
  const last = results[5]!;
  ok(last.written && last.logCleanup.ran);
  // Everything strictly below the newest old-enough checkpoint (version 4) is gone.
  deepEqual(logFiles, [
    "_delta_log/00000000000000000004.checkpoint.parquet",
    "_delta_log/00000000000000000004.json",
    "_delta_log/00000000000000000005.json",
    "_delta_log/00000000000000000006.checkpoint.parquet",
    "_delta_log/00000000000000000006.json",
  ]);
  const reloaded = await loadSnapshot(storage);
  equal(reloaded.version, 6);
  equal(reloaded.files.length, 6);
});

Deno.test("maybeCheckpoint keeps the log when delta.enableExpiredLogCleanup is false", async () => {
  const { results, logFiles } = await history("false");
  const last = results[5]!;
  ok(last.written && !last.logCleanup.ran);
  equal(logFiles.filter((p) => p.endsWith(".json")).length, 7);
});
