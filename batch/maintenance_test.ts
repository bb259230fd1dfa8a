import { deepEqual, equal, match } from "node:assert/strict";
import { createStorageLock } from "../core/lock/mod.ts";
import { createArrowTable } from "../core/parquet/mod.ts";
import type { StructType } from "../core/schema/types.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { maintenanceLockPath } from "../ops/maintenance_lock.ts";
import { main as compactMain } from "./compact.ts";
import { createMaintenanceScheduler } from "./runner/maintenance_scheduler.ts";
import { parseVacuumArgs, runVacuum } from "./vacuum.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [{ name: "x", type: "long", nullable: false, metadata: {} }],
};

async function cli(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(script, import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

for (
  const [operation, script] of [["compact", "./compact.ts"], ["vacuum", "./vacuum.ts"]] as const
) {
  Deno.test(`${operation} refuses to run while another ${operation} holds the table's lock`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "lakestrike-lock-" });
    try {
      const storage = createLocalStorage(dir);
      let snapshot = await createTable(storage, { schema: SCHEMA });
      for (let i = 0; i < 6; i++) {
        const r = await appendBatch(
          storage,
          snapshot,
          createArrowTable(SCHEMA, [{ x: BigInt(i) }]),
        );
        if (r.ok) snapshot = r.snapshot;
      }
      const lock = createStorageLock(storage, maintenanceLockPath(operation));
      const lease = await lock.tryAcquire("someone-else", 60_000);
      equal(lease !== undefined, true);
      const held = await cli(script, [dir]);
      equal(held.code, 1);
      match(held.stderr, new RegExp(`another ${operation} job holds the lock`));
      equal(held.stderr.trim().split("\n").length, 1);
      await lease!.release();
      const free = await cli(script, [dir]);
      equal(free.code, 0, free.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the CLIs and the runner's schedule run maintenance through one path: same hooks, same calls", async () => {
  const root = await Deno.makeTempDir({ prefix: "lakestrike-one-path-" });
  try {
    // Two identical tables named "events": one for the CLIs, one for the schedule.
    const dirs = [`${root}/cli/events`, `${root}/runner/events`];
    for (const dir of dirs) {
      await Deno.mkdir(dir, { recursive: true });
      const storage = createLocalStorage(dir);
      let snapshot = await createTable(storage, { schema: SCHEMA });
      for (let i = 0; i < 5; i++) {
        const r = await appendBatch(
          storage,
          snapshot,
          createArrowTable(SCHEMA, [{ x: BigInt(i) }]),
        );
        if (r.ok) snapshot = r.snapshot;
      }
      await storage.put("stray.parquet", new Uint8Array(8)); // a crashed writer's, old enough
      const old = new Date(Date.now() - 30 * 86_400_000);
      await Deno.utime(`${dir}/stray.parquet`, old, old);
    }
    // A config whose plugin records every maintenance hook call (and spares the stray file).
    const configPath = `${root}/lakestrike.config.ts`;
    await Deno.writeTextFile(
      configPath,
      `import { defineConfig } from ${JSON.stringify(new URL("./config.ts", import.meta.url).href)};
const g = globalThis as unknown as { oneDirCalls: unknown[] };
g.oneDirCalls = [];
// deno-lint-ignore no-explicit-any
const record = (hook: string, version: number | undefined, ctx: any, extra: unknown = null) =>
  g.oneDirCalls.push({ hook, version, operation: ctx.operation, table: ctx.table.name,
    limits: { ...ctx.limits }, dryRun: ctx.dryRun, extra });
export const config = defineConfig({
  tables: [{ name: "events", uri: ${JSON.stringify(dirs[0])}, schema: { x: "long" } }],
  plugins: [{
    name: "recorder",
    apiVersion: 1,
    hooks: {
      planCompaction(s, ctx) { record("planCompaction", s.version, ctx); return undefined; },
      planDataRetention(s, ctx) { record("planDataRetention", s.version, ctx); return []; },
      retentionHorizon(s, ctx) { record("retentionHorizon", s.version, ctx); return undefined; },
      filterVacuumCandidates(paths, ctx) {
        record("filterVacuumCandidates", ctx.snapshot?.version, ctx, [...paths]);
        return paths.filter((p) => p !== "stray.parquet");
      },
    },
  }],
});
`,
    );
    const { loadPluginRegistry } = await import("./config.ts");
    const registry = await loadPluginRegistry(configPath);
    const calls = (globalThis as unknown as { oneDirCalls: unknown[] }).oneDirCalls;
    const taken = () => calls.splice(0);

    // The CLIs, in process.
    let out = "";
    await compactMain([dirs[0]!, "--config", configPath, "--min-files", "3", "--json"], {
      write: (t) => void (out += t),
      isTerminal: false,
    });
    equal(JSON.parse(out).filesAfter, 1, "5 files compacted into one");
    const vacuumed = await runVacuum(parseVacuumArgs([dirs[0]!, "--config", configPath]));
    equal(vacuumed.vacuum.filesSpared, 1);
    const cliCalls = taken();

    // The runner's schedule, with the same plugins.
    const scheduler = createMaintenanceScheduler({
      tables: [{
        name: "events",
        storage: createLocalStorage(dirs[1]!),
        maintenance: { compactMinFiles: 3, vacuumEnabled: true },
      }],
      registry,
    });
    try {
      const compacted = await scheduler.runOnce("events", "compact");
      equal(compacted.status, "ran");
      const vacuum = await scheduler.runOnce("events", "vacuum");
      equal(vacuum.status === "ran" && vacuum.vacuum?.files.length, 0);
    } finally {
      await scheduler.stop();
    }
    const runnerCalls = taken();

    deepEqual(
      cliCalls.map((c) => (c as { hook: string }).hook),
      [
        "planCompaction", // on the latest state, without the lease
        "planCompaction", // under the lease
        "planDataRetention",
        "retentionHorizon",
        "filterVacuumCandidates",
      ],
    );
    deepEqual(runnerCalls, cliCalls);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
