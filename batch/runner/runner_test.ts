import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { parseActions } from "../../core/log/actions.ts";
import { commitPath } from "../../core/log/paths.ts";
import { scanSnapshot } from "../../core/scan/mod.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { checkpointPlugin } from "../../plugins/checkpoint/mod.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { PLUGIN_API_VERSION } from "../../plugins/types.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import { createRunner } from "./runner.ts";
import {
  createTestTable,
  dataFiles,
  gate,
  ipc,
  post,
  rows,
  SCHEMA,
  testRunner,
  TOKEN,
  until,
} from "./test_util.ts";

async function readCommitActions(storage: ReturnType<typeof createMemoryStorage>, v: number) {
  return parseActions(new TextDecoder().decode(await storage.get(commitPath(v))), `v${v}`);
}

Deno.test("runner: a batch is committed, answered with its version and readable", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  const res = await post(runner, { seq: 10, rows: rows(5) });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { version: 1, rows: 5 });
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 1);
  assert.equal(snapshot.txns.get("edge-1")?.version, 10);
  assert.deepEqual(snapshot.files.map((f) => f.partitionValues.region).sort(), ["eu", "us"]);
  const scanned = [];
  for await (const batch of scanSnapshot(storage, snapshot)) scanned.push(...batch);
  assert.equal(scanned.length, 5);
  const actions = await readCommitActions(storage, 1);
  const info = actions.find((a) => "commitInfo" in a);
  assert.ok(info && "commitInfo" in info);
  assert.equal(info.commitInfo.operation, "WRITE");
  assert.equal(info.commitInfo.isBlindAppend, true);
  await runner.close();
});

Deno.test("runner: a retried seq is a duplicate; an older one not known as committed is 409", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  const dup = { version: 1, rows: 3, duplicate: true };
  assert.deepEqual(await (await post(runner, { seq: 5 })).json(), { version: 1, rows: 3 });
  const files = dataFiles(storage);
  assert.deepEqual(await (await post(runner, { seq: 5 })).json(), dup);
  // Seq 3 was never committed: a batch that goes backwards is refused, not acknowledged.
  const older = await post(runner, { seq: 3 });
  assert.equal(older.status, 409);
  const refused = await older.json();
  assert.equal(refused.error, "sequence_conflict");
  assert.equal(refused.committedSeq, 5);
  assert.equal(refused.written, "no");
  // Another producer moves the table on; edge-1's retry still gets the version that holds seq 5.
  assert.deepEqual(await (await post(runner, { producer: "edge-2", seq: 1 })).json(), {
    version: 2,
    rows: 3,
  });
  assert.deepEqual(await (await post(runner, { seq: 5 })).json(), dup);
  assert.equal(dataFiles(storage).length, files.length + 2);
  await runner.close();

  // After a restart nothing is remembered: the snapshot's txn decides, answered with its version.
  const restarted = testRunner(storage);
  const before = dataFiles(storage).length;
  assert.deepEqual(await (await post(restarted, { seq: 5 })).json(), { ...dup, version: 2 });
  assert.equal((await post(restarted, { seq: 4 })).status, 409);
  assert.equal(dataFiles(storage).length, before);
  assert.equal((await loadSnapshot(storage)).version, 2);
  assert.equal(restarted.metrics.batches.get({ table: "events", outcome: "duplicate" }), 1);
  await restarted.close();
});

Deno.test("runner: batches arriving during a commit go into the next commit together", async () => {
  const held = gate();
  let heldPut = false;
  const storage = createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && path === commitPath(1)) {
          heldPut = true;
          await held.promise;
        }
      },
    },
  });
  await createTestTable(storage);
  const runner = testRunner(storage);
  const first = post(runner, { producer: "a", seq: 1, rows: rows(2, 0) });
  await until(() => heldPut);
  const rest = [
    post(runner, { producer: "b", seq: 1, rows: rows(2, 10) }),
    post(runner, { producer: "c", seq: 1, rows: rows(2, 20) }),
    post(runner, { producer: "a", seq: 2, rows: rows(2, 30) }),
    post(runner, { producer: "a", seq: 3, rows: rows(2, 40) }),
  ];
  await until(() => runner.tableStats("events")!.depth === 4);
  held.open();
  assert.deepEqual(await (await first).json(), { version: 1, rows: 2 });
  for (const r of await Promise.all(rest)) {
    assert.deepEqual(await r.json(), { version: 2, rows: 2 });
  }
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 2);
  assert.equal(snapshot.txns.get("a")?.version, 3, "the txn carries the producer's max seq");
  assert.equal(snapshot.txns.get("b")?.version, 1);
  const v2 = await readCommitActions(storage, 2);
  assert.equal(v2.filter((a) => "txn" in a).length, 3, "one txn per producer");
  assert.equal(v2.filter((a) => "add" in a).length, 4 * 2, "two partitions per batch");
  let n = 0;
  for await (const batch of scanSnapshot(storage, snapshot)) n += batch.length;
  assert.equal(n, 10);
  assert.equal(runner.metrics.commits.get({ table: "events" }), 2);
  assert.equal(runner.metrics.groupSize.count({ table: "events" }), 2);
  await runner.close();
});

