import { deepEqual, equal, throws } from "node:assert/strict";
import { createPluginRegistry } from "../plugins/registry.ts";
import { type Plugin, PLUGIN_API_VERSION } from "../plugins/types.ts";
import { createMaintenanceRegistry, maintenancePlugins } from "./maintenance_registry.ts";

const planner = (name: string): Plugin => ({
  name,
  apiVersion: PLUGIN_API_VERSION,
  hooks: { planCompaction: () => undefined },
});

Deno.test("createMaintenanceRegistry: the built-in planner is registered, asked after the caller's", () => {
  deepEqual(maintenancePlugins().map((p) => p.name), ["compaction"]);
  const fromList = createMaintenanceRegistry([planner("team")]);
  equal(fromList.frozen, true);
  deepEqual(fromList.hookOrder("planCompaction"), ["team", "compaction"]);
  deepEqual(createMaintenanceRegistry().hookOrder("planCompaction"), ["compaction"]);
  // A registry its owner froze is extended, not changed.
  const owned = createPluginRegistry([planner("team")]).freeze();
  const extended = createMaintenanceRegistry(owned);
  deepEqual(extended.hookOrder("planCompaction"), ["team", "compaction"]);
  deepEqual(owned.hookOrder("planCompaction"), ["team"]);
  equal(createMaintenanceRegistry(extended), extended, "never registered twice");
});

Deno.test("createMaintenanceRegistry: a plugin of a built-in's name replaces it", () => {
  const own = createMaintenanceRegistry([planner("compaction")]);
  deepEqual(own.hookOrder("planCompaction"), ["compaction"]);
  const frozen = createPluginRegistry([planner("compaction")]).freeze();
  equal(createMaintenanceRegistry(frozen), frozen);
  throws(() => createMaintenanceRegistry(createPluginRegistry([])), /not frozen/);
});
