import assert from "node:assert/strict";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import type { LogFields, Logger } from "../../plugins/types.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import { createEdgeApp } from "../../edge/app.ts";
import { type BatchRequest, forwardBatch } from "../../edge/wire.ts";
import { createAckSla } from "./ack_sla.ts";
import { createRunner } from "./runner.ts";
import { createRunnerMetrics } from "./runner_metrics.ts";
import { createTestTable, post, SCHEMA, TOKEN, until } from "./test_util.ts";

const COMMIT_FILE_RE = /^_delta_log\/\d{20}\.json$/;

Deno.test("ack SLA: the breach counter moves when the storage fault hooks slow commits", async () => {
  let commitDelayMs = 0;
  const storage = await createTestTable(createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && COMMIT_FILE_RE.test(path) && commitDelayMs > 0) {
          await new Promise((r) => setTimeout(r, commitDelayMs));
        }
      },
    },
  }));
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events", ackSlaMs: 1_000 } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  const labels = { table: "events" };
  assert.equal((await post(runner, { seq: 1 })).status, 200);
  assert.equal(runner.metrics.ackWithinSla.get(labels), 1);
  assert.equal(runner.metrics.ackSlaBreaches.get(labels), 0);
  commitDelayMs = 1_200; // the commit alone takes longer than the table's SLA
  assert.equal((await post(runner, { seq: 2 })).status, 200);
  assert.equal(runner.metrics.ackWithinSla.get(labels), 1);
  assert.equal(runner.metrics.ackSlaBreaches.get(labels), 1);
  const text = await (await runner.app.request("/metrics")).text();
  assert.match(text, /lakestrike_runner_ack_sla_breaches_total\{table="events"\} 1/);
  // The histogram has a bucket at the SLA: the fast answer is under it, the slow one is not.
  assert.match(text, /lakestrike_runner_ack_latency_seconds_bucket\{table="events",le="1"\} 1\n/);
  assert.match(text, /lakestrike_runner_ack_sla_seconds\{table="events"\} 1\n/);
  await runner.close();
});

Deno.test("ack SLA: a table whose SLA is no default bucket gets a bucket of its own", async () => {
  const storage = await createTestTable();
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events", ackSlaMs: 333 } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  assert.equal((await post(runner)).status, 200);
  const text = await (await runner.app.request("/metrics")).text();
  assert.match(text, /lakestrike_runner_ack_latency_seconds_bucket\{table="events",le="0.333"\} 1/);
  await runner.close();
});

Deno.test("ack SLA: error answers are counted by table and code", async () => {
  const storage = await createTestTable();
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events" } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  assert.equal((await post(runner, { table: "nope" })).status, 404);
  assert.equal((await post(runner, { contentType: "text/plain" })).status, 415);
  assert.equal((await post(runner, { contentType: "text/plain" })).status, 415);
  assert.equal(runner.metrics.errors.get({ table: "", error: "unknown_table" }), 1);
  assert.equal(runner.metrics.errors.get({ table: "events", error: "unsupported_media_type" }), 2);
  await runner.close();
});

function capturingLogger(): Logger & { warnings: { message: string; fields: LogFields }[] } {
  const warnings: { message: string; fields: LogFields }[] = [];
  const none = () => {};
  return {
    warnings,
    debug: none,
    info: none,
    error: none,
    warn: (message, fields = {}) => warnings.push({ message, fields }),
  };
}

Deno.test("ack SLA: a warning when the rolling p99 crosses the SLA and one when it recovers", () => {
  const metrics = createRunnerMetrics();
  const logger = capturingLogger();
  let now = 1_000_000;
  const sla = createAckSla({
    tables: { events: 100 },
    metrics,
    logger,
    nowMs: () => now,
    windowMs: 10_000,
    samplesMin: 5,
  });
  for (let i = 0; i < 4; i++) sla.observe("events", 300);
  sla.check(now);
  assert.equal(logger.warnings.length, 0, "four answers are too few to judge");
  sla.observe("events", 300);
  sla.check(now);
  sla.check(now); // still over: no second warning
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0]!.message, /over the table's SLA/);
  assert.equal(logger.warnings[0]!.fields.p99Ms, 300);
  assert.equal(sla.breaching("events"), true);
  assert.equal(metrics.ackSlaCrossings.get({ table: "events" }), 1);
  // The slow answers leave the window; fast ones follow.
  now += 11_000;
  for (let i = 0; i < 10; i++) sla.observe("events", 20);
  sla.check(now);
  assert.equal(logger.warnings.length, 2);
  assert.match(logger.warnings[1]!.message, /back within/);
  assert.equal(sla.breaching("events"), false);
  assert.equal(metrics.ackP99.get({ table: "events" }), 0.02);
});

Deno.test("ack SLA: edge and runner in process, commits slowed by the fault hooks: the breach is counted and the next request is answered at once", async () => {
  let commitDelayMs = 0;
  const storage = await createTestTable(createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && COMMIT_FILE_RE.test(path) && commitDelayMs > 0) {
          await new Promise((r) => setTimeout(r, commitDelayMs));
        }
      },
    },
  }));
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events", ackSlaMs: 200 } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  const edge = createEdgeApp({
    tables: { events: { schema: SCHEMA, ackSlaMs: 200 } },
    tokens: { "client-token": "*" },
    producerId: "edge-sla",
    requestTimeoutMs: 500,
    forward: (batch: BatchRequest, signal: AbortSignal) =>
      forwardBatch(batch, {
        runnerUrl: "http://runner.internal",
        runnerToken: TOKEN,
        signal,
        fetch: (input, init) => Promise.resolve(runner.app.request(String(input), init)),
      }),
  });
  const send = (id: number) =>
    Promise.resolve(edge.request("/v1/tables/events/events", {
      method: "POST",
      headers: { authorization: "Bearer client-token", "content-type": "application/json" },
      body: JSON.stringify([{ id, region: "eu" }]),
    }));
  const labels = { table: "events" };
  commitDelayMs = 700; // every commit now takes longer than a request's 500 ms deadline
  for (let id = 1; id <= 3; id++) {
    const late = await send(id);
    assert.equal(late.status, 503);
    assert.equal((await late.json()).error, "runner_unavailable", "held to its deadline");
    await until(() => runner.metrics.ackSlaBreaches.get(labels) === id, 10_000);
  }
  assert.equal(runner.metrics.ackWithinSla.get(labels), 0);
  // The edge saw three commits take 700 ms: a request with a 500 ms deadline cannot make it.
  const startedMs = performance.now();
  const refused = await send(2);
  const body = await refused.json();
  assert.equal(refused.status, 503);
  assert.equal(body.error, "deadline_unmeetable", "answered at once, not at its deadline");
  assert.equal(body.written, "no");
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  assert.ok(performance.now() - startedMs < 500, "before its deadline");
  edge.close();
  await runner.close();
});