Deno.test("runner: a full queue answers 429 with Retry-After", async () => {
  const held = gate();
  let heldPut = false;
  const storage = createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && path === commitPath(1)) {
          heldPut = true;
          await held.promise;
        }
      },
    },
  });
  await createTestTable(storage);
  const runner = testRunner(storage, { limits: { queueBatchesMax: 1 } });
  const first = post(runner, { seq: 1 });
  await until(() => heldPut);
  const second = post(runner, { seq: 2 });
  await until(() => runner.tableStats("events")!.depth === 1);
  const third = await post(runner, { seq: 3 });
  assert.equal(third.status, 429);
  assert.equal(third.headers.get("retry-after"), "1");
  assert.equal((await third.json()).error, "buffer_full");
  held.open();
  assert.equal((await first).status, 200);
  assert.equal((await second).status, 200);
  await runner.close();
});

Deno.test("runner: two runners on one table both commit; races and conflicts resolve", async () => {
  const storage = await createTestTable();
  const bCommitted = gate();
  let aHeld = 0;
  // Runner A's first put of each commit version waits until B has committed that version.
  const storageA = {
    ...storage,
    location: storage.location,
    put: async (path: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }) => {
      if (path.startsWith("_delta_log/") && path.endsWith(".json") && aHeld++ === 0) {
        await bCommitted.promise;
      }
      return await storage.put(path, bytes, options);
    },
  };
  const a = testRunner(storageA);
  const b = testRunner(storage);
  await Promise.all([a.ready(), b.ready()]);
  // A blind-append race: A loses version 1 to B and commits version 2 without a conflict.
  const fromA = post(a, { producer: "edge-a", seq: 1 });
  await until(() => aHeld === 1);
  assert.deepEqual(await (await post(b, { producer: "edge-b", seq: 1 })).json(), {
    version: 1,
    rows: 3,
  });
  bCommitted.open();
  assert.deepEqual(await (await fromA).json(), { version: 2, rows: 3 });
  assert.equal(a.metrics.conflicts.get({ table: "events" }), 1);

  // The same producer through both runners: B commits seq 7 first, A's seq 8 conflicts on the
  // txn, reloads the snapshot and commits on retry; seq 7 through A is then below the committed
  // seq and not known to A as committed: 409, nothing written.
  const held = gate();
  let holding = false;
  const storageA2 = {
    ...storage,
    location: storage.location,
    put: async (path: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }) => {
      if (path === commitPath(3) && !holding) {
        holding = true;
        await held.promise;
      }
      return await storage.put(path, bytes, options);
    },
  };
  const a2 = testRunner(storageA2);
  await a2.ready();
  const seq8 = post(a2, { producer: "edge-p", seq: 8 });
  await until(() => holding);
  assert.deepEqual(await (await post(b, { producer: "edge-p", seq: 7 })).json(), {
    version: 3,
    rows: 3,
  });
  held.open();
  assert.deepEqual(await (await seq8).json(), { version: 4, rows: 3 });
  assert.equal(a2.metrics.retries.get({ table: "events" }), 1);
  assert.equal((await post(a2, { producer: "edge-p", seq: 7 })).status, 409);
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 4);
  assert.equal(snapshot.txns.get("edge-p")?.version, 8);
  assert.equal(snapshot.files.length, 4 * 2);
  await Promise.all([a.close(), b.close(), a2.close()]);
});

