import assert from "node:assert/strict";
import { createManualClock, type ManualClock } from "../../core/clock.ts";
import { createStorageLock } from "../../core/lock/mod.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../../core/scan/scan_snapshot.ts";
import type { StructType } from "../../core/schema/types.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import {
  createMemoryStorage,
  type MemoryStorage,
  type StorageFaults,
} from "../../core/storage/memory.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { appendBatch, createTable } from "../../core/write/mod.ts";
import { compactTable } from "../../plugins/compaction/mod.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { type Plugin, PLUGIN_API_VERSION } from "../../plugins/types.ts";
import { maintenanceLockPath } from "../../ops/maintenance_lock.ts";
import {
  createMaintenanceScheduler,
  type MaintenanceOutcome,
  type MaintenanceScheduler,
  type MaintenanceSchedulerOptions,
  registerMaintenanceMetrics,
} from "./maintenance_scheduler.ts";
import { createPrometheusRegistry } from "./prometheus.ts";

const START_MS = Date.UTC(2025, 0, 1);
const SCHEMA: StructType = {
  type: "struct",
  fields: [{ name: "id", type: "long", nullable: false, metadata: {} }],
};

/** Timers that fire only when the test moves the manual clock. */
function createFakeTimers(clock: ManualClock) {
  let nextId = 1;
  const due = new Map<number, { atMs: number; fn: () => void }>();
  return {
    timers: {
      setTimeout: (fn: () => void, delayMs: number) => {
        const id = nextId++;
        due.set(id, { atMs: clock.nowMs() + delayMs, fn });
        return id;
      },
      clearTimeout: (handle: unknown) => {
        due.delete(handle as number);
      },
    },
    pending: () => [...due.values()].map((d) => d.atMs).sort((a, b) => a - b),
    /** Move the clock by `ms`, firing due timers in order and letting each job finish. */
    async advance(ms: number, scheduler: MaintenanceScheduler) {
      const endMs = clock.nowMs() + ms;
      for (;;) {
        let first: [number, { atMs: number; fn: () => void }] | undefined;
        for (const e of due) if (first === undefined || e[1].atMs < first[1].atMs) first = e;
        if (first === undefined || first[1].atMs > endMs) break;
        due.delete(first[0]);
        clock.set(first[1].atMs);
        first[1].fn();
        await scheduler.idle();
        await new Promise((r) => setTimeout(r, 0)); // the next timer is armed after the job
      }
      clock.set(endMs);
    },
  };
}

async function newTable(
  clock: ManualClock,
  configuration: Record<string, string> = {},
  faults?: StorageFaults,
): Promise<MemoryStorage> {
  const storage = createMemoryStorage({
    clock,
    location: "memory://events",
    ...(faults ? { faults } : {}),
  });
  await createTable(storage, { schema: SCHEMA, configuration, clock });
  return storage;
}

/** One commit (and one data file) per id. */
async function appendIds(storage: ObjectStorage, ids: number[], clock: ManualClock) {
  for (const id of ids) {
    for (let attempt = 0;; attempt++) {
      const snapshot = await loadSnapshot(storage);
      const r = await appendBatch(storage, snapshot, createArrowTable(SCHEMA, [{ id }]), { clock });
      if (r.ok) break;
      assert.ok(attempt < 10, `append of ${id} kept failing: ${r.reason}`);
    }
  }
}

async function readIds(storage: ObjectStorage): Promise<number[]> {
  const snapshot = await loadSnapshot(storage);
  const ids: number[] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const row of batch) ids.push(Number(row[0]));
  }
  return ids.sort((a, b) => a - b);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

function scheduler(
  storage: ObjectStorage,
  clock: ManualClock,
  extra: Partial<MaintenanceSchedulerOptions> = {},
) {
  return createMaintenanceScheduler({
    // One-row files: the bin-packing planner compacts them, the tiered one waits for more rows.
    tables: {
      events: { storage, uri: "memory://events", maintenance: { compactStrategy: "binpack" } },
    },
    registry: createPluginRegistry([]).freeze(),
    clock,
    random: () => 0.5,
    ...extra,
  });
}

Deno.test("compaction: fewer than minFiles small files is skipped without taking the lock", async () => {
  const clock = createManualClock(START_MS);
  const storage = await newTable(clock);
  await appendIds(storage, range(0, 4), clock);
  const s = scheduler(storage, clock);
  const outcome = await s.runOnce("events", "compact");
  assert.equal(outcome.status, "skipped");
  assert.equal(outcome.status === "skipped" && outcome.reason, "nothing_to_do");
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 4);
  assert.equal(snapshot.files.length, 4);
  assert.ok(!storage.snapshotPaths().some((p) => p.startsWith("_lakestrike/locks/")));
  assert.equal(s.stats().tables.events!.compact.skips.nothing_to_do, 1);
  await s.stop();
});

