import assert from "node:assert/strict";
import { scanSnapshot } from "../../core/scan/mod.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createEdgeApp } from "../../edge/mod.ts";
import type { EdgeDeps } from "../../edge/app.ts";
import { type BatchRequest, forwardBatch, ForwardError } from "../../edge/wire.ts";
import type { MemoryStorage } from "../../core/storage/memory.ts";
import type { Runner } from "./runner.ts";
import { createTestTable, dataFiles, post, SCHEMA, testRunner, TOKEN, until } from "./test_util.ts";

/** Forwards to `runner` in process. */
function toRunner(runner: Runner): (batch: BatchRequest, signal: AbortSignal) => ReturnType<
  typeof forwardBatch
> {
  return (batch, signal) =>
    forwardBatch(batch, {
      runnerUrl: "http://runner.internal",
      runnerToken: TOKEN,
      signal,
      fetch: (input, init) => Promise.resolve(runner.app.request(String(input), init)),
    });
}

function testEdge(forward: EdgeDeps["forward"], extra: Partial<EdgeDeps> = {}) {
  const edge = createEdgeApp({
    tables: { events: { schema: SCHEMA } },
    tokens: { "client-token": "*" },
    producerId: "edge-x",
    flushIntervalMs: 1,
    retryDelayBaseMs: 1,
    retryDelayMaxMs: 2,
    ...(forward === undefined ? {} : { forward }),
    ...extra,
  });
  const send = (ids: number[]) =>
    edge.request("/v1/tables/events/events", {
      method: "POST",
      headers: { authorization: "Bearer client-token", "content-type": "application/json" },
      body: JSON.stringify(ids.map((id) => ({ id, region: "eu" }))),
    });
  return { edge, send };
}

async function tableIds(storage: MemoryStorage): Promise<number[]> {
  const ids: number[] = [];
  const snapshot = await loadSnapshot(storage);
  for await (const batch of scanSnapshot(storage, snapshot, { columns: ["id"] })) {
    for (const row of batch) ids.push(Number(row[0]));
  }
  return ids.sort((a, b) => a - b);
}

Deno.test("edge -> runner in process: client events are committed and readable", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  let forwarded = 0;
  const edge = createEdgeApp({
    tables: { events: { schema: SCHEMA } },
    tokens: { "client-token": "*" },
    producerId: "edge-e2e",
    newIncarnation: () => "i1",
    flushIntervalMs: 1,
    seqStart: 100,
    forward: (batch, signal) => {
      forwarded++;
      return forwardBatch(batch, {
        runnerUrl: "http://runner.internal",
        runnerToken: TOKEN,
        signal,
        fetch: (input, init) => Promise.resolve(runner.app.request(String(input), init)),
      });
    },
  });
  const send = (events: unknown[]) =>
    edge.request("/v1/tables/events/events", {
      method: "POST",
      headers: { authorization: "Bearer client-token", "content-type": "application/json" },
      body: JSON.stringify(events),
    });
  const first = await send([{ id: 1, region: "eu", v: 0.5 }, { id: 2, region: "us", v: null }]);
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { version: 1, rows: 2 });
  const [a, b] = await Promise.all([
    send([{ id: 3, region: "eu" }]),
    send([{ id: 4, region: null, v: 2 }]),
  ]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const versions = [(await a.json()).version, (await b.json()).version];
  assert.ok(versions.every((v) => v === 2 || v === 3), String(versions));
  // A schema violation is stopped at the edge: nothing reaches the runner.
  const before = forwarded;
  const bad = await send([{ id: "not a number" }]);
  assert.equal(bad.status, 422);
  assert.equal(forwarded, before);
  edge.close();
  await runner.close();

  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.txns.get("edge-e2e#i1")?.version, 100 + forwarded - 1);
  const ids: bigint[] = [];
  for await (const batch of scanSnapshot(storage, snapshot, { columns: ["id"] })) {
    for (const row of batch) ids.push(row[0] as bigint);
  }
  assert.deepEqual(ids.sort((x, y) => Number(x - y)), [1n, 2n, 3n, 4n]);
  assert.ok(dataFiles(storage).some((p) => p.startsWith("region=__HIVE_DEFAULT_PARTITION__/")));
});

Deno.test("edges sharing a name, one restarted with its clock stepped back, lose nothing", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  const now = Date.UTC(2026, 11, 3, 12);
  const clockAt = (ms: number) => ({ nowMs: () => ms });
  // Two edges configured alike (same name, default seqs and incarnations), then a restart of the
  // first whose clock stepped back an hour: every acknowledged event must be in the table.
  const a = testEdge(toRunner(runner), { clock: clockAt(now) });
  const b = testEdge(toRunner(runner), { clock: clockAt(now) });
  const answers = await Promise.all([
    a.send([1, 2]),
    b.send([3]),
    a.send([4]),
    b.send([5, 6]),
  ]);
  assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200]);
  a.edge.close();
  const restarted = testEdge(toRunner(runner), { clock: clockAt(now - 3_600_000) });
  const late = await restarted.send([7, 8]);
  assert.equal(late.status, 200);
  assert.equal((await late.json()).duplicate, undefined);
  b.edge.close();
  restarted.edge.close();
  await runner.close();
  assert.deepEqual(await tableIds(storage), [1, 2, 3, 4, 5, 6, 7, 8]);
  const producers = [...(await loadSnapshot(storage)).txns.keys()];
  assert.equal(producers.length, 3, `one producer identity per edge incarnation: ${producers}`);
  assert.ok(producers.every((p) => p.startsWith("edge-x#")));
});

