import assert from "node:assert/strict";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { testAdd, testContext, testSnapshot } from "./_testing.ts";
import { compactionPlugin } from "./compaction/compaction_plugin.ts";
import { createCompactionContext } from "./compaction/compaction_context.ts";
import { createPluginRegistry } from "./registry.ts";
import type {
  CompactContext,
  CompactionLimits,
  PluginContext,
  VacuumContext,
  WriteContext,
} from "./types.ts";

Deno.test("contexts: limits are typed per operation; the misspelt key does not compile", () => {
  const limits: CompactionLimits = { targetSizeBytes: 1 << 20, minFiles: 3 };
  // @ts-expect-error: `fileBytesTarget` was documented once but never read; it is no limit.
  const wrong: CompactionLimits = { fileBytesTarget: 5 };
  assert.equal(limits.minFiles, 3);
  assert.ok(wrong);
  // Narrowed by its operation, a context has its own limits.
  const limitOf = (ctx: PluginContext) => {
    if (ctx.operation === "vacuum") return ctx.limits.retentionMs;
    if (ctx.operation === "compact") return ctx.limits.minFiles;
    // @ts-expect-error: a write context has no compaction limits.
    return ctx.limits.minFiles;
  };
  assert.equal(limitOf(testContext<VacuumContext>({ operation: "vacuum", limits: {} })), undefined);
  assert.equal(limitOf(testContext<CompactContext>({ operation: "compact", limits })), 3);
  assert.equal(limitOf(testContext<WriteContext>()), undefined);
});

Deno.test("contexts: the snapshot is required where the operation has one", () => {
  const { snapshot, ...withoutSnapshot } = testContext<WriteContext>();
  // @ts-expect-error: a write context without its snapshot does not compile.
  const write: WriteContext = withoutSnapshot;
  // @ts-expect-error: nor a compaction's.
  const compact: CompactContext = { ...withoutSnapshot, operation: "compact", limits: {} };
  // @ts-expect-error: nor a vacuum's.
  const vacuum: VacuumContext = { ...withoutSnapshot, operation: "vacuum", limits: {} };
  assert.ok(snapshot && write && compact && vacuum);
});

Deno.test("compactionPlugin reads targetSizeBytes and minFiles from the context's limits", async () => {
  const snapshot = { ...testSnapshot([]), files: ["a", "b", "c"].map((p) => testAdd(p, 10)) };
  const registry = createPluginRegistry([compactionPlugin({ minFiles: 2 })]).freeze();
  const plan = (limits: CompactionLimits) =>
    registry.runPlanCompaction(
      snapshot,
      createCompactionContext(createMemoryStorage(), snapshot, { limits }),
    );
  assert.equal((await plan({}))?.length, 1, "the plugin's own minFiles: 2");
  assert.deepEqual(await plan({ minFiles: 4 }), [], "the limit overrides it");
  assert.deepEqual(await plan({ targetSizeBytes: 10 }), [], "files at the target are not small");
});
