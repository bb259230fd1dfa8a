/**
 * The compaction trigger end to end: a runner whose commits tell the maintenance scheduler, with a
 * manual clock and timers that fire only when the test says. Nothing here is timed: the tests
 * check what ran and in which order answers came.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { createManualClock, type ManualClock } from "../../core/clock.ts";
import { scanSnapshot } from "../../core/scan/scan_snapshot.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createMemoryStorage, type MemoryStorage } from "../../core/storage/memory.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import type { MaintenanceSettings } from "../../ops/maintenance_options.ts";
import {
  createMaintenanceScheduler,
  type MaintenanceScheduler,
  type MaintenanceTimers,
  registerMaintenanceMetrics,
} from "./maintenance_scheduler.ts";
import { createRunner, type Runner } from "./runner.ts";
import { createTestTable, gate, post, TOKEN, until } from "./test_util.ts";

const START_MS = Date.UTC(2025, 0, 1);

/** Timers that fire only through `fire(maxDelayMs)`: the zero-delay trigger checks, not the ticks. */
function createHeldTimers() {
  let nextId = 1;
  const armed = new Map<number, { fn: () => void; delayMs: number }>();
  const timers: MaintenanceTimers = {
    setTimeout: (fn, delayMs) => {
      armed.set(nextId, { fn, delayMs });
      return nextId++;
    },
    clearTimeout: (handle) => void armed.delete(handle as number),
  };
  return {
    timers,
    /** Fire the armed timers of at most `maxDelayMs`; how many fired. */
    fire(maxDelayMs = 0): number {
      const due = [...armed].filter(([, t]) => t.delayMs <= maxDelayMs);
      for (const [id, t] of due) {
        armed.delete(id);
        t.fn();
      }
      return due.length;
    },
  };
}

interface Rig {
  storage: MemoryStorage;
  runner: Runner;
  scheduler: MaintenanceScheduler;
  fire: (maxDelayMs?: number) => number;
  clock: ManualClock;
}

async function rig(
  maintenance: MaintenanceSettings,
  storage: MemoryStorage = createMemoryStorage({ location: "memory://events" }),
  compactBinsPerRunMax?: number,
): Promise<Rig> {
  const clock = createManualClock(START_MS);
  await createTestTable(storage);
  const held = createHeldTimers();
  // deno-lint-ignore prefer-const
  let scheduler: MaintenanceScheduler;
  const runner = createRunner({
    // A high ceiling: the manual clock does not move, and the test does not wait for slots.
    tables: { events: { storage, uri: "memory://events", commitsPerSecondMax: 1000 } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
    clock,
    onCommitted: (table, commit) => scheduler.notifyCommitted(table, commit),
  });
  scheduler = createMaintenanceScheduler({
    tables: { events: { storage, uri: "memory://events", maintenance } },
    registry: createPluginRegistry([]).freeze(),
    clock,
    timers: held.timers,
    random: () => 0.5,
    onOutcome: registerMaintenanceMetrics(runner.metrics.registry),
    ...(compactBinsPerRunMax === undefined ? {} : { compactBinsPerRunMax }),
  });
  scheduler.start();
  return { storage, runner, scheduler, fire: held.fire, clock };
}

/** Commit `n` batches of one row each to `region`, one commit each, seqs from `seq`. */
async function commitRows(r: Rig, region: string, n: number, seq: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await post(r.runner, { seq: seq + i, rows: [{ id: seq + i, region, v: 1 }] });
    equal(res.status, 200, await res.text());
  }
}

async function readIds(storage: MemoryStorage): Promise<number[]> {
  const ids: number[] = [];
  for await (const batch of scanSnapshot(storage, await loadSnapshot(storage))) {
    for (const row of batch) ids.push(Number(row[0]));
  }
  return ids.sort((a, b) => a - b);
}

async function filesByRegion(storage: MemoryStorage): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const f of (await loadSnapshot(storage)).files) {
    const region = f.partitionValues.region ?? "null";
    out[region] = (out[region] ?? 0) + 1;
  }
  return out;
}