Deno.test("runner: the same seq through two runners at once is committed once", async () => {
  const storage = await createTestTable();
  const held = gate();
  let holding = false;
  const storageA = {
    ...storage,
    location: storage.location,
    put: async (path: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }) => {
      if (path === commitPath(1) && !holding) {
        holding = true;
        await held.promise;
      }
      return await storage.put(path, bytes, options);
    },
  };
  const a = testRunner(storageA);
  const b = testRunner(storage);
  const fromA = post(a, { seq: 9 });
  await until(() => holding);
  assert.deepEqual(await (await post(b, { seq: 9 })).json(), { version: 1, rows: 3 });
  held.open();
  assert.deepEqual(await (await fromA).json(), { version: 1, rows: 3, duplicate: true });
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 1);
  assert.equal(snapshot.files.length, 2, "A's files are orphans, not committed");
  await Promise.all([a.close(), b.close()]);
});

Deno.test("runner: a failed commit answers 503, leaves orphans, and the next batch commits", async () => {
  let failNext = true;
  const storage = createMemoryStorage({
    faults: {
      before(op, path) {
        if (op === "put" && path === commitPath(1) && failNext) {
          failNext = false;
          throw new Error("connection reset");
        }
      },
    },
  });
  await createTestTable(storage);
  const runner = testRunner(storage);
  const failed = await post(runner, { seq: 1 });
  assert.equal(failed.status, 503);
  assert.equal((await failed.json()).error, "commit_failed");
  assert.equal(dataFiles(storage).length, 2, "orphans stay for vacuum");
  assert.match(runner.tableStats("events")!.lastError ?? "", /connection reset/);
  assert.deepEqual(await (await post(runner, { seq: 1 })).json(), { version: 1, rows: 3 });
  assert.equal(runner.tableStats("events")!.lastError, undefined);
  await runner.close();
});

Deno.test("runner: request checks answer 401, 404, 400, 415, 413, 422 and write nothing", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage, { limits: { requestBodyBytesMax: 2048 } });
  const cases: [string, Promise<Response>, number, string][] = [
    ["no token", post(runner, { token: undefined }), 401, "unauthorized"],
    ["wrong token", post(runner, { token: "nope" }), 401, "unauthorized"],
    ["prefix of token", post(runner, { token: TOKEN.slice(0, -1) }), 401, "unauthorized"],
    [
      "unknown table, no token",
      post(runner, { table: "x", token: undefined }),
      401,
      "unauthorized",
    ],
    ["unknown table", post(runner, { table: "nope" }), 404, "unknown_table"],
    ["json", post(runner, { contentType: "application/json" }), 415, "unsupported_media_type"],
    ["no type", post(runner, { contentType: undefined }), 415, "unsupported_media_type"],
    ["no producer", post(runner, { producer: undefined }), 400, "invalid_header"],
    ["empty producer", post(runner, { producer: "" }), 400, "invalid_header"],
    ["no seq", post(runner, { seq: undefined }), 400, "invalid_header"],
    ["negative seq", post(runner, { seq: "-1" }), 400, "invalid_header"],
    ["fraction seq", post(runner, { seq: "1.5" }), 400, "invalid_header"],
    ["huge seq", post(runner, { seq: "99999999999999999" }), 400, "invalid_header"],
    ["garbage body", post(runner, { body: new Uint8Array([1, 2, 3, 4]) }), 400, "malformed_body"],
    ["empty body", post(runner, { body: new Uint8Array() }), 400, "malformed_body"],
    ["cut body", post(runner, { body: ipc(rows(3)).subarray(0, 50) }), 400, "malformed_body"],
    ["too large", post(runner, { rows: rows(500) }), 413, "payload_too_large"],
  ];
  for (const [name, response, status, error] of cases) {
    const res = await response;
    assert.equal(res.status, status, name);
    assert.equal((await res.json()).error, error, name);
  }
  const extra = arrow.tableToIPC(
    new arrow.Table({
      id: arrow.vectorFromArray([1n], new arrow.Int64()),
      bogus: arrow.vectorFromArray(["x"], new arrow.Utf8()),
    }),
    "stream",
  );
  const r1 = await post(runner, { body: extra });
  assert.equal(r1.status, 422);
  const b1 = await r1.json();
  assert.equal(b1.error, "schema_mismatch");
  assert.match(b1.detail, /"bogus"/);
  const wrongType = arrow.tableToIPC(
    new arrow.Table({ id: arrow.vectorFromArray(["1"], new arrow.Utf8()) }),
    "stream",
  );
  const r2 = await post(runner, { body: wrongType });
  assert.equal(r2.status, 422);
  assert.match((await r2.json()).detail, /"id"/);
  assert.deepEqual(dataFiles(storage), []);
  assert.equal((await loadSnapshot(storage)).version, 0);
  assert.equal(runner.metrics.requests.get({ status: "401" }), 4);
  await runner.close();
});

