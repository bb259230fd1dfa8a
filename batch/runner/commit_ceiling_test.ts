import assert from "node:assert/strict";
import { createManualClock, type ManualClock } from "../../core/clock.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { noopLogger } from "../../plugins/logger.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import { COMMITS_PER_SECOND_MAX_DEFAULT, createCommitCeiling } from "./commit_ceiling.ts";
import {
  type BatchOutcome,
  type Committer,
  COMMITTER_LIMITS_DEFAULT,
  createCommitter,
} from "./committer.ts";
import { createRunnerMetrics, type RunnerMetrics } from "./runner_metrics.ts";
import { NEXT_COMMIT_HEADER } from "../../edge/wire.ts";
import { createRunner } from "./runner.ts";
import { createTestTable, post, rows, SCHEMA, TOKEN, until } from "./test_util.ts";

Deno.test("commit ceiling: an idle table commits at once, the next start waits for its slot", () => {
  const ceiling = createCommitCeiling(20);
  assert.equal(ceiling.delayMs(5_000), 0);
  ceiling.record(5_000);
  assert.equal(ceiling.delayMs(5_000), 50);
  assert.equal(ceiling.delayMs(5_031), 19);
  assert.equal(ceiling.delayMs(5_050), 0);
  assert.equal(ceiling.delayMs(9_000), 0, "long idle: no wait");
  ceiling.record(9_000);
  assert.equal(ceiling.delayMs(8_000), 50, "a clock that stepped back waits one spacing");
  assert.equal(createCommitCeiling(3).delayMs(0), 0);
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(() => createCommitCeiling(bad), RangeError);
  }
  assert.ok(COMMITS_PER_SECOND_MAX_DEFAULT > 0);
});

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
    /** Times the pending timers fire at, sorted. */
    pending: () => [...due.values()].map((d) => d.atMs).sort((a, b) => a - b),
    /** Move the clock by `ms`, firing the timers that come due, in order. */
    advance(ms: number) {
      const endMs = clock.nowMs() + ms;
      for (;;) {
        let first: [number, { atMs: number; fn: () => void }] | undefined;
        for (const e of due) if (first === undefined || e[1].atMs < first[1].atMs) first = e;
        if (first === undefined || first[1].atMs > endMs) break;
        due.delete(first[0]);
        clock.set(first[1].atMs);
        first[1].fn();
      }
      clock.set(endMs);
    },
  };
}

async function ceilingCommitter(commitsPerSecondMax: number | undefined) {
  const clock = createManualClock(Date.UTC(2025, 0, 1));
  const fake = createFakeTimers(clock);
  const storage = await createTestTable(createMemoryStorage());
  const metrics: RunnerMetrics = createRunnerMetrics();
  const committer: Committer = createCommitter({
    table: {
      name: "events",
      uri: "memory://events",
      storage,
      ...(commitsPerSecondMax === undefined ? {} : { commitsPerSecondMax }),
    },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    clock,
    logger: noopLogger,
    limits: COMMITTER_LIMITS_DEFAULT,
    metrics,
    signal: new AbortController().signal,
    timers: fake.timers,
  });
  await committer.snapshot();
  let seq = 0;
  const submit = (n: number) =>
    committer.submit({
      producer: "edge-1",
      seq: ++seq,
      batch: createArrowTable(SCHEMA, rows(n, seq * 100)),
      bytes: 100,
    });
  return { clock, fake, storage, metrics, committer, submit };
}

async function versionOf(outcome: Promise<BatchOutcome>): Promise<number> {
  const o = await outcome;
  assert.ok(o.ok, JSON.stringify(o));
  return o.version;
}

Deno.test("committer: at the ceiling, batches wait and are grouped into the next commit", async () => {
  const { clock, fake, storage, metrics, committer, submit } = await ceilingCommitter(10);
  const startMs = clock.nowMs();
  // Idle: the first batch commits at once, no timer involved.
  assert.equal(await versionOf(submit(2)), 1);
  assert.deepEqual(fake.pending(), []);
  // 10 ms later two batches arrive: the slot is 100 ms after the first start, so they wait ...
  fake.advance(10);
  const b = submit(2);
  const c = submit(3);
  await until(() => fake.pending().length === 1);
  assert.deepEqual(fake.pending(), [startMs + 100]);
  // ... and whatever arrives meanwhile joins them; nothing is refused for the ceiling.
  fake.advance(50);
  const d = submit(1);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(committer.stats().depth, 3);
  assert.equal(committer.stats().version, 1);
  fake.advance(40);
  assert.deepEqual(await Promise.all([b, c, d].map(versionOf)), [2, 2, 2]);
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 2, "one commit for the three batches");
  assert.equal(metrics.ceilingWaits.get({ table: "events" }), 1);
  assert.equal(metrics.groupSize.count({ table: "events" }), 2);
  // A table idle for longer than the spacing commits at once again.
  fake.advance(1_000);
  assert.equal(await versionOf(submit(1)), 3);
  assert.deepEqual(fake.pending(), []);
  await committer.close();
});

Deno.test("committer: the default ceiling applies when the table sets none", async () => {
  const { clock, fake, committer, submit } = await ceilingCommitter(undefined);
  const startMs = clock.nowMs();
  assert.equal(await versionOf(submit(1)), 1);
  const next = submit(1);
  await until(() => fake.pending().length === 1);
  const spacingMs = Math.ceil(1000 / COMMITS_PER_SECOND_MAX_DEFAULT);
  assert.deepEqual(fake.pending(), [startMs + spacingMs]);
  fake.advance(spacingMs);
  assert.equal(await versionOf(next), 2);
  await committer.close();
});

Deno.test("runner: a table's commitsPerSecondMax paces it, and a 200 tells the edge the pace", async () => {
  const storage = await createTestTable(createMemoryStorage());
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events", commitsPerSecondMax: 1 } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  const res = await post(runner, { seq: 1 });
  assert.deepEqual(await res.json(), { version: 1, rows: 3 });
  const nextMs = Number(res.headers.get(NEXT_COMMIT_HEADER));
  assert.ok(nextMs > 0 && nextMs <= 1_000, `${NEXT_COMMIT_HEADER}: ${nextMs}`);
  assert.throws(
    () =>
      createRunner({
        tables: { events: { storage, uri: "memory://events", commitsPerSecondMax: 0 } },
        registry: createPluginRegistry([writerPlugin()]).freeze(),
        runnerToken: TOKEN,
      }),
    RangeError,
  );
  await runner.close();
});
