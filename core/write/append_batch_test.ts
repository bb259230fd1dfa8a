import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { isLakestrikeError } from "../errors.ts";
import { serializeActions } from "../log/actions.ts";
import { commitPath } from "../log/paths.ts";
import { createArrowTable } from "../parquet/create_arrow_table.ts";
import { readParquetFile } from "../parquet/write_parquet_file.ts";
import type { StructType } from "../schema/types.ts";
import { loadSnapshot } from "../snapshot/load_snapshot.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { appendBatch } from "./append_batch.ts";
import { createTable } from "./create_table.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "ts", type: "timestamp", nullable: true, metadata: {} },
    { name: "device_id", type: "string", nullable: false, metadata: {} },
    { name: "value_i", type: "integer", nullable: true, metadata: {} },
    { name: "value_d", type: "double", nullable: true, metadata: {} },
    { name: "date", type: "date", nullable: true, metadata: {} },
  ],
};

function rows(n: number, dates: (string | null)[]) {
  return Array.from({ length: n }, (_, i) => ({
    ts: BigInt(1_704_067_200_000_000 + i * 1_000_000),
    device_id: `dev-${i % 3}`,
    value_i: i,
    value_d: i / 2,
    date: dates[i % dates.length] ?? null,
  }));
}

Deno.test("appendBatch: one Parquet file per partition under Hive directories, stats, loads back", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema, partitionColumns: ["date"] });
  const batch = createArrowTable(schema, rows(30, ["2024-01-01", "2024-01-02", null]));
  const r = await appendBatch(storage, v0, batch);
  assert.ok(r.ok);
  assert.equal(r.version, 1);
  assert.equal(r.adds.length, 3);
  const byDate = new Map(r.adds.map((a) => [a.partitionValues.date, a]));
  assert.deepEqual([...byDate.keys()].sort(), ["2024-01-01", "2024-01-02", null].sort());
  for (const [date, add] of byDate) {
    const dir = date === null ? "date=__HIVE_DEFAULT_PARTITION__/" : `date=${date}/`;
    assert.match(
      add.path,
      new RegExp(`^${dir}part-\\d{5}-[0-9a-f-]{36}\\.c000\\.zstd\\.parquet$`),
    );
    assert.equal(add.dataChange, true);
    const bytes = await storage.get(add.path);
    assert.equal(add.size, bytes.length);
    const data = readParquetFile(bytes);
    assert.deepEqual(data.schema.fields.map((f) => f.name), [
      "ts",
      "device_id",
      "value_i",
      "value_d",
    ]);
    assert.equal(data.numRows, 10);
    const stats = JSON.parse(add.stats!);
    assert.equal(stats.numRecords, 10);
    assert.equal(stats.nullCount.value_i, 0);
    assert.ok(!("date" in stats.minValues), "partition columns carry no stats");
    const values = [...data.getChild("value_i")!.toArray()] as number[];
    for (const v of values) {
      const expected = ["2024-01-01", "2024-01-02", null][v % 3] ?? null;
      assert.equal(expected, date);
    }
  }
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.version, 1);
  assert.deepEqual(
    loaded.files.map((f) => f.path).sort(),
    r.snapshot.files.map((f) => f.path).sort(),
  );
});

Deno.test("appendBatch: partition values with special characters are escaped in the path", async () => {
  const s: StructType = {
    type: "struct",
    fields: [
      { name: "k", type: "string", nullable: true, metadata: {} },
      { name: "n", type: "long", nullable: true, metadata: {} },
    ],
  };
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema: s, partitionColumns: ["k"] });
  const r = await appendBatch(storage, v0, createArrowTable(s, [{ k: "a/b:c d%", n: 1 }]));
  assert.ok(r.ok);
  const add = r.adds[0]!;
  assert.deepEqual(add.partitionValues, { k: "a/b:c d%" });
  assert.ok(add.path.startsWith("k=a%2Fb%3Ac d%25/"), add.path);
  assert.ok(await storage.head(add.path));
  const log = new TextDecoder().decode(await storage.get(commitPath(1)));
  assert.ok(log.includes('"path":"k=a%252Fb%253Ac%20d%2525/part-'), log);
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.files[0]!.path, add.path);
});

