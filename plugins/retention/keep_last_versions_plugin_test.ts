import assert from "node:assert/strict";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { createTable } from "../../core/write/create_table.ts";
import { testContext } from "../_testing.ts";
import { PluginHookError } from "../errors.ts";
import { createPluginRegistry } from "../registry.ts";
import type { VacuumContext } from "../types.ts";
import { keepLastVersionsPlugin } from "./keep_last_versions_plugin.ts";

const schema = {
  type: "struct" as const,
  fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }],
};

Deno.test("keepLastVersionsPlugin: a vacuum context without a snapshot fails loudly", async () => {
  const storage = createMemoryStorage();
  await createTable(storage, { schema });
  const registry = createPluginRegistry([keepLastVersionsPlugin({ versions: 2 })]).freeze();
  // A context built by untyped code: the type requires the snapshot, this one has none.
  const { snapshot: _, ...rest } = testContext<VacuumContext>({ storage, operation: "vacuum" });
  const ctx = rest as unknown as VacuumContext;
  await assert.rejects(
    registry.runFilterVacuumCandidates(["part-0.parquet"], ctx),
    (e: unknown) =>
      e instanceof PluginHookError && e.plugin === "keep-last-versions" &&
      /the context has no snapshot/.test(String((e.cause as Error).message)),
  );
});

Deno.test("keepLastVersionsPlugin: with the snapshot, a young table spares every candidate", async () => {
  const storage = createMemoryStorage();
  const snapshot = await createTable(storage, { schema });
  const registry = createPluginRegistry([keepLastVersionsPlugin({ versions: 2 })]).freeze();
  const ctx = testContext<VacuumContext>({ storage, snapshot, operation: "vacuum" });
  // Version 0 is younger than the two versions kept: nothing may go yet.
  assert.deepEqual(await registry.runFilterVacuumCandidates(["part-0.parquet"], ctx), []);
});