Deno.test("compaction: a tick after enough appends compacts, keeps every row and re-arms", async () => {
  const clock = createManualClock(START_MS);
  const storage = await newTable(clock);
  await appendIds(storage, range(0, 6), clock);
  const fake = createFakeTimers(clock);
  const outcomes: MaintenanceOutcome[] = [];
  const s = scheduler(storage, clock, {
    timers: fake.timers,
    onOutcome: (o) => outcomes.push(o),
  });
  s.start();
  // Vacuum is off by default: only the compaction timer, half an interval away (random 0.5).
  assert.deepEqual(fake.pending(), [START_MS + 150_000]);
  await fake.advance(149_000, s);
  assert.equal(outcomes.length, 0);
  assert.equal((await loadSnapshot(storage)).files.length, 6);
  await fake.advance(1_000, s);
  assert.equal(outcomes.length, 1);
  const o = outcomes[0]!;
  assert.equal(o.status, "ran");
  assert.equal(o.kind, "compact");
  if (o.status === "ran") {
    assert.equal(o.compaction?.filesBefore, 6);
    assert.equal(o.compaction?.filesAfter, 1);
    assert.equal(o.compaction?.rowsWritten, 6);
  }
  assert.equal((await loadSnapshot(storage)).files.length, 1);
  assert.deepEqual(await readIds(storage), range(0, 6));
  // Re-armed one (jittered, here exact) interval after the job.
  assert.deepEqual(fake.pending(), [START_MS + 450_000]);
  await fake.advance(300_000, s);
  assert.equal(outcomes.length, 2);
  assert.equal(outcomes[1]!.status, "skipped"); // one file left: nothing to do
  await s.stop();
  assert.deepEqual(fake.pending(), []);
});

Deno.test("compaction: a lease held elsewhere skips the tick and changes nothing", async () => {
  const clock = createManualClock(START_MS);
  const storage = await newTable(clock);
  await appendIds(storage, range(0, 5), clock);
  const lock = createStorageLock(storage, maintenanceLockPath("compact"));
  const lease = await lock.tryAcquire("operator-cli", 60_000);
  assert.ok(lease);
  const promRegistry = createPrometheusRegistry();
  const s = scheduler(storage, clock, { onOutcome: registerMaintenanceMetrics(promRegistry) });
  const held = await s.runOnce("events", "compact");
  assert.equal(held.status === "skipped" && held.reason, "lock_held");
  assert.equal((await loadSnapshot(storage)).files.length, 5);
  assert.equal(s.stats().tables.events!.compact.failures, 0);
  await lease.release();
  const ran = await s.runOnce("events", "compact");
  assert.equal(ran.status, "ran");
  assert.equal((await loadSnapshot(storage)).files.length, 1);
  const text = promRegistry.render();
  assert.match(
    text,
    /maintenance_skips_total\{kind="compact",reason="lock_held",table="events"\} 1/,
  );
  assert.match(text, /maintenance_jobs_total\{kind="compact",outcome="ran",table="events"\} 1/);
  assert.match(text, /maintenance_files_total\{kind="compact",table="events"\} 5/);
  await s.stop();
});

Deno.test("compaction: a failing job is counted and the next tick still runs", async () => {
  const clock = createManualClock(START_MS);
  const storage = await newTable(clock);
  await appendIds(storage, range(0, 5), clock);
  let calls = 0;
  const flaky: Plugin = {
    name: "flaky-planner",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      planCompaction: () => {
        calls++;
        if (calls === 1) throw new Error("planner exploded");
        return undefined; // pass: the built-in compactionPlugin answers
      },
    },
  };
  const fake = createFakeTimers(clock);
  const promRegistry = createPrometheusRegistry();
  const s = scheduler(storage, clock, {
    registry: createPluginRegistry([flaky]).freeze(),
    timers: fake.timers,
    onOutcome: registerMaintenanceMetrics(promRegistry),
  });
  s.start();
  await fake.advance(150_000, s);
  const st1 = s.stats().tables.events!.compact;
  assert.equal(st1.failures, 1);
  assert.equal(st1.last?.status, "failed");
  assert.equal(fake.pending().length, 1, "the next tick is armed after a failure");
  await fake.advance(300_000, s);
  const st2 = s.stats().tables.events!.compact;
  assert.equal(st2.runs, 1);
  assert.equal(st2.failures, 1);
  assert.equal((await loadSnapshot(storage)).files.length, 1);
  assert.match(
    promRegistry.render(),
    /maintenance_jobs_total\{kind="compact",outcome="failed",table="events"\} 1/,
  );
  await s.stop();
});