Deno.test("a 409 makes the edge take a new producer id and send the batch again", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  // Someone else already committed seq 5 under the id this edge will use first.
  const taken = await post(runner, { producer: "edge-x#i1", seq: 5 });
  assert.equal(taken.status, 200);
  const incarnations = ["i1", "i2"];
  const forwarded: string[] = [];
  const forward = toRunner(runner);
  const { edge, send } = testEdge((batch, signal) => {
    forwarded.push(`${batch.producerId}/${batch.seq}`);
    return forward(batch, signal);
  }, { newIncarnation: () => incarnations.shift()! });
  const res = await send([41, 42]);
  assert.equal(res.status, 200);
  assert.deepEqual(forwarded, ["edge-x#i1/1", "edge-x#i2/1"]);
  const next = await send([43]);
  assert.equal(next.status, 200);
  assert.deepEqual(forwarded.slice(2), ["edge-x#i2/2"]);
  edge.close();
  await runner.close();
  const ids = await tableIds(storage);
  assert.deepEqual(ids.filter((id) => id > 40), [41, 42, 43]);
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.txns.get("edge-x#i1")?.version, 5);
  assert.equal(snapshot.txns.get("edge-x#i2")?.version, 2);
});

Deno.test("a batch failing the same way is given up at the cap; the table moves on", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  const forward = toRunner(runner);
  const attempts = new Map<number, number>();
  // The runner refuses the first batch the same way every time (written: no), as for a poison
  // batch; the cap answers its clients 502 (not written) and the next request commits.
  const { edge, send } = testEdge((batch, signal) => {
    attempts.set(batch.seq, (attempts.get(batch.seq) ?? 0) + 1);
    if (batch.seq === 1) {
      return Promise.reject(
        new ForwardError("runner answered 500", true, 500, {
          body: { error: "write_failed", written: "no" },
        }),
      );
    }
    return forward(batch, signal);
  }, { batchAttemptsMax: 4, newIncarnation: () => "i1" });
  const first = await send([1]);
  assert.equal(first.status, 502);
  assert.match((await first.json()).detail, /gave up after 4 attempts/);
  assert.equal(attempts.get(1), 4);
  const second = await send([2]);
  assert.equal(second.status, 200);
  assert.equal(edge.stats("events")?.batchesGivenUp, 1);
  edge.close();
  await runner.close();
  assert.deepEqual(await tableIds(storage), [2]);
});

Deno.test("an abandoned batch whose fate is unknown never commits after the next one", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  const forward = toRunner(runner);
  const lost: BatchRequest[] = [];
  // Every attempt of seq 1 is lost on the way (the edge cannot know): unknown, given up at the cap.
  const { edge, send } = testEdge((batch, signal) => {
    if (batch.seq === 1) {
      lost.push(batch);
      return Promise.reject(new ForwardError("connection reset", true));
    }
    return forward(batch, signal);
  }, { batchAttemptsMax: 3, newIncarnation: () => "i1" });
  const first = await send([1]);
  assert.equal(first.status, 503);
  assert.equal((await first.json()).written, "unknown");
  assert.equal((await send([2])).status, 200);
  // A late copy of the abandoned seq reaches the runner after seq 2 committed: refused, not written.
  const late = await runner.app.request("/v1/tables/events/batches", {
    method: "POST",
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/vnd.apache.arrow.stream",
      "x-lakestrike-producer": lost[0]!.producerId,
      "x-lakestrike-seq": "1",
    },
    body: lost[0]!.body as Uint8Array<ArrayBuffer>,
  });
  assert.equal(late.status, 409);
  edge.close();
  await runner.close();
  assert.deepEqual(await tableIds(storage), [2]);
});

Deno.test("/healthz of the edge reports a stuck table", async () => {
  const { edge, send } = testEdge(
    () => Promise.reject(new ForwardError("runner answered 500", true, 500, { body: {} })),
    { batchAttemptsMax: 1_000 },
  );
  const healthy = await (await edge.request("/healthz")).json();
  assert.equal(healthy.status, "ok");
  assert.equal(healthy.tables.events.stuck, false);
  const pending = send([1]);
  await until(() => (edge.stats("events")?.failuresInRow ?? 0) >= 3);
  const health = await (await edge.request("/healthz")).json();
  assert.equal(health.status, "stuck");
  assert.equal(health.tables.events.stuck, true);
  assert.match(health.tables.events.lastError, /500/);
  edge.close();
  assert.equal((await pending).status, 503);
});
