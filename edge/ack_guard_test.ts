import assert from "node:assert/strict";
import type { StructType } from "../core/schema/types.ts";
import { createEdgeApp } from "./app.ts";
import { createFakeTimers, type FakeTimers } from "./fake_timers.ts";
import type { BatchAnswer, BatchRequest } from "./wire.ts";

const schema: StructType = {
  type: "struct",
  fields: [{ name: "id", type: "long", nullable: false, metadata: {} }],
};

/** A runner whose every answer waits until the test releases it. */
function heldRunner() {
  const held: { request: BatchRequest; release: (a: BatchAnswer) => void }[] = [];
  let version = 0;
  return {
    held,
    forward: (request: BatchRequest) =>
      new Promise<BatchAnswer>((resolve) => held.push({ request, release: resolve })),
    /** Answer the oldest held batch as committed. */
    commitOldest() {
      const h = held.shift()!;
      h.release({ version: ++version, rows: 1 });
    },
  };
}

function setup(timers: FakeTimers, forward: (r: BatchRequest) => Promise<BatchAnswer>) {
  return createEdgeApp({
    tables: { events: { schema, ackSlaMs: 100 } },
    tokens: { all: "*" },
    producerId: "edge-test",
    forward,
    clock: timers,
    timers,
    random: () => 0.5,
    requestTimeoutMs: 1_000,
  });
}

function post(app: ReturnType<typeof setup>, id: number): Promise<Response> {
  return Promise.resolve(app.request("/v1/tables/events/events", {
    method: "POST",
    headers: { authorization: "Bearer all", "content-type": "application/json" },
    body: JSON.stringify([{ id }]),
  }));
}

Deno.test("ack guard: a request that cannot commit before its deadline is answered at once, not held", async () => {
  const timers = createFakeTimers(1_700_000_000_000);
  const runner = heldRunner();
  const app = setup(timers, runner.forward);
  // Three commits of 1.5 s each. Until three are seen nothing is refused: each request waits for
  // its 1 s deadline (one slow commit alone says little).
  for (let id = 1; id <= 3; id++) {
    const waiting = post(app, id);
    await timers.advance(1_000);
    const late = await waiting;
    assert.equal(late.status, 503);
    assert.equal((await late.json()).error, "runner_unavailable", `request ${id} was held`);
    await timers.advance(500);
    runner.commitOldest();
    await timers.settle();
  }
  // A request with a 1 s deadline is answered now, at the same clock time: nothing held it.
  const before = timers.nowMs();
  const res = await post(app, 4);
  assert.equal(timers.nowMs(), before);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "2");
  const body = await res.json();
  assert.equal(body.error, "deadline_unmeetable");
  assert.equal(body.written, "no");
  assert.equal(runner.held.length, 0, "nothing was forwarded for it");
  const metrics = await (await app.request("/metrics")).text();
  assert.match(metrics, /lakestrike_edge_deadline_refusals_total\{table="events"\} 1/);
  // The slow commits age out: the table measures again instead of refusing forever.
  await timers.advance(10_000);
  const probe = post(app, 5);
  await timers.settle();
  assert.equal(runner.held.length, 1, "forwarded");
  runner.commitOldest();
  assert.equal((await probe).status, 200);
  app.close();
});

Deno.test("ack guard: the edge counts 200 answers within and over the table's SLA on /metrics", async () => {
  const timers = createFakeTimers(1_700_000_000_000);
  const runner = heldRunner();
  const app = setup(timers, runner.forward);
  for (const [id, ms] of [[1, 40], [2, 150]] as const) {
    const res = post(app, id);
    await timers.advance(ms);
    runner.commitOldest();
    assert.equal((await res).status, 200);
  }
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /lakestrike_edge_ack_within_sla_total\{table="events"\} 1/);
  assert.match(text, /lakestrike_edge_ack_sla_breaches_total\{table="events"\} 1/);
  // A bucket at the SLA: one answer at or under 100 ms.
  assert.match(text, /lakestrike_edge_ack_latency_seconds_bucket\{table="events",le="0.1"\} 1/);
  assert.match(text, /lakestrike_edge_ack_sla_seconds\{table="events"\} 0.1/);
  app.close();
});
