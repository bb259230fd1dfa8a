import assert from "node:assert/strict";
import { scanSnapshot } from "../../core/scan/mod.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createEdgeApp } from "../../edge/mod.ts";
import { forwardBatch } from "../../edge/wire.ts";
import { createTestTable, dataFiles, SCHEMA, testRunner, TOKEN } from "./test_util.ts";

Deno.test("edge -> runner in process: client events are committed and readable", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  let forwarded = 0;
  const edge = createEdgeApp({
    tables: { events: { schema: SCHEMA } },
    tokens: { "client-token": "*" },
    producerId: "edge-e2e",
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
  assert.equal(snapshot.txns.get("edge-e2e")?.version, 100 + forwarded - 1);
  const ids: bigint[] = [];
  for await (const batch of scanSnapshot(storage, snapshot, { columns: ["id"] })) {
    for (const row of batch) ids.push(row[0] as bigint);
  }
  assert.deepEqual(ids.sort((x, y) => Number(x - y)), [1n, 2n, 3n, 4n]);
  assert.ok(dataFiles(storage).some((p) => p.startsWith("region=__HIVE_DEFAULT_PARTITION__/")));
});
