/**
 * The runner intake refuses, with a 4xx and nothing written, every batch that would fail to write
 * (or be written and break readers): malformed Arrow buffers, dates and timestamps outside
 * 0001-01-01 .. 9999-12-31, partition directories no storage accepts. Each case is POSTed straight
 * to the runner, as a client holding the runner token (or a buggy edge) could.
 */
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createMemoryStorage, type MemoryStorage } from "../../core/storage/memory.ts";
import { createTable } from "../../core/write/create_table.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import { DEMO_EVENTS_SCHEMA } from "../demo_events.ts";
import { createRunner, type Runner } from "./runner.ts";
import { dataFiles, post, TOKEN } from "./test_util.ts";

/** The dev table: the demo schema partitioned by `date`. */
async function devTable(): Promise<{ storage: MemoryStorage; runner: Runner }> {
  const storage = createMemoryStorage();
  await createTable(storage, { schema: DEMO_EVENTS_SCHEMA, partitionColumns: ["date"] });
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events" } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  return { storage, runner };
}

const DAY = 20_000; // 2024-10-04

/** One batch of the dev schema from raw Arrow data (any buffers, as a client could send them). */
function body(columns: { ts?: arrow.Data; date?: arrow.Data; value_i?: arrow.Data }, n: number) {
  const ts = columns.ts ??
    arrow.makeData({
      type: new arrow.TimestampMicrosecond("UTC"),
      length: n,
      nullCount: 0,
      data: new BigInt64Array(n).fill(BigInt(DAY) * 86_400_000_000n),
    });
  const date = columns.date ??
    arrow.makeData({
      type: new arrow.DateDay(),
      length: n,
      nullCount: 0,
      data: new Int32Array(n).fill(DAY),
    });
  const vectors: Record<string, arrow.Vector> = {
    ts: arrow.makeVector(ts),
    device_id: arrow.vectorFromArray(Array.from({ length: n }, () => "d"), new arrow.Utf8()),
    date: arrow.makeVector(date),
  };
  if (columns.value_i !== undefined) vectors.value_i = arrow.makeVector(columns.value_i);
  return arrow.tableToIPC(new arrow.Table(vectors), "stream");
}

let seq = 1;

/** POSTs `bytes`: refused with `status`, nothing written; then a valid batch commits. */
async function assertRefused(
  storage: MemoryStorage,
  runner: Runner,
  bytes: Uint8Array,
  status: number,
  error: string,
  detail: RegExp,
): Promise<void> {
  const before = (await loadSnapshot(storage)).version;
  const files = dataFiles(storage);
  const res = await post(runner, { body: bytes, seq: seq++ });
  const answer = await res.json();
  assert.equal(res.status, status, JSON.stringify(answer));
  assert.equal(answer.error, error);
  assert.match(answer.detail, detail);
  assert.equal((await loadSnapshot(storage)).version, before, "the table version moved");
  assert.deepEqual(dataFiles(storage), files, "a data file was written");
  // The refusal is final for that batch only: the next valid batch is committed.
  const ok = await post(runner, { body: body({}, 2), seq: seq++ });
  assert.equal(ok.status, 200, await ok.text());
  assert.equal((await loadSnapshot(storage)).version, before + 1);
}

Deno.test("runner intake: an Int32 values buffer shorter than its rows is 400 malformed_body", async () => {
  const { storage, runner } = await devTable();
  const short = arrow.makeData({
    type: new arrow.Int32(),
    length: 4,
    nullCount: 0,
    data: new Int32Array(2),
  });
  await assertRefused(
    storage,
    runner,
    body({ value_i: short }, 4),
    400,
    "malformed_body",
    /value_i.*2 of 4 values/,
  );
  await runner.close();
});

Deno.test("runner intake: a date buffer shorter than its rows is 400, not read from padding", async () => {
  const { storage, runner } = await devTable();
  const date = arrow.makeData({
    type: new arrow.DateDay(),
    length: 4,
    nullCount: 0,
    data: Int32Array.of(DAY),
  });
  await assertRefused(storage, runner, body({ date }, 4), 400, "malformed_body", /date/);
  await runner.close();
});

Deno.test("runner intake: dates and timestamps outside 0001..9999 are 422", async () => {
  const { storage, runner } = await devTable();
  for (const days of [2_147_483_647, 3_000_000, -719_163]) {
    const date = arrow.makeData({
      type: new arrow.DateDay(),
      length: 1,
      nullCount: 0,
      data: Int32Array.of(days),
    });
    await assertRefused(storage, runner, body({ date }, 1), 422, "schema_mismatch", /date/);
  }
  for (const micros of [9_000_000_000_000_000_000n, -62_135_596_800_000_001n]) {
    const ts = arrow.makeData({
      type: new arrow.TimestampMicrosecond("UTC"),
      length: 1,
      nullCount: 0,
      data: BigInt64Array.of(micros),
    });
    await assertRefused(storage, runner, body({ ts }, 1), 422, "schema_mismatch", /"ts"/);
  }
  await runner.close();
});

Deno.test("runner intake: a 300-character string partition value is 422 (ENAMETOOLONG otherwise)", async () => {
  const storage = createMemoryStorage();
  const schema = {
    type: "struct" as const,
    fields: [
      { name: "id", type: "long" as const, nullable: false, metadata: {} },
      { name: "region", type: "string" as const, nullable: true, metadata: {} },
    ],
  };
  await createTable(storage, { schema, partitionColumns: ["region"] });
  const runner = createRunner({
    tables: { events: { storage, uri: "memory://events" } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  const batch = (region: string) =>
    arrow.tableToIPC(
      new arrow.Table({
        id: arrow.vectorFromArray([1n], new arrow.Int64()),
        region: arrow.vectorFromArray([region], new arrow.Utf8()),
      }),
      "stream",
    );
  const res = await post(runner, { body: batch("x".repeat(300)), seq: seq++ });
  const answer = await res.json();
  assert.equal(res.status, 422, JSON.stringify(answer));
  assert.equal(answer.error, "schema_mismatch", "refused at the intake, before the commit group");
  assert.match(answer.detail, /region.*255/);
  assert.equal((await loadSnapshot(storage)).version, 0);
  assert.deepEqual(dataFiles(storage), []);
  const ok = await post(runner, { body: batch("x".repeat(200)), seq: seq++ });
  assert.equal(ok.status, 200, await ok.text());
  await runner.close();
});