Deno.test("appendBatch: schema mismatches are refused before anything is written", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema, partitionColumns: ["date"] });
  const before = storage.size;
  const good = createArrowTable(schema, rows(2, ["2024-01-01"]));
  const withExtra = new arrow.Table({
    ...Object.fromEntries(schema.fields.map((f) => [f.name, good.getChild(f.name)!])),
    extra: arrow.vectorFromArray([1, 2], new arrow.Int32()),
  });
  await assert.rejects(appendBatch(storage, v0, withExtra), (e) => {
    assert.ok(isLakestrikeError(e, "SCHEMA_MISMATCH"));
    assert.match((e as Error).message, /column "extra" is not in the table schema/);
    return true;
  });
  const wrongType = new arrow.Table({
    device_id: good.getChild("device_id")!,
    value_i: arrow.vectorFromArray([1.5, 2.5], new arrow.Float64()),
  });
  await assert.rejects(
    appendBatch(storage, v0, wrongType),
    /column "value_i" has type double, the table declares integer/,
  );
  const msTimestamps = new arrow.Table({
    device_id: good.getChild("device_id")!,
    ts: arrow.vectorFromArray([1, 2], new arrow.TimestampMillisecond("UTC")),
  });
  await assert.rejects(
    appendBatch(storage, v0, msTimestamps),
    /column "ts" has type Arrow Timestamp<MILLISECOND, UTC>, the table declares timestamp/,
  );
  const missing = new arrow.Table({ value_i: good.getChild("value_i")! });
  await assert.rejects(
    appendBatch(storage, v0, missing),
    /non-nullable column "device_id" is missing/,
  );
  const nulls = new arrow.Table({
    device_id: arrow.vectorFromArray(["a", null], new arrow.Utf8()),
  });
  await assert.rejects(
    appendBatch(storage, v0, nulls),
    /non-nullable column "device_id" holds 1 null value/,
  );
  assert.equal(storage.size, before);
  // Missing nullable columns are filled with nulls.
  const partial = new arrow.Table({ device_id: good.getChild("device_id")! });
  const r = await appendBatch(storage, v0, partial);
  assert.ok(r.ok);
  const data = readParquetFile(await storage.get(r.adds[0]!.path));
  assert.equal(data.getChild("value_d")!.get(0), null);
  assert.deepEqual(r.adds[0]!.partitionValues, { date: null });
});

Deno.test("appendBatch: refuses tables with writer features it does not support", async () => {
  const storage = createMemoryStorage();
  await storage.put(
    commitPath(0),
    new TextEncoder().encode(serializeActions([
      {
        protocol: {
          minReaderVersion: 3,
          minWriterVersion: 7,
          readerFeatures: [],
          writerFeatures: ["rowTracking"],
        },
      },
      {
        metaData: {
          id: "x",
          format: { provider: "parquet" },
          schemaString: JSON.stringify(schema),
          partitionColumns: [],
          configuration: {},
        },
      },
    ])),
  );
  const snapshot = await loadSnapshot(storage);
  await assert.rejects(
    appendBatch(storage, snapshot, createArrowTable(schema, rows(1, [null]))),
    (e) => isLakestrikeError(e, "UNSUPPORTED_FEATURE") && /rowTracking/.test((e as Error).message),
  );
  assert.equal(storage.size, 1);
});

Deno.test("appendBatch: a committed txn is a duplicate and writes no data file", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema });
  const batch = createArrowTable(schema, rows(3, [null]));
  const r1 = await appendBatch(storage, v0, batch, { txn: { appId: "edge-a", version: 1 } });
  assert.ok(r1.ok && !r1.duplicate);
  const size = storage.size;
  const r2 = await appendBatch(storage, r1.snapshot, batch, {
    txn: { appId: "edge-a", version: 1 },
  });
  assert.ok(r2.ok && r2.duplicate === true && r2.version === 1 && r2.adds.length === 0);
  assert.equal(storage.size, size);
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.txns.get("edge-a")?.version, 1);
  assert.equal(loaded.files.length, 1);
});

Deno.test("appendBatch: honors delta.dataSkippingNumIndexedCols", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, {
    schema,
    partitionColumns: ["date"],
    configuration: { "delta.dataSkippingNumIndexedCols": "2" },
  });
  const r = await appendBatch(storage, v0, createArrowTable(schema, rows(4, ["2024-05-05"])));
  assert.ok(r.ok);
  const stats = JSON.parse(r.adds[0]!.stats!);
  assert.deepEqual(Object.keys(stats.nullCount).sort(), ["device_id", "ts"]);
  assert.equal(stats.minValues.device_id, "dev-0");
});

Deno.test("appendBatch: an empty batch commits nothing", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema });
  const r = await appendBatch(storage, v0, createArrowTable(schema, []));
  assert.ok(r.ok && r.version === 0 && r.adds.length === 0);
  assert.equal(await storage.head(commitPath(1)), undefined);
});