Deno.test("trigger: enough small files in a partition compact that partition only", async () => {
  const r = await rig({ compactReadBudgetEnabled: false, compactTriggerFiles: 10 });
  await commitRows(r, "eu", 10, 1); // ten one-row files: tier 0 reaches the next tier's 10 rows
  await commitRows(r, "us", 9, 11);
  deepEqual(await filesByRegion(r.storage), { eu: 10, us: 9 });
  equal(r.fire(), 1, "one check for all the commits");
  await r.scheduler.idle();
  const st = r.scheduler.stats().tables.events!.compact;
  equal(st.triggered, 1);
  equal(st.runs, 1);
  const last = st.last!;
  equal(last.trigger, "accumulated");
  ok(last.status === "ran");
  deepEqual(last.compaction?.partitions, [{ region: "eu" }]);
  equal(last.compaction?.filesRemoved, 10);
  deepEqual(await filesByRegion(r.storage), { eu: 1, us: 9 });
  // Write amplification: compaction's bytes over the ingested data files' bytes, in the metrics.
  const wa = r.scheduler.stats().writeAmplification.events!;
  ok(wa.ingestedBytes > 0 && wa.compactionBytesWritten > 0);
  equal(wa.ratio, wa.compactionBytesWritten / wa.ingestedBytes);
  const text = r.runner.metrics.registry.render();
  ok(text.includes('lakestrike_runner_maintenance_triggered_total{table="events"} 1'), text);
  ok(text.includes('lakestrike_runner_compaction_write_amplification{table="events"}'), text);
  // The next commit sees the partition at its tiers: no second job.
  await commitRows(r, "eu", 1, 30);
  equal(r.fire(), 1);
  await r.scheduler.idle();
  equal(r.scheduler.stats().tables.events!.compact.runs, 1);
  await r.scheduler.stop();
  await r.runner.close();
});

Deno.test("trigger: a partition over its read budget is compacted before the file threshold", async () => {
  const r = await rig({});
  // Seven one-row files: far below the 50 small files of the trigger, one over the budget of 6.
  await commitRows(r, "eu", 7, 1);
  await commitRows(r, "us", 6, 11);
  equal(r.fire(), 1);
  await r.scheduler.idle();
  const last = r.scheduler.stats().tables.events!.compact.last!;
  equal(last.trigger, "accumulated");
  ok(last.status === "ran");
  deepEqual(last.compaction?.partitions, [{ region: "eu" }]);
  // Its five smallest merge (each weighing no more than those before it): half the budget is left.
  equal(last.compaction?.filesRemoved, 5);
  deepEqual(await filesByRegion(r.storage), { eu: 3, us: 6 });
  deepEqual(await readIds(r.storage), [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16]);
  await r.scheduler.stop();
  await r.runner.close();
  // Off by the table's settings: the same commits start nothing.
  const off = await rig({ compactReadBudgetEnabled: false });
  await commitRows(off, "eu", 7, 1);
  equal(off.fire(), 1);
  await off.scheduler.idle();
  equal(off.scheduler.stats().tables.events!.compact.runs, 0);
  deepEqual(await filesByRegion(off.storage), { eu: 7 });
  await off.scheduler.stop();
  await off.runner.close();
});

Deno.test("trigger: every due partition gets its share of a job's bins", async () => {
  const r = await rig({ compactReadBudgetEnabled: false, compactTriggerFiles: 10 }, undefined, 2);
  await commitRows(r, "eu", 20, 1); // two bins each
  await commitRows(r, "us", 20, 21);
  r.fire();
  await r.scheduler.idle();
  const last = r.scheduler.stats().tables.events!.compact.last!;
  ok(last.status === "ran");
  deepEqual(last.compaction?.partitions, [{ region: "eu" }, { region: "us" }]);
  equal(last.compaction?.bins, 2);
  equal(last.compaction?.binsDeferred, 2);
  deepEqual(await filesByRegion(r.storage), { eu: 11, us: 11 });
  // The bins left over are due again at the next commit: each partition ends with two files of
  // ten rows (tier 1; two do not make the next tier's 100 rows), eu with its new one-row file.
  await commitRows(r, "eu", 1, 50);
  r.fire();
  await r.scheduler.idle();
  deepEqual(await filesByRegion(r.storage), { eu: 3, us: 2 });
  await r.scheduler.stop();
  await r.runner.close();
});

Deno.test("trigger: fewer small files than the threshold start no compaction", async () => {
  const r = await rig({ compactReadBudgetEnabled: false, compactTriggerFiles: 10 });
  await commitRows(r, "eu", 9, 1);
  await commitRows(r, "us", 9, 11);
  equal(r.fire(), 1);
  await r.scheduler.idle();
  const st = r.scheduler.stats().tables.events!.compact;
  equal(st.triggered, 0);
  equal(st.runs + st.skips.nothing_to_do, 0, "no job was queued");
  ok(!r.storage.snapshotPaths().some((p) => p.startsWith("_lakestrike/locks/")), "no lease");
  deepEqual(await filesByRegion(r.storage), { eu: 9, us: 9 });
  await r.scheduler.stop();
  await r.runner.close();
});

