import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import type { StructType } from "../core/schema/types.ts";
import { createEdgeApp, type EdgeDeps } from "./app.ts";
import { createFakeTimers, type FakeTimers } from "./fake_timers.ts";
import { createFakeRunner, type FakeRunner, until } from "./fake_runner_test_util.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "kind", type: "string", nullable: true, metadata: {} },
    { name: "n", type: "integer", nullable: true, metadata: {} },
  ],
};

interface Setup {
  app: ReturnType<typeof createEdgeApp>;
  runner: FakeRunner;
  timers: FakeTimers;
}

function setup(overrides: Partial<EdgeDeps> = {}): Setup {
  const timers = createFakeTimers(1_700_000_000_000);
  const runner = createFakeRunner();
  const app = createEdgeApp({
    tables: {
      events: { schema },
      loose: { schema, unknownFields: "drop", tokens: ["loose-only"] },
      other: { schema },
    },
    tokens: { all: "*", "events-only": ["events"] },
    producerId: "edge-test",
    forward: runner.forward,
    clock: timers,
    timers,
    random: () => 0.5,
    ...overrides,
  });
  return { app, runner, timers };
}

function post(
  app: Setup["app"],
  table: string,
  body: BodyInit | null,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(app.request(`/v1/tables/${table}/events`, {
    method: "POST",
    headers: { authorization: "Bearer all", "content-type": "application/json", ...headers },
    body,
  }));
}

const events = (from: number, count: number) =>
  JSON.stringify(Array.from({ length: count }, (_, k) => ({ id: from + k, kind: "k", n: k })));

async function expectError(res: Response, status: number, error: string) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error, error);
  assert.equal(typeof body.detail, "string");
  return body;
}

Deno.test("healthz answers ok", async () => {
  const { app } = setup();
  const res = await app.request("/healthz");
  assert.equal(res.status, 200);
  assert.equal((await res.json()).status, "ok");
  app.close();
});

Deno.test("a request reaching an idle edge is forwarded at once, without the flush timer", async () => {
  const { app, runner, timers } = setup({ flushIntervalMs: 60_000 });
  const startMs = timers.nowMs();
  const pending = post(app, "events", events(0, 3));
  // Time does not move: the request must reach the runner without any timer firing.
  await until(() => runner.received.length === 1, "the request to be forwarded");
  const res = await pending;
  assert.deepEqual(await res.json(), { version: 1, rows: 3 });
  assert.deepEqual(runner.rows("events").map((r) => r.id), [0n, 1n, 2n]);
  assert.equal(timers.nowMs(), startMs);
  assert.equal(timers.pending, 0, "no timer left behind");
  app.close();
});

Deno.test("requests arriving while a forward is in flight are grouped into the next forward", async () => {
  const { app, runner, timers } = setup();
  const startMs = timers.nowMs();
  let open!: () => void;
  runner.gate = new Promise((resolve) => (open = resolve));
  const a = post(app, "events", events(0, 2));
  await until(() => runner.received.length === 1, "a in flight");
  const b = post(app, "events", events(2, 3));
  await until(() => app.stats("events")?.waitingRequests === 1, "b waiting");
  const c = post(app, "events", events(5, 1));
  await until(() => app.stats("events")?.waitingRequests === 2, "b and c waiting");
  assert.equal(runner.received.length, 1, "nothing else is sent while a is in flight");
  runner.gate = undefined;
  open();
  assert.deepEqual(await (await a).json(), { version: 1, rows: 2 });
  // b and c go together, sent as soon as a is answered, still without any timer.
  assert.deepEqual(await (await b).json(), { version: 2, rows: 3 });
  assert.deepEqual(await (await c).json(), { version: 2, rows: 1 });
  assert.deepEqual(runner.commits.map((x) => [x.seq, x.table_.numRows]), [[1, 2], [2, 4]]);
  assert.deepEqual(runner.rows("events").map((r) => Number(r.id)), [0, 1, 2, 3, 4, 5]);
  assert.equal(timers.nowMs(), startMs);
  app.close();
});

