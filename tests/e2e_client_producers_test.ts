/**
 * Idempotent client producers through the real edge and runner over HTTP (issue 12, ADR 0037):
 * the same `(producer, sequence)` posted twice, to two edges, and again after a restart of edge and
 * runner is in the table once; a 503 `written: "unknown"` forced by a storage fault (a commit put
 * whose answer is lost and whose read-back fails) retried by `lakestrike/client` ends with the
 * events exactly once; a gap is 409 and writes nothing; two runners on one S3 table racing on one
 * producer commit each sequence once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createClient } from "../client/mod.ts";
import { clientAppId, PRODUCER_ID_HEADER, SEQUENCE_HEADER } from "../client/protocol.ts";
import { loadConfig } from "../batch/config.ts";
import { startRunner } from "../batch/runner_main.ts";
import { startEdge } from "../edge/main.ts";
import { registerAws } from "../aws/register_aws.ts";
import { createTestBucket, testS3Endpoint } from "../aws/s3_test_support.ts";
import { classifyTarget } from "./chaos/faults.ts";
import {
  assertExactlyOnce,
  CLIENT_TOKEN,
  CONFIG_MODULE_URL,
  EVENT_SCHEMA,
  makeEvents,
  readTable,
  RUNNER_TOKEN,
  startStack,
  writeConfig,
} from "./fixtures/e2e_util.ts";

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Posts `events` as `(producer, sequence)` to an edge. */
async function postAs(
  edgeUrl: string,
  producer: string,
  sequence: number,
  events: Record<string, unknown>[],
): Promise<Answer> {
  const res = await fetch(`${edgeUrl}/v1/tables/events/events`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${CLIENT_TOKEN}`,
      "content-type": "application/json",
      [PRODUCER_ID_HEADER]: producer,
      [SEQUENCE_HEADER]: String(sequence),
    },
    body: JSON.stringify(events),
  });
  return { status: res.status, body: await res.json() };
}

function payloads(events: Record<string, unknown>[]): string[] {
  return events.map((e) => String(e.payload));
}

Deno.test("e2e: one (producer, sequence) posted twice, to two edges and after a restart of edge and runner is in the table once; a gap is 409 and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-producer-" });
  const configPath = await writeConfig(dir);
  const acked = new Set<string>();
  const first = makeEvents("p1-s1", 5);
  let stack = await startStack(configPath);
  try {
    const config = await loadConfig(configPath);
    const edge2 = await startEdge(config, {
      runnerToken: RUNNER_TOKEN,
      runnerUrl: stack.runner.url,
      port: 0,
      hostname: "127.0.0.1",
      producerId: "e2e-edge-2",
    });
    try {
      const a = await postAs(stack.edge.url, "p1", 1, first);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.duplicate, undefined);
      for (const p of payloads(first)) acked.add(p);
      const again = await postAs(stack.edge.url, "p1", 1, first);
      assert.deepEqual(again, {
        status: 200,
        body: { version: a.body.version, rows: 5, duplicate: true },
      });
      const other = await postAs(edge2.url, "p1", 1, first);
      assert.equal(other.status, 200);
      assert.equal(other.body.duplicate, true);
      // Both edges at once, a new sequence: one commit answers both (the runner queues a retry
      // of a queued batch behind the same answer), or one commit and one duplicate.
      const second = makeEvents("p1-s2", 4);
      const both = await Promise.all([
        postAs(stack.edge.url, "p1", 2, second),
        postAs(edge2.url, "p1", 2, second),
      ]);
      assert.deepEqual(both.map((b) => b.status), [200, 200], JSON.stringify(both));
      assert.equal(both[0]!.body.version, both[1]!.body.version, JSON.stringify(both));
      for (const p of payloads(second)) acked.add(p);
    } finally {
      await edge2.shutdown();
    }
    await stack.close();

    stack = await startStack(configPath);
    const retry = await postAs(stack.edge.url, "p1", 2, makeEvents("p1-s2", 4));
    assert.equal(retry.status, 200);
    assert.equal(retry.body.duplicate, true, "the table's txn remembers across restarts");

    const before = await readTable(stack.tableDir);
    const gap = await postAs(stack.edge.url, "p1", 4, makeEvents("p1-s4", 3));
    assert.equal(gap.status, 409, JSON.stringify(gap.body));
    assert.equal(gap.body.error, "sequence_gap");
    assert.equal(gap.body.expectedSequence, 3);
    assert.equal(gap.body.written, "no");
    const after = await readTable(stack.tableDir);
    assert.equal(after.snapshot.version, before.snapshot.version, "a gap wrote a version");
    assert.deepEqual(after.files, before.files);
    const third = makeEvents("p1-s3", 2);
    assert.equal((await postAs(stack.edge.url, "p1", 3, third)).status, 200);
    for (const p of payloads(third)) acked.add(p);
    const contents = await assertExactlyOnce(stack.tableDir, acked);
    assert.equal(contents.snapshot.txns.get(clientAppId("p1"))?.version, 3);
    // Bad headers are refused before anything is read.
    const bad = await postAs(stack.edge.url, "p#1", 1, makeEvents("bad", 1));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "invalid_header");
  } finally {
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Arms a one-shot storage fault on the local disk, as the chaos run's `faults.ts` wraps `Deno.*`:
 * the next commit file is linked in (the commit takes effect) but its answer is lost, and reading
 * it back fails once, so the runner cannot tell whether it committed (503 `written: "unknown"`).
 */
function armLostCommit(): { fired: () => boolean; restore: () => void } {
  const d = Deno as unknown as Record<string, unknown>;
  const link = Deno.link;
  const readFile = Deno.readFile;
  let lostPath: string | undefined;
  let readFailed = false;
  d.link = async (from: string, to: string) => {
    await link(from, to);
    if (lostPath === undefined && classifyTarget(to) === "commit") {
      lostPath = to;
      throw new Error("injected: lost answer of put-if-absent");
    }
  };
  d.readFile = (path: string | URL, options?: Deno.ReadFileOptions) => {
    if (!readFailed && lostPath !== undefined && String(path) === lostPath) {
      readFailed = true;
      return Promise.reject(new Error("injected: read-back failed"));
    }
    return readFile(path, options);
  };
  return {
    fired: () => readFailed,
    restore() {
      d.link = link;
      d.readFile = readFile;
    },
  };
}

Deno.test("e2e: a 503 written unknown forced by a lost commit answer, retried by lakestrike/client, leaves the events exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-client-fault-" });
  const stack = await startStack(await writeConfig(dir));
  const client = createClient({
    url: stack.edge.url,
    token: CLIENT_TOKEN,
    table: "events",
    retryDelayBaseMs: 5,
    retryAfterMaxMs: 50,
  });
  const fault = armLostCommit();
  try {
    const events = makeEvents("fault", 6);
    const result = await client.send(events);
    assert.ok(fault.fired(), "the fault never fired");
    assert.equal(result.duplicate, true, "the first attempt committed; the retry wrote nothing");
    const m = client.metrics();
    assert.equal(m.retriesByCause.status503, 1, JSON.stringify(m));
    assert.equal(m.committedEvents, 6);
    const later = makeEvents("after", 3);
    assert.equal((await client.send(later)).sequence, 2);
    await client.close();
    await assertExactlyOnce(stack.tableDir, new Set(payloads([...events, ...later])));
  } finally {
    fault.restore();
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e: two runners on one S3 table racing on one producer commit each sequence once", async () => {
  const { bucket, cleanup } = await createTestBucket();
  const restoreAws = registerAws({ s3: { endpoint: testS3Endpoint() } });
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-producer-s3-" });
  const uri = `s3://${bucket}/events`;
  const configPath = `${dir}/lakestrike.config.ts`;
  await Deno.writeTextFile(
    configPath,
    `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE_URL)};
export const config = defineConfig({
  tables: [{ name: "events", uri: ${JSON.stringify(uri)}, schema: ${
      JSON.stringify(EVENT_SCHEMA)
    }, partitionColumns: ["date"] }],
  tokens: { ${JSON.stringify(CLIENT_TOKEN)}: ["events"] },
  runner: { token: ${JSON.stringify(RUNNER_TOKEN)} },
});
`,
  );
  const config = await loadConfig(configPath);
  const runners: Awaited<ReturnType<typeof startRunner>>[] = [];
  const edges: Awaited<ReturnType<typeof startEdge>>[] = [];
  try {
    // One after the other: the first creates the table.
    for (let k = 0; k < 2; k++) {
      runners.push(await startRunner(config, { runnerToken: RUNNER_TOKEN, port: 0 }));
    }
    for (const [k, r] of runners.entries()) {
      edges.push(
        await startEdge(config, {
          runnerToken: RUNNER_TOKEN,
          runnerUrl: r.url,
          port: 0,
          hostname: "127.0.0.1",
          producerId: `s3-edge-${k}`,
        }),
      );
    }
    const acked = new Set<string>();
    const SEQUENCES = 12;
    for (let s = 1; s <= SEQUENCES; s++) {
      const events = makeEvents(`race-s${s}`, 3);
      const answers = await Promise.all(edges.map((e) => postAs(e.url, "racer", s, events)));
      assert.deepEqual(answers.map((a) => a.status), [200, 200], JSON.stringify(answers));
      assert.equal(
        answers.filter((a) => a.body.duplicate === true).length,
        1,
        `sequence ${s}: ${JSON.stringify(answers)}`,
      );
      for (const p of payloads(events)) acked.add(p);
    }
    const table = await readTable(uri);
    const counts = new Map<string, number>();
    for (const p of table.payloads) counts.set(p, (counts.get(p) ?? 0) + 1);
    assert.deepEqual([...counts].filter(([, n]) => n !== 1), []);
    assert.deepEqual([...acked].filter((p) => !counts.has(p)), []);
    assert.equal(table.payloads.length, acked.size);
    assert.equal(table.snapshot.txns.get(clientAppId("racer"))?.version, SEQUENCES);
  } finally {
    for (const e of edges) await e.shutdown();
    for (const r of runners) await r.shutdown();
    restoreAws();
    await cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