Deno.test("trigger: off when compactTriggerEnabled is false; the timer still compacts", async () => {
  const r = await rig({
    compactReadBudgetEnabled: false,
    compactTriggerFiles: 10,
    compactTriggerEnabled: false,
  });
  await commitRows(r, "eu", 10, 1);
  equal(r.fire(), 0, "no check armed");
  equal(r.fire(300_000), 1, "the tick");
  await r.scheduler.idle();
  const st = r.scheduler.stats().tables.events!.compact;
  equal(st.last?.trigger, "timer");
  equal(st.runs, 1);
  deepEqual(await filesByRegion(r.storage), { eu: 1 });
  await r.scheduler.stop();
  await r.runner.close();
});

Deno.test("acks are not delayed by a compaction in progress", async () => {
  let armed = false;
  const reading = gate();
  const release = gate();
  const storage = createMemoryStorage({
    location: "memory://events",
    faults: {
      before: async (op, path) => {
        // The compaction's first read of an input file waits until the test releases it.
        if (!armed || op !== "get" || !path.endsWith(".parquet")) return;
        armed = false;
        reading.open();
        await release.promise;
      },
    },
  });
  const r = await rig({ compactReadBudgetEnabled: false, compactTriggerFiles: 10 }, storage);
  await commitRows(r, "eu", 10, 1);
  armed = true;
  r.fire();
  await reading.promise; // the compaction is now reading its input, and holds
  const order: string[] = [];
  const compacted = r.scheduler.idle().then(() => order.push("compaction done"));
  const res = await post(r.runner, { seq: 20, rows: [{ id: 20, region: "us", v: 1 }] });
  order.push(`ack ${res.status}`);
  ok(r.scheduler.stats().running !== undefined, "the compaction still runs");
  release.open();
  await compacted;
  deepEqual(order, ["ack 200", "compaction done"]);
  await until(() => r.scheduler.stats().running === undefined);
  deepEqual(await filesByRegion(r.storage), { eu: 1, us: 1 });
  // The compaction raced an ingest commit: no row lost, none twice.
  deepEqual(await readIds(r.storage), [...Array.from({ length: 10 }, (_, i) => i + 1), 20]);
  await r.scheduler.stop();
  await r.runner.close();
});

Deno.test("trigger settings are checked", () => {
  const storage = createMemoryStorage();
  const registry = createPluginRegistry([]).freeze();
  const make = (maintenance: MaintenanceSettings) =>
    createMaintenanceScheduler({ tables: { events: { storage, maintenance } }, registry });
  throws(() => make({ compactTierFanout: 1 }), /compactTierFanout must be an integer from 2/);
  throws(() => make({ compactTriggerFiles: 0 }), /compactTriggerFiles must be a positive/);
  throws(() => make({ compactTriggerBytes: -1 }), /compactTriggerBytes must be a positive/);
  throws(() => make({ compactThreads: 0 }), /compactThreads must be a positive/);
  throws(
    () => make({ compactEngine: "spark" as "wasm" }),
    /compactEngine must be auto, duckdb or wasm, got "spark"/,
  );
});

Deno.test("trigger: a triggered job plans on the runner's snapshot, without loading the table", async () => {
  let counting = false;
  let logLists = 0;
  const storage = createMemoryStorage({
    location: "memory://events",
    faults: {
      before: (op, path) => {
        if (counting && op === "list" && path.startsWith("_delta_log")) logLists++;
      },
    },
  });
  const r = await rig({ compactReadBudgetEnabled: false, compactTriggerFiles: 10 }, storage);
  await commitRows(r, "eu", 10, 1);
  counting = true;
  r.fire();
  await r.scheduler.idle();
  counting = false;
  equal(r.scheduler.stats().tables.events!.compact.last?.status, "ran");
  equal(logLists, 0, "the job listed the log");
  deepEqual(await filesByRegion(r.storage), { eu: 1 });
  // The timer's job plans on the newest snapshot the runner told of, learned within the interval.
  await commitRows(r, "eu", 5, 100);
  equal(r.fire(), 1, "a check: not due");
  deepEqual(await filesByRegion(r.storage), { eu: 6 });
  counting = true;
  equal(r.fire(300_000), 1);
  await r.scheduler.idle();
  counting = false;
  equal(r.scheduler.stats().tables.events!.compact.last?.trigger, "timer");
  equal(logLists, 0, "the timer's job listed the log");
  // With nothing learned for longer than an interval (other writers may have committed since),
  // the timer's job loads the table.
  await commitRows(r, "eu", 3, 200);
  equal(r.fire(), 1, "a check: not due");
  await r.scheduler.idle();
  equal(r.scheduler.stats().tables.events!.compact.last?.trigger, "timer", "a job ran");
  r.clock.advance(300_001);
  counting = true;
  equal(r.fire(300_000), 1);
  await r.scheduler.idle();
  counting = false;
  ok(logLists > 0, "the timer's job did not load the table");
  equal(r.scheduler.stats().tables.events!.compact.last?.trigger, "timer");
  await r.scheduler.stop();
  await r.runner.close();
});