Deno.test("runner: metrics are Prometheus text with labels and monotonic histogram buckets", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  for (let seq = 1; seq <= 3; seq++) assert.equal((await post(runner, { seq })).status, 200);
  const res = await runner.app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const t = /^# TYPE ([a-z_][a-z0-9_]*) (counter|gauge|histogram)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/
      .exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const value = Number(m[3] === "+Inf" ? Infinity : m[3]);
    assert.ok(!Number.isNaN(value), line);
    samples.set(`${m[1]}${m[2] ?? ""}`, value);
  }
  for (
    const name of [
      "lakestrike_runner_ack_latency_seconds",
      "lakestrike_runner_commit_latency_seconds",
    ]
  ) {
    assert.equal(types.get(name), "histogram");
    const buckets = [...samples].filter(([k]) => k.startsWith(`${name}_bucket{table="events",le=`));
    assert.ok(buckets.length > 2);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(buckets[i]![1] >= buckets[i - 1]![1], `${name} buckets must not decrease`);
    }
    assert.equal(buckets.at(-1)![0], `${name}_bucket{table="events",le="+Inf"}`);
    assert.equal(buckets.at(-1)![1], samples.get(`${name}_count{table="events"}`));
    assert.equal(samples.get(`${name}_count{table="events"}`), 3);
  }
  assert.equal(samples.get('lakestrike_runner_commits_total{table="events"}'), 3);
  assert.equal(samples.get('lakestrike_runner_rows_total{table="events"}'), 9);
  assert.equal(samples.get('lakestrike_runner_files_total{table="events"}'), 6);
  assert.equal(
    samples.get('lakestrike_runner_batches_total{outcome="committed",table="events"}'),
    3,
  );
  assert.equal(samples.get('lakestrike_runner_buffer_depth{table="events"}'), 0);
  assert.equal(samples.get('lakestrike_runner_table_version{table="events"}'), 3);
  assert.ok((samples.get('lakestrike_runner_bytes_total{table="events"}') ?? 0) > 0);
  assert.equal(types.get("lakestrike_runner_conflicts_total"), "counter");
  assert.equal(types.get("lakestrike_runner_retries_total"), "counter");
  await runner.close();
});

Deno.test("runner: healthz reports every table", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  await runner.ready();
  const res = await runner.app.request("/healthz");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.tables.events.version, 0);
  assert.equal(body.tables.events.depth, 0);
  assert.equal((await runner.app.request("/nope")).status, 404);
  await runner.close();
  assert.equal((await (await runner.app.request("/healthz")).json()).status, "closing");
  assert.equal((await post(runner, { seq: 1 })).status, 503);
});

Deno.test("runner: afterCommit checkpoints at the interval, after the answer", async () => {
  const storage = await createTestTable(undefined, { "delta.checkpointInterval": "2" });
  const released = gate();
  const seen: number[] = [];
  const runner = testRunner(storage, {
    plugins: [writerPlugin(), checkpointPlugin(), {
      name: "slow-after",
      apiVersion: PLUGIN_API_VERSION,
      hooks: {
        async afterCommit(result) {
          seen.push(result.version);
          await released.promise;
        },
      },
    }],
  });
  // Answers come while afterCommit hooks still wait: they never delay the ack.
  for (let seq = 1; seq <= 3; seq++) {
    assert.deepEqual(await (await post(runner, { seq })).json(), { version: seq, rows: 3 });
  }
  assert.ok(seen.length <= 1);
  released.open();
  await runner.close();
  assert.deepEqual(seen, [1, 2, 3]);
  assert.ok(await storage.head("_delta_log/00000000000000000002.checkpoint.parquet"));
  assert.equal(await storage.head("_delta_log/00000000000000000001.checkpoint.parquet"), undefined);
  assert.equal(await storage.head("_delta_log/00000000000000000003.checkpoint.parquet"), undefined);
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.checkpointUsed?.version, 2);
  assert.equal(loaded.version, 3);
});

