/**
 * The edge answers 422 to events no Delta reader could read back, and forwards nothing of them
 * (issue 9's reproductions, through `app.request`).
 */
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { DEMO_EVENTS_SCHEMA } from "../batch/demo_events.ts";
import { createEdgeApp } from "./app.ts";
import { createFakeRunner } from "./fake_runner_test_util.ts";
import { createFakeTimers } from "./fake_timers.ts";

function setup() {
  const timers = createFakeTimers(1_700_000_000_000);
  const runner = createFakeRunner();
  const app = createEdgeApp({
    tables: { events: { schema: DEMO_EVENTS_SCHEMA } },
    tokens: { all: "*" },
    producerId: "edge-test",
    forward: runner.forward,
    clock: timers,
    timers,
    random: () => 0.5,
  });
  return { app, runner };
}

async function post(
  app: ReturnType<typeof setup>["app"],
  body: BodyInit,
  contentType = "application/json",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.request("/v1/tables/events/events", {
    method: "POST",
    headers: { authorization: "Bearer all", "content-type": contentType },
    body,
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("edge: the issue's date=2147483647 event is 422, not date=0NaN-NaN-NaN", async () => {
  const { app, runner } = setup();
  const res = await post(
    app,
    '[{"ts":"2026-12-03T17:56:33.687Z","device_id":"x","date":2147483647}]',
  );
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.equal(res.body.error, "schema_violation");
  assert.equal(res.body.field, "date");
  assert.deepEqual(runner.received, []);
  app.close();
});

Deno.test("edge: JSON 1e400 and a lone surrogate are 422 (NDJSON too)", async () => {
  const { app, runner } = setup();
  const base = '"ts":"2026-12-03T17:56:33.687Z","device_id":"x","date":"2026-12-03"';
  const infinite = await post(app, `[{${base},"value_d":1e400}]`);
  assert.equal(infinite.status, 422, JSON.stringify(infinite.body));
  assert.equal(infinite.body.field, "value_d");
  const lone = await post(
    app,
    `{"ts":"2026-12-03T17:56:33.687Z","device_id":"\\ud800","date":"2026-12-03"}\n`,
    "application/x-ndjson",
  );
  assert.equal(lone.status, 422, JSON.stringify(lone.body));
  assert.equal(lone.body.field, "device_id");
  assert.deepEqual(runner.received, []);
  app.close();
});

Deno.test("edge: an Arrow body whose Int32 buffer is shorter than its rows is a 4xx, never forwarded", async () => {
  const { app, runner } = setup();
  const n = 4;
  const body = arrow.tableToIPC(
    new arrow.Table({
      ts: arrow.makeVector(arrow.makeData({
        type: new arrow.TimestampMicrosecond("UTC"),
        length: n,
        nullCount: 0,
        data: new BigInt64Array(n),
      })),
      device_id: arrow.vectorFromArray(["a", "b", "c", "d"], new arrow.Utf8()),
      value_i: arrow.makeVector(arrow.makeData({
        type: new arrow.Int32(),
        length: n,
        nullCount: 0,
        data: new Int32Array(2),
      })),
      date: arrow.makeVector(arrow.makeData({
        type: new arrow.DateDay(),
        length: n,
        nullCount: 0,
        data: new Int32Array(n),
      })),
    }),
    "stream",
  );
  const res = await post(app, body as BodyInit, "application/vnd.apache.arrow.stream");
  assert.ok(res.status >= 400 && res.status < 500, JSON.stringify(res.body));
  assert.match(String(res.body.detail), /value_i.*2 of 4/);
  assert.deepEqual(runner.received, []);
  app.close();
});

Deno.test("edge: invalid UTF-8 inside a JSON string is 400; a client's own U+FFFD is kept", async () => {
  const { app, runner } = setup();
  const enc = new TextEncoder();
  const head = enc.encode('[{"ts":"2026-12-03T17:56:33.687Z","date":"2026-12-03","device_id":"a');
  const tail = enc.encode('b"}]');
  for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
    const res = await post(app, new Uint8Array([...head, ...bad, ...tail]));
    assert.equal(res.status, 400, `${bad}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, "malformed_body");
    assert.match(String(res.body.detail), /UTF-8/);
  }
  assert.deepEqual(runner.received, []);
  const own = await post(app, new Uint8Array([...head, 0xef, 0xbf, 0xbd, ...tail]));
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(runner.rows("events").map((r) => r.device_id), ["a\uFFFDb"]);
  app.close();
});
