import { deepEqual, equal, ok } from "node:assert/strict";
import {
  appendBatch,
  compactTable,
  createArrowTable,
  createManualClock,
  createMemoryStorage,
  createTable,
  scanSnapshot,
  type StructType,
} from "@lakestrike/lakestrike";
import {
  compactionPlugin,
  createCompactionContext,
  createPluginRegistry,
} from "@lakestrike/lakestrike/plugins";
import { coldCompactionPlugin } from "./cold_compaction_plugin.ts";

const schema: StructType = {
  type: "struct",
  fields: [{ name: "id", type: "long", nullable: false, metadata: {} }],
};

Deno.test("coldCompactionPlugin: registered first, it compacts only cold files", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(0);
  let snapshot = await createTable(storage, { schema, clock });
  for (let i = 0; i < 8; i++) {
    // Six files at t=0..5 s, two written an hour later.
    clock.set(i < 6 ? i * 1000 : 3_600_000 + i);
    const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]), {
      clock,
    });
    ok(r.ok);
    snapshot = r.snapshot;
  }
  clock.set(3_600_000 + 5_000);
  const registry = createPluginRegistry([
    coldCompactionPlugin({ minAgeMs: 3_600_000, minFiles: 2 }),
    compactionPlugin(),
  ]).freeze();
  const result = await compactTable(storage, snapshot, {
    clock,
    planner: (s) => registry.runPlanCompaction(s, createCompactionContext(storage, s, { clock })),
  });
  equal(result.plan.length, 1);
  equal(result.plan[0]!.files.length, 6);
  equal(result.snapshot.files.length, 3, "one compacted file and the two hot ones");
  const ids: bigint[] = [];
  for await (const rows of scanSnapshot(storage, result.snapshot)) {
    for (const r of rows) ids.push(r[0] as bigint);
  }
  deepEqual(ids.sort((a, b) => Number(a - b)), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);

  // Nothing cold left to pack: the plugin still answers (an empty plan), so the built-in
  // planner after it is not asked and the hot files stay.
  const second = await compactTable(storage, result.snapshot, {
    clock,
    planner: (s) => registry.runPlanCompaction(s, createCompactionContext(storage, s, { clock })),
  });
  deepEqual(second.plan, []);
});