Deno.test("runner: transformBatch runs before validation; a rejected transform is 422", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage, {
    plugins: [writerPlugin(), {
      name: "fill-v",
      apiVersion: PLUGIN_API_VERSION,
      hooks: {
        transformBatch(batch) {
          if (batch.getChild("region") === null) throw new Error("region is required");
          return batch.select(["id", "region"]);
        },
      },
    }],
  });
  assert.deepEqual(await (await post(runner, { seq: 1 })).json(), { version: 1, rows: 3 });
  const snapshot = await loadSnapshot(storage);
  const stats = snapshot.files.map((f) => JSON.parse(f.stats!));
  assert.ok(stats.every((s) => s.nullCount.v === s.numRecords), "v was dropped by the transform");
  const noRegion = arrow.tableToIPC(
    new arrow.Table({ id: arrow.vectorFromArray([1n], new arrow.Int64()) }),
    "stream",
  );
  const res = await post(runner, { seq: 2, body: noRegion });
  assert.equal(res.status, 500);
  assert.equal((await res.json()).error, "transform_failed");
  await runner.close();
});

Deno.test("createRunner: refuses a registry without a writer, an unfrozen one, bad limits", () => {
  const storage = createMemoryStorage();
  const tables = { events: { storage, uri: "memory://events" } };
  assert.throws(
    () => createRunner({ tables, registry: createPluginRegistry().freeze(), runnerToken: "t" }),
    /writeFiles/,
  );
  assert.throws(
    () =>
      createRunner({ tables, registry: createPluginRegistry([writerPlugin()]), runnerToken: "t" }),
    /freeze/,
  );
  assert.throws(
    () =>
      createRunner({
        tables,
        registry: createPluginRegistry([writerPlugin()]).freeze(),
        runnerToken: "t",
        limits: { groupBatchesMax: 0 },
      }),
    /groupBatchesMax/,
  );
  assert.ok(SCHEMA.fields.length === 3 && ipc(rows(1)).length > 0);
});

Deno.test("runner: a batch whose files fail is answered alone; its group still commits", async () => {
  const held = gate();
  let heldPut = false;
  const storage = createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && path === commitPath(1)) {
          heldPut = true;
          await held.promise;
        }
      },
    },
  });
  await createTestTable(storage);
  const runner = testRunner(storage, {
    plugins: [writerPlugin(), {
      name: "refuse-666",
      apiVersion: PLUGIN_API_VERSION,
      hooks: {
        writeFiles: {
          order: "pre",
          handler(batch) {
            if (batch.getChild("id")?.toArray().includes(666n)) throw new Error("bad id");
            return undefined; // pass to the writer
          },
        },
      },
    }],
  });
  const first = post(runner, { producer: "a", seq: 1 });
  await until(() => heldPut);
  const good = post(runner, { producer: "b", seq: 1, rows: rows(2, 10) });
  const bad = post(runner, { producer: "c", seq: 1, rows: [{ id: 666, region: "eu", v: 1 }] });
  await until(() => runner.tableStats("events")!.depth === 2);
  held.open();
  assert.equal((await (await first).json()).version, 1);
  assert.deepEqual(await (await good).json(), { version: 2, rows: 2 });
  const badRes = await bad;
  assert.equal(badRes.status, 500);
  assert.equal((await badRes.json()).error, "write_failed");
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.txns.get("c"), undefined, "the failed batch's seq is not committed");
  assert.equal(runner.metrics.batches.get({ table: "events", outcome: "failed" }), 1);
  await runner.close();
});