Deno.test("NDJSON and Arrow IPC bodies are accepted", async () => {
  const { app, runner, timers } = setup({ flushRowsMax: 2 });
  const ndjson = '{"id": 1, "kind": "a"}\n\n{"id": 2}\n';
  const res1 = await post(app, "events", ndjson, { "content-type": "application/x-ndjson" });
  assert.deepEqual(await res1.json(), { version: 1, rows: 2 });
  const table = arrow.tableFromArrays({
    id: BigInt64Array.of(3n, 4n),
    n: Int32Array.of(7, 8),
  });
  const res2 = await post(app, "events", arrow.tableToIPC(table, "stream") as BodyInit, {
    "content-type": "application/vnd.apache.arrow.stream",
  });
  assert.deepEqual(await res2.json(), { version: 2, rows: 2 });
  const rows = runner.rows("events");
  assert.deepEqual(rows.map((r) => [r.id, r.kind, r.n]), [
    [1n, "a", null],
    [2n, null, null],
    [3n, null, 7],
    [4n, null, 8],
  ]);
  assert.equal(timers.pending, 0);
  app.close();
});

Deno.test("error codes", async (t) => {
  const { app, runner } = setup({ requestBodyBytesMax: 1000 });
  await t.step("400 invalid table name", async () => {
    await expectError(await post(app, ".hidden", "[]"), 400, "invalid_table_name");
    await expectError(await post(app, "a%2Fb", "[]"), 400, "invalid_table_name");
  });
  await t.step("400 malformed bodies", async () => {
    await expectError(await post(app, "events", "[{"), 400, "malformed_body");
    await expectError(await post(app, "events", "42"), 400, "malformed_body");
    await expectError(
      await post(app, "events", '{"id":1}\n{oops', { "content-type": "application/x-ndjson" }),
      400,
      "malformed_body",
    );
    await expectError(
      await post(app, "events", "not arrow", {
        "content-type": "application/vnd.apache.arrow.stream",
      }),
      400,
      "malformed_body",
    );
    await expectError(
      await post(app, "events", new Uint8Array([0xff, 0xfe])),
      400,
      "malformed_body",
    );
    await expectError(await post(app, "events", "[]"), 400, "empty_body");
  });
  await t.step("401 without or with a bad token", async () => {
    await expectError(await post(app, "events", "[]", { authorization: "" }), 401, "unauthorized");
    await expectError(
      await post(app, "events", "[]", { authorization: "Bearer nope" }),
      401,
      "unauthorized",
    );
    await expectError(
      await post(app, "events", "[]", { authorization: "Basic YTpi" }),
      401,
      "unauthorized",
    );
  });
  await t.step("403 for a token without the table", async () => {
    const auth = { authorization: "Bearer events-only" };
    await expectError(await post(app, "other", events(0, 1), auth), 403, "forbidden");
    // The per-table token list grants only its table.
    const loose = { authorization: "Bearer loose-only" };
    await expectError(await post(app, "events", events(0, 1), loose), 403, "forbidden");
    await expectError(await post(app, "nope", events(0, 1), auth), 403, "forbidden");
  });
  await t.step("404 unknown table and unknown path", async () => {
    await expectError(await post(app, "nope", events(0, 1)), 404, "unknown_table");
    await expectError(await app.request("/v2/else"), 404, "not_found");
  });
  await t.step("413 by content-length and by a streamed body", async () => {
    await expectError(await post(app, "events", events(0, 100)), 413, "payload_too_large");
    const big = new TextEncoder().encode(events(0, 100));
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= big.length) return controller.close();
        controller.enqueue(big.subarray(pulled, pulled + 100));
        pulled += 100;
      },
    });
    const res = await post(app, "events", stream, { "transfer-encoding": "chunked" });
    await expectError(res, 413, "payload_too_large");
    assert.ok(pulled < big.length, "the body was read whole");
  });
  await t.step("415 other content types", async () => {
    await expectError(
      await post(app, "events", "id=1", { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    await expectError(
      await post(app, "events", "[]", { "content-type": "" }),
      415,
      "unsupported_media_type",
    );
  });
  await t.step("422 names the field and the row", async () => {
    const cases: [string, number, string][] = [
      ['[{"id":1},{"kind":"x"}]', 1, "id"],
      ['[{"id":1},{"id":2},{"id":3,"extra":true}]', 2, "extra"],
      ['[{"id":1,"n":2147483648}]', 0, "n"],
      ['[{"id":"12x"}]', 0, "id"],
      ['[{"id":1,"kind":5}]', 0, "kind"],
      ['[{"id":1},7]', 1, ""],
    ];
    for (const [body, row, field] of cases) {
      const b = await expectError(await post(app, "events", body), 422, "schema_violation");
      assert.equal(b.row, row, body);
      assert.equal(b.field, field, body);
    }
  });
  await t.step("a rejected request writes nothing", () => {
    assert.equal(app.stats("events")?.waitingRows, 0);
    assert.equal(app.stats("events")?.bufferedBytes, 0);
    assert.equal(runner.received.length, 0);
  });
  app.close();
});

Deno.test("unknown fields are dropped when the table says so", async () => {
  const { app, runner } = setup();
  const pending = post(app, "loose", '[{"id":1,"extra":{"deep":1}}]');
  assert.equal((await pending).status, 200);
  assert.deepEqual(Object.keys(runner.rows("loose")[0]!), ["id", "kind", "n"]);
  app.close();
});

Deno.test("a partition value no storage accepts is 422 before it joins a batch", async () => {
  const { app, runner } = setup({
    tables: { events: { schema, partitionColumns: ["kind"] } },
  });
  const bad = await post(app, "events", JSON.stringify([{ id: 1, kind: "x".repeat(300) }]));
  const body = await expectError(bad, 422, "schema_violation");
  assert.equal(body.field, "kind");
  const pending = post(app, "events", events(0, 2));
  assert.equal((await pending).status, 200);
  assert.equal(runner.received.length, 1);
  app.close();
});

Deno.test("429 with Retry-After when the table's buffer is full", async () => {
  const { app, runner, timers } = setup({ bufferBytesMax: 300, flushRowsMax: 1 });
  let open!: () => void;
  runner.gate = new Promise((resolve) => (open = resolve));
  const first = post(app, "events", events(0, 10)); // 174 bytes of Arrow, goes in flight
  await until(() => runner.received.length === 1, "the first batch in flight");
  const res = await post(app, "events", events(10, 10));
  await expectError(res, 429, "buffer_full");
  assert.equal(res.headers.get("retry-after"), "1");
  assert.equal(app.stats("events")?.waitingRows, 0, "the refused request wrote nothing");
  open();
  assert.equal((await first).status, 200);
  runner.gate = undefined;
  // Once committed, there is room again.
  const again = await post(app, "events", events(10, 10));
  assert.equal(again.status, 200);
  assert.equal(timers.pending, 0);
  app.close();
});

Deno.test("the runner's pace holds the next batch; flushIntervalMs and the size limits end a hold", async (t) => {
  await t.step("held until the runner's next commit, grouped in one batch", async () => {
    const { app, runner, timers } = setup({ flushIntervalMs: 100 });
    runner.nextCommitInMs = 30;
    assert.equal((await post(app, "events", events(0, 1))).status, 200);
    // The answer said: no commit for 30 ms. What arrives meanwhile waits here and goes together.
    const b = post(app, "events", events(1, 2));
    await until(() => app.stats("events")?.waitingRequests === 1, "b held");
    await timers.advance(10);
    const c = post(app, "events", events(3, 1));
    await until(() => app.stats("events")?.waitingRequests === 2, "c held");
    await timers.advance(19);
    assert.equal(runner.received.length, 1, "nothing sent before the runner's next commit");
    await timers.advance(1);
    assert.deepEqual(await (await b).json(), { version: 2, rows: 2 });
    assert.deepEqual(await (await c).json(), { version: 2, rows: 1 });
    assert.deepEqual(runner.commits.map((x) => x.table_.numRows), [1, 3]);
    // Once the pause is over, a request reaching the idle edge goes at once.
    runner.nextCommitInMs = undefined;
    await timers.advance(30);
    const d = post(app, "events", events(4, 1));
    await until(() => runner.received.length === 3, "d sent without a timer");
    assert.equal((await d).status, 200);
    assert.equal(timers.pending, 0);
    app.close();
  });
  await t.step("never longer than flushIntervalMs", async () => {
    const { app, runner, timers } = setup({ flushIntervalMs: 20 });
    runner.nextCommitInMs = 500;
    assert.equal((await post(app, "events", events(0, 1))).status, 200);
    const b = post(app, "events", events(1, 1));
    await until(() => app.stats("events")?.waitingRequests === 1, "b held");
    await timers.advance(19);
    assert.equal(runner.received.length, 1);
    await timers.advance(1);
    assert.equal((await b).status, 200);
    app.close();
  });
  await t.step("not once the waiting rows reach flushRowsMax", async () => {
    const { app, runner, timers } = setup({ flushRowsMax: 3 });
    runner.nextCommitInMs = 500;
    assert.equal((await post(app, "events", events(0, 1))).status, 200);
    const b = post(app, "events", events(1, 2));
    await until(() => app.stats("events")?.waitingRequests === 1, "b held");
    const c = post(app, "events", events(3, 1)); // 3 rows wait: sent at once
    assert.deepEqual(await (await b).json(), { version: 2, rows: 2 });
    assert.deepEqual(await (await c).json(), { version: 2, rows: 1 });
    await timers.settle();
    app.close();
  });
});

Deno.test("a batch keeps to flushRowsMax and flushBytesMax; a request never splits", async (t) => {
  /** Holds `first` in flight, posts `rest` meanwhile, then lets everything through. */
  async function behindOne(setupOverrides: Partial<EdgeDeps>, first: string, rest: string[]) {
    const { app, runner, timers } = setup(setupOverrides);
    let open!: () => void;
    runner.gate = new Promise((resolve) => (open = resolve));
    const pending = [post(app, "events", first)];
    await until(() => runner.received.length === 1, "the first batch in flight");
    for (const body of rest) {
      pending.push(post(app, "events", body));
      const waiting = pending.length - 1;
      await until(() => app.stats("events")?.waitingRequests === waiting, "waiting");
    }
    runner.gate = undefined;
    open();
    const answers = [];
    for (const r of pending) answers.push(await (await r).json());
    assert.equal(timers.pending, 0);
    app.close();
    return { answers, batches: runner.commits.map((c) => c.table_.numRows) };
  }
  await t.step("rows", async () => {
    const { answers, batches } = await behindOne({ flushRowsMax: 5 }, events(0, 1), [
      events(1, 2),
      events(3, 3), // 5 rows with the 2 before: fits
      events(6, 2), // would make 7: the batch after
    ]);
    assert.deepEqual(batches, [1, 5, 2]);
    assert.deepEqual(answers.map((a) => [a.version, a.rows]), [[1, 1], [2, 2], [2, 3], [3, 2]]);
  });
  await t.step("bytes", async () => {
    // 1 event is 21 bytes of Arrow, 10 events 174 bytes.
    const { batches } = await behindOne({ flushBytesMax: 150 }, events(0, 1), [
      events(1, 1),
      events(2, 10), // 195 bytes with the one before: the next batch, alone (over the limit)
      events(12, 1),
    ]);
    assert.deepEqual(batches, [1, 1, 10, 1]);
  });
  await t.step("a request larger than flushRowsMax travels alone", async () => {
    const { answers, batches } = await behindOne({ flushRowsMax: 4 }, events(0, 1), [
      events(1, 9),
      events(10, 3),
    ]);
    assert.deepEqual(batches, [1, 9, 3]);
    assert.deepEqual(answers.map((a) => a.rows), [1, 9, 3]);
  });
});

Deno.test("at most one batch in flight per table; seqs strictly increase", async () => {
  const { app, runner, timers } = setup({ flushRowsMax: 1, seqStart: 10 });
  let open!: () => void;
  runner.gate = new Promise((resolve) => (open = resolve));
  const requests = Array.from({ length: 5 }, (_, k) => post(app, "events", events(k, 1)));
  const other = post(app, "other", events(100, 1));
  await until(() => runner.received.length === 2, "one batch per table in flight");
  assert.equal(app.stats("events")?.waitingRequests, 4);
  open();
  runner.gate = undefined;
  for (const r of [...requests, other]) assert.equal((await r).status, 200);
  const seqs = runner.received.filter((r) => r.table === "events").map((r) => r.seq);
  assert.deepEqual(seqs, [10, 11, 12, 13, 14]);
  assert.equal(runner.commits.filter((c) => c.table === "events").length, 5);
  assert.equal(timers.pending, 0);
  app.close();
});

Deno.test("retries reuse the seq and a lost answer does not duplicate rows", async () => {
  const { app, runner, timers } = setup({ flushRowsMax: 1, seqStart: 1 });
  runner.faults.push("unavailable", "lose-answer", "hang");
  const pending = post(app, "events", events(0, 2));
  await until(() => runner.received.length === 1, "first attempt");
  await timers.advance(10); // backoff
  await until(() => runner.received.length === 2, "second attempt (commits, answer lost)");
  await timers.advance(20);
  await until(() => runner.received.length === 3, "third attempt (hangs)");
  await timers.advance(2_000); // attempt timeout
  await timers.advance(40);
  const res = await pending;
  assert.deepEqual(await res.json(), { version: 1, rows: 2 });
  assert.deepEqual(runner.received.map((r) => r.seq), [1, 1, 1, 1]);
  assert.equal(runner.commits.length, 1);
  assert.equal(runner.rows("events").length, 2);
  app.close();
});

Deno.test("503 when the runner stays down past the deadline; the batch keeps its seq", async () => {
  const { app, runner, timers } = setup({ flushRowsMax: 1, seqStart: 1, requestTimeoutMs: 500 });
  runner.faults.push(...Array<"unavailable">(100).fill("unavailable"));
  const a = post(app, "events", events(0, 2));
  await until(() => runner.received.length === 1, "first attempt");
  const b = post(app, "events", events(2, 1)); // waits behind the in-flight batch
  await until(() => app.stats("events")?.waitingRows === 1, "b waiting");
  await timers.advance(500);
  const ra = await expectError(await a, 503, "runner_unavailable");
  assert.equal(ra.written, "unknown");
  const rb = await expectError(await b, 503, "runner_unavailable");
  assert.equal(rb.written, "no");
  assert.equal(app.stats("events")?.waitingRows, 0, "b's events left the buffer");
  assert.equal(runner.commits.length, 0);
  // The runner comes back: the unknown batch is retried with the same seq before anything newer.
  runner.faults.length = 0;
  await timers.advance(1_000);
  await until(() => runner.commits.length === 1, "the old batch to commit");
  const c = post(app, "events", events(10, 1));
  assert.deepEqual(await (await c).json(), { version: 2, rows: 1 });
  assert.ok(runner.received.slice(0, -1).every((r) => r.seq === 1));
  assert.deepEqual(runner.commits.map((x) => x.seq), [1, 2]);
  assert.deepEqual(runner.rows("events").map((r) => r.id), [0n, 1n, 10n]);
  app.close();
});

Deno.test("502 when the runner rejects the batch; the next batch uses a new seq", async () => {
  const { app, runner } = setup({ flushRowsMax: 1, seqStart: 5 });
  runner.faults.push("reject");
  await expectError(await post(app, "events", events(0, 1)), 502, "runner_rejected");
  assert.equal((await post(app, "events", events(1, 1))).status, 200);
  assert.deepEqual(runner.received.map((r) => r.seq), [5, 6]);
  app.close();
});

Deno.test("a refusal after a lost answer is 503 'unknown', not 502: the batch may be committed", async () => {
  const { app, runner, timers } = setup({ flushRowsMax: 1, seqStart: 5 });
  // The first attempt commits but its answer is lost; the retry is refused (say a redeployed runner).
  runner.faults.push("lose-answer", "reject");
  const first = post(app, "events", events(0, 1));
  for (let i = 0; i < 50 && runner.received.length < 2; i++) await timers.advance(50);
  const body = await expectError(await first, 503, "runner_unavailable");
  assert.equal(body.written, "unknown");
  assert.deepEqual(runner.commits.map((x) => x.seq), [5], "it was committed after all");
  assert.equal((await post(app, "events", events(1, 1))).status, 200);
  app.close();
});

Deno.test("20 concurrent clients get their own row counts; every event is forwarded once", async () => {
  const { app, runner, timers } = setup({ flushRowsMax: 60 });
  runner.faults.push("lose-answer", "unavailable", "lose-answer");
  let next = 0;
  const sizes = Array.from({ length: 20 }, (_, k) => 1 + ((k * 7) % 13));
  const requests = sizes.map((size) => {
    const body = events(next, size);
    next += size;
    return post(app, "events", body);
  });
  for (let i = 0; i < 50 && runner.commits.length < 1; i++) await timers.advance(50);
  const answers = await Promise.all(
    requests.map(async (r, k) => {
      for (let i = 0; i < 100; i++) {
        const done = await Promise.race([r.then(() => true), timers.advance(50).then(() => false)]);
        if (done) break;
      }
      const res = await r;
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.rows, sizes[k]);
      return body;
    }),
  );
  const versions = new Set(runner.commits.map((c) => c.version));
  for (const a of answers) assert.ok(versions.has(a.version));
  const ids = runner.rows("events").map((r) => Number(r.id)).sort((x, y) => x - y);
  assert.deepEqual(ids, Array.from({ length: next }, (_, k) => k));
  const seqs = runner.commits.map((c) => c.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
  assert.equal(new Set(seqs).size, seqs.length);
  app.close();
});

Deno.test("createEdgeApp refuses bad settings and invalid table names", () => {
  const forward = () => Promise.resolve({ version: 0, rows: 0 });
  assert.throws(
    () => createEdgeApp({ tables: {}, producerId: "p", forward, flushIntervalMs: 0 }),
    RangeError,
  );
  assert.throws(
    () => createEdgeApp({ tables: { "../x": { schema } }, producerId: "p", forward }),
    TypeError,
  );
  assert.throws(() => createEdgeApp({ tables: {}, producerId: "p" }), TypeError);
});