Deno.test("stop() aborts an in-flight compaction and waits for it", async () => {
  const clock = createManualClock(START_MS);
  let gateArmed = false;
  let reached!: () => void;
  const reachedP = new Promise<void>((r) => (reached = r));
  let release!: () => void;
  const releaseP = new Promise<void>((r) => (release = r));
  const storage = await newTable(clock, {}, {
    before: async (op, path) => {
      if (!gateArmed || op !== "get" || !path.endsWith(".parquet")) return;
      gateArmed = false;
      reached();
      await releaseP;
    },
  });
  await appendIds(storage, range(0, 5), clock);
  const versionBefore = (await loadSnapshot(storage)).version;
  const s = scheduler(storage, clock);
  gateArmed = true;
  const job = s.runOnce("events", "compact");
  await reachedP; // the job is reading its first input file
  assert.equal(s.stats().running?.table, "events");
  let stopped = false;
  const stopping = s.stop().then(() => (stopped = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(stopped, false, "stop() waits for the running job");
  release();
  await stopping;
  const outcome = await job;
  assert.equal(outcome.status, "aborted");
  assert.equal(s.stats().tables.events!.compact.aborts, 1);
  const after = await loadSnapshot(storage);
  assert.equal(after.version, versionBefore, "nothing committed");
  assert.equal(after.files.length, 5);
  // The lease was released: an operator can take it at once.
  const lease = await createStorageLock(storage, maintenanceLockPath("compact"))
    .tryAcquire("operator", 60_000);
  assert.ok(lease);
  await lease.release();
  const late = await s.runOnce("events", "compact");
  assert.equal(late.status === "skipped" && late.reason, "stopped");
});

Deno.test("vacuum: only when enabled, and only what the retention allows", async () => {
  const clock = createManualClock(START_MS);
  const retention = { "delta.deletedFileRetentionDuration": "interval 1 hours" };
  const kept = await newTable(clock, retention);
  const vacuumed = await newTable(clock, retention);
  for (const storage of [kept, vacuumed]) {
    await appendIds(storage, range(0, 5), clock);
    const r = await compactTable(storage, await loadSnapshot(storage), { clock });
    assert.equal(r.filesAfter, 1);
    await storage.put("part-crashed-writer.parquet", new Uint8Array(8)); // never committed
  }
  const removed = (await loadSnapshot(vacuumed)).tombstones.map((t) => t.path).sort();
  assert.equal(removed.length, 5);
  const fake = createFakeTimers(clock);
  const s = createMaintenanceScheduler({
    tables: [
      { name: "kept", storage: kept, maintenance: { compactEnabled: false } },
      {
        name: "vacuumed",
        storage: vacuumed,
        maintenance: { compactEnabled: false, vacuumEnabled: true },
      },
    ],
    registry: createPluginRegistry([]).freeze(),
    clock,
    timers: fake.timers,
    random: () => 0.5,
  });
  s.start();
  assert.equal(fake.pending().length, 1, "one timer: the vacuum of 'vacuumed'");
  // First tick at 30 min: everything is younger than the 1 h retention.
  await fake.advance(1_800_000, s);
  const first = s.stats().tables.vacuumed!.vacuum.last;
  assert.equal(first?.status, "ran");
  if (first?.status === "ran") assert.deepEqual(first.vacuum?.files, []);
  // Second tick at 90 min: the compacted-away files and the orphan are past the horizon.
  await fake.advance(3_600_000, s);
  const second = s.stats().tables.vacuumed!.vacuum.last;
  assert.equal(second?.status, "ran");
  if (second?.status === "ran") {
    assert.deepEqual(second.vacuum?.files, [...removed, "part-crashed-writer.parquet"].sort());
  }
  const active = (await loadSnapshot(vacuumed)).files[0]!.path;
  assert.ok(vacuumed.snapshotPaths().includes(active));
  assert.deepEqual(await readIds(vacuumed), range(0, 5));
  // The table without vacuum kept everything, and an explicit run is refused.
  assert.equal(s.stats().tables.kept!.vacuum.runs, 0);
  const refused = await s.runOnce("kept", "vacuum");
  assert.equal(refused.status === "skipped" && refused.reason, "disabled");
  const keptRemoved = (await loadSnapshot(kept)).tombstones.map((t) => t.path);
  assert.equal(keptRemoved.length, 5);
  for (const p of [...keptRemoved, "part-crashed-writer.parquet"]) {
    assert.ok(kept.snapshotPaths().includes(p), `${p} must stay`);
  }
  await s.stop();
});

Deno.test("vacuum: expired data is removed first when retention plugins plan it", async () => {
  const clock = createManualClock(START_MS);
  const storage = await newTable(clock, {
    "delta.deletedFileRetentionDuration": "interval 1 hours",
  });
  await appendIds(storage, range(0, 3), clock);
  const expireId0: Plugin = {
    name: "expire-first-file",
    apiVersion: PLUGIN_API_VERSION,
    hooks: { planDataRetention: (snapshot) => snapshot.files.slice(0, 1) },
  };
  const s = createMaintenanceScheduler({
    tables: { events: { storage, maintenance: { vacuumEnabled: true } } },
    registry: createPluginRegistry([expireId0]).freeze(),
    clock,
  });
  const o = await s.runOnce("events", "vacuum");
  assert.equal(o.status, "ran");
  if (o.status === "ran") {
    assert.equal(o.vacuum?.expiredFiles, 1);
    assert.equal(typeof o.vacuum?.retentionVersion, "number");
    assert.deepEqual(o.vacuum?.files, [], "the removed file is inside the retention window");
  }
  assert.equal((await readIds(storage)).length, 2);
  await s.stop();
});

Deno.test("compaction: appends committed while it runs lose no row", async () => {
  const clock = createManualClock(START_MS);
  let injected = false;
  let armed = false;
  const storage: MemoryStorage = await newTable(clock, {}, {
    before: async (op, path) => {
      // While the compaction reads its first input, other writers commit.
      if (injected || op !== "get" || !path.endsWith(".parquet") || !armed) return;
      injected = true;
      await appendIds(storage, range(100, 4), clock);
    },
  });
  await appendIds(storage, range(0, 6), clock);
  const s = scheduler(storage, clock);
  armed = true;
  const outcome = await s.runOnce("events", "compact");
  assert.ok(injected);
  assert.equal(outcome.status, "ran");
  if (outcome.status === "ran") assert.equal(outcome.compaction?.filesRemoved, 6);
  assert.deepEqual(await readIds(storage), [...range(0, 6), ...range(100, 4)]);
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.files.length, 5); // one compacted file plus the four appended meanwhile
  await s.stop();
});

Deno.test("one job at a time: a second request of a pair shares the queued job", async () => {
  const clock = createManualClock(START_MS);
  const a = await newTable(clock);
  const b = await newTable(clock);
  await appendIds(a, range(0, 5), clock);
  await appendIds(b, range(0, 5), clock);
  let concurrent = 0;
  let concurrentMax = 0;
  const probe: Plugin = {
    name: "probe",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      planCompaction: async () => {
        concurrent++;
        concurrentMax = Math.max(concurrentMax, concurrent);
        await new Promise((r) => setTimeout(r, 1));
        concurrent--;
        return undefined;
      },
    },
  };
  const s = createMaintenanceScheduler({
    tables: new Map([["a", { storage: a }], ["b", { storage: b }]].map(([n, t]) => [
      n as string,
      { ...t as { storage: MemoryStorage }, maintenance: { compactStrategy: "binpack" as const } },
    ])),
    registry: createPluginRegistry([probe]).freeze(),
    clock,
  });
  const p1 = s.runOnce("a", "compact");
  const p2 = s.runOnce("b", "compact");
  const p3 = s.runOnce("b", "compact");
  assert.equal(p2, p3);
  const outcomes = await Promise.all([p1, p2, p3]);
  assert.deepEqual(outcomes.map((o) => o.status), ["ran", "ran", "ran"]);
  assert.equal(concurrentMax, 1);
  await assert.rejects(() => s.runOnce("nope", "compact"), /unknown table 'nope'/);
  await s.stop();
});

Deno.test("options are checked", () => {
  const storage = createMemoryStorage();
  const registry = createPluginRegistry([]).freeze();
  assert.throws(
    () => createMaintenanceScheduler({ tables: {}, registry, compactIntervalMs: 10 }),
    /compactIntervalMs must be an integer >= 1000/,
  );
  assert.throws(
    () => createMaintenanceScheduler({ tables: {}, registry: createPluginRegistry([]) }),
    /not frozen/,
  );
  assert.throws(
    () =>
      createMaintenanceScheduler({
        tables: [{ name: "t", storage }, { name: "t", storage }],
        registry,
      }),
    /listed twice/,
  );
});