Deno.test("createRunner: two tables, each with its own committer and version", async () => {
  const s1 = await createTestTable();
  const s2 = await createTestTable();
  const runner = createRunner({
    tables: new Map([
      ["one", { storage: s1, uri: "memory://one" }],
      ["two", { storage: s2, uri: "memory://two", commitOptions: { maxAttempts: 3 } }],
    ]),
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  assert.equal((await (await post(runner, { table: "one", seq: 1 })).json()).version, 1);
  assert.equal((await (await post(runner, { table: "one", seq: 2 })).json()).version, 2);
  assert.equal((await (await post(runner, { table: "two", seq: 1 })).json()).version, 1);
  assert.equal(runner.tableStats("one")!.version, 2);
  assert.equal(runner.tableStats("two")!.version, 1);
  assert.equal(runner.tableStats("three"), undefined);
  await runner.close();
});

Deno.test("runner: a producer's failed batch holds back its higher seqs in the same group", async () => {
  const held = gate();
  let heldPut = false;
  const storage = createMemoryStorage({
    faults: {
      async before(op, path) {
        if (op === "put" && path === commitPath(1)) {
          heldPut = true;
          await held.promise;
        }
      },
    },
  });
  await createTestTable(storage);
  let failOnce = true;
  const runner = testRunner(storage, {
    plugins: [writerPlugin(), {
      name: "fail-666-once",
      apiVersion: PLUGIN_API_VERSION,
      hooks: {
        writeFiles: {
          order: "pre",
          handler(batch) {
            if (failOnce && batch.getChild("id")?.toArray().includes(666n)) {
              failOnce = false;
              throw new Error("transient storage error");
            }
            return undefined; // pass to the writer
          },
        },
      },
    }],
  });
  const first = post(runner, { producer: "x", seq: 1 });
  await until(() => heldPut);
  // Producer p's seq 5 fails to write and seq 6 succeeds in the same group: committing 6 would
  // record txn p:6, and the retry of 5 would then be answered as a duplicate and never written.
  const five = post(runner, { producer: "p", seq: 5, rows: [{ id: 666, region: "eu", v: 1 }] });
  const six = post(runner, { producer: "p", seq: 6, rows: [{ id: 667, region: "eu", v: 1 }] });
  const other = post(runner, { producer: "q", seq: 1, rows: rows(1, 50) });
  await until(() => runner.tableStats("events")!.depth === 3);
  held.open();
  assert.equal((await (await first).json()).version, 1);
  assert.equal((await five).status, 500);
  const sixRes = await six;
  assert.equal(sixRes.status, 503);
  assert.equal((await sixRes.json()).error, "earlier_batch_failed");
  assert.equal((await other).status, 200, "other producers of the group still commit");
  assert.equal((await loadSnapshot(storage)).txns.get("p"), undefined);
  // The producer sends them again, in order: both are written.
  const again5 = await post(runner, {
    producer: "p",
    seq: 5,
    rows: [{ id: 666, region: "eu", v: 1 }],
  });
  assert.equal((await again5.json()).duplicate, undefined);
  const again6 = await post(runner, {
    producer: "p",
    seq: 6,
    rows: [{ id: 667, region: "eu", v: 1 }],
  });
  assert.equal(again6.status, 200);
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.txns.get("p")?.version, 6);
  const ids: bigint[] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const row of batch) ids.push(row[0] as bigint);
  }
  assert.ok(ids.includes(666n) && ids.includes(667n), `rows of both seqs are there: ${ids}`);
  assert.equal(ids.filter((id) => id === 666n).length, 1);
  await runner.close();
});

Deno.test("runner: a beforeCommit rejection is final (422); a hook timeout is retryable (503)", async () => {
  for (const [mode, status] of [["throw", 422], ["hang", 503]] as const) {
    const storage = await createTestTable();
    const runner = testRunner(storage, {
      plugins: [writerPlugin(), {
        name: "gatekeeper",
        apiVersion: PLUGIN_API_VERSION,
        hooks: {
          beforeCommit: {
            timeoutMs: 20,
            handler() {
              if (mode === "throw") throw new Error("batch refused by policy");
              return new Promise<void>(() => {}); // never settles: the hook times out
            },
          },
        },
      }],
    });
    const res = await post(runner, { producer: "p", seq: 1 });
    assert.equal(res.status, status, mode);
    assert.equal((await res.json()).error, "commit_rejected");
    assert.equal((await loadSnapshot(storage)).version, 0, "nothing committed");
    await runner.close();
  }
});

Deno.test("runner: a table given with its snapshot is not loaded again at start (a failing read cannot end it)", async () => {
  const storage = await createTestTable();
  const snapshot = await loadSnapshot(storage);
  // Found by the chaos run: the runner opened the table, then loaded it again in ready(); an
  // injected read fault there ended the process.
  const failingReads = {
    ...storage,
    location: storage.location,
    get: (path: string) =>
      path.startsWith("_delta_log/")
        ? Promise.reject(new Error(`injected read fault on ${path}`))
        : storage.get(path),
  };
  const runner = createRunner({
    tables: { events: { storage: failingReads, uri: "memory://events", snapshot } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
    limits: {},
  });
  await runner.ready();
  assert.deepEqual(await (await post(runner, { producer: "edge-s", seq: 1 })).json(), {
    version: 1,
    rows: 3,
  });
  await runner.close();
});
