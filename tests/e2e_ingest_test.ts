// End to end over real HTTP: clients -> edge -> runner -> Delta table on local disk, all from a
// lakestrike.config.ts in a temp directory. Every acknowledged event must be in the table exactly
// once, read back by our scan and by DuckDB over the active files.
import assert from "node:assert/strict";
import { ARROW_STREAM_CONTENT_TYPE, PRODUCER_HEADER, SEQ_HEADER } from "../edge/wire.ts";
import * as arrow from "apache-arrow";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { openStorage } from "../core/storage/mod.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { DEMO_EVENTS_SCHEMA } from "../batch/dev.ts";
import {
  assertExactlyOnce,
  makeEvents,
  postEvents,
  readTable,
  RUNNER_TOKEN,
  startStack,
  writeConfig,
} from "./fixtures/e2e_util.ts";

const CLIENTS = 20;
const REQUESTS_PER_CLIENT = 15;
const EVENTS_PER_REQUEST = 20;

Deno.test("e2e: 20 concurrent clients, every acknowledged event exactly once (scan and DuckDB)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-" });
  const stack = await startStack(await writeConfig(dir));
  const acked = new Set<string>();
  const versions: { version: number; ids: string[] }[] = [];
  const statuses = new Map<number, number>();
  try {
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let r = 0; r < REQUESTS_PER_CLIENT; r++) {
        const events = makeEvents(`c${c}`, EVENTS_PER_REQUEST, r * EVENTS_PER_REQUEST);
        // Half the clients send NDJSON, half a JSON array: both paths end in the same table.
        const ndjson = c % 2 === 1;
        const answer = await postEvents(
          stack.edge.url,
          ndjson ? events.map((e) => JSON.stringify(e)).join("\n") : JSON.stringify(events),
          { contentType: ndjson ? "application/x-ndjson" : "application/json" },
        );
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status !== 200) continue;
        assert.equal(answer.body.rows, EVENTS_PER_REQUEST);
        const ids = events.map((e) => String(e.payload));
        for (const id of ids) acked.add(id);
        versions.push({ version: Number(answer.body.version), ids });
      }
    }));
  } finally {
    await stack.close();
  }
  // Nothing failed on the way here, so every event was acknowledged.
  assert.deepEqual(Object.fromEntries(statuses), { 200: CLIENTS * REQUESTS_PER_CLIENT });
  assert.equal(acked.size, CLIENTS * REQUESTS_PER_CLIENT * EVENTS_PER_REQUEST);
  const contents = await assertExactlyOnce(stack.tableDir, acked);
  assert.equal(contents.payloads.length, acked.size);

  // An answer's version is a version at which its events are visible (what an ack means).
  const storage = openStorage(stack.tableDir);
  const sample = versions.filter((_, i) => i % 37 === 0);
  for (const { version, ids } of sample) {
    const at = await loadSnapshot(storage, { version });
    const atContents = await readTableAt(stack.tableDir, at.version);
    for (const id of ids) assert.ok(atContents.has(id), `${id} not visible at version ${version}`);
  }
  // Group commit: far fewer commits than requests.
  assert.ok(contents.snapshot.version < CLIENTS * REQUESTS_PER_CLIENT);
  await Deno.remove(dir, { recursive: true });
});

async function readTableAt(tableDir: string, version: number): Promise<Set<string>> {
  const { scanSnapshot } = await import("../core/scan/mod.ts");
  const storage = openStorage(tableDir);
  const snapshot = await loadSnapshot(storage, { version });
  const ids = new Set<string>();
  for await (const batch of scanSnapshot(storage, snapshot, { columns: ["payload"] })) {
    for (const row of batch) ids.add(String(row[0]));
  }
  return ids;
}

Deno.test("e2e: a batch whose answer is lost is sent again and written once", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-lost-" });
  // The edge's fetch to the runner delivers every request but loses the first two answers.
  let lost = 0;
  const lossyFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (lost < 2) {
      lost++;
      await res.body?.cancel();
      throw new TypeError("connection reset by peer (answer lost)");
    }
    return res;
  };
  const stack = await startStack(await writeConfig(dir), { runnerFetch: lossyFetch });
  const edge = stack.edge;
  try {
    await t.step("through the edge: retried with the same seq, acknowledged once", async () => {
      const before = await readTable(stack.tableDir);
      const events = makeEvents("lost", 30);
      const answer = await postEvents(edge.url, JSON.stringify(events));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(lost, 2, "both answers were lost and the batch was sent three times");
      const after = await assertExactlyOnce(
        stack.tableDir,
        new Set(events.map((e) => String(e.payload))),
      );
      assert.equal(after.payloads.length, 30);
      // Three deliveries, one commit.
      assert.equal(after.snapshot.version, before.snapshot.version + 1);
      assert.equal(answer.body.version, after.snapshot.version);
    });

    await t.step("on the wire: the same producer and seq twice", async () => {
      const batch = arrow.tableToIPC(
        createArrowTable(
          DEMO_EVENTS_SCHEMA,
          makeEvents("wire", 5).map((e) => ({
            ...e,
            ts: new Date(Number(e.ts)),
          })),
        ),
        "stream",
      );
      const send = () =>
        fetch(`${stack.runner.url}/v1/tables/events/batches`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${RUNNER_TOKEN}`,
            "content-type": ARROW_STREAM_CONTENT_TYPE,
            [PRODUCER_HEADER]: "wire-producer",
            [SEQ_HEADER]: "41",
          },
          body: batch as Uint8Array<ArrayBuffer>,
        });
      const first = await send();
      const firstBody = await first.json();
      assert.equal(first.status, 200);
      const tableAfterFirst = await readTable(stack.tableDir);
      const second = await send();
      const secondBody = await second.json();
      assert.equal(second.status, 200);
      assert.equal(
        secondBody.version,
        firstBody.version,
        "the retry names the version that holds it",
      );
      const tableAfterSecond = await readTable(stack.tableDir);
      assert.equal(tableAfterSecond.snapshot.version, tableAfterFirst.snapshot.version);
      assert.deepEqual(tableAfterSecond.files, tableAfterFirst.files);
      const wire = tableAfterSecond.payloads.filter((p) => p.startsWith("wire-"));
      assert.equal(wire.length, 5);
    });
  } finally {
    await stack.close();
  }
  await Deno.remove(dir, { recursive: true });
});
