import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import { createManualClock } from "../../core/clock.ts";
import { isLakestrikeError } from "../../core/errors.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { readParquetFile } from "../../core/parquet/write_parquet_file.ts";
import type { StructType } from "../../core/schema/types.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { commitActions, createTable, writeDataFiles } from "../../core/write/mod.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createMemoryLogger } from "../logger.ts";
import { createPluginRegistry } from "../registry.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { WriteContext } from "../types.ts";
import { WRITER_PLUGIN_NAME, writerPlugin } from "./writer_plugin.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
    { name: "v", type: "double", nullable: true, metadata: {} },
  ],
};

function rows(n: number) {
  const regions = ["eu", "us", null];
  return Array.from({ length: n }, (_, i) => ({ id: i, region: regions[i % 3], v: i / 2 }));
}

function ctxFor(storage: WriteContext["storage"], snapshot: Snapshot): WriteContext {
  return {
    table: { name: "events", uri: "memory://events" },
    snapshot,
    storage,
    clock: createManualClock(5_000),
    signal: new AbortController().signal,
    limits: { groupRowsMax: 1_000, groupBytesMax: 1 << 20, writeBatchesConcurrencyMax: 2 },
    logger: createMemoryLogger(),
    operation: "write",
    dryRun: false,
  };
}

Deno.test("writerPlugin: one zstd file per partition under Hive directories, with stats", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema, partitionColumns: ["region"] });
  const registry = createPluginRegistry([writerPlugin()]).freeze();
  assert.deepEqual(registry.hookOrder("writeFiles"), [WRITER_PLUGIN_NAME]);
  const adds = await registry.runWriteFiles(
    createArrowTable(schema, rows(30)),
    ctxFor(storage, v0),
  );
  assert.ok(adds);
  assert.equal(adds.length, 3);
  const dirs = adds.map((a) => a.path.split("/")[0]).sort();
  assert.deepEqual(dirs, ["region=__HIVE_DEFAULT_PARTITION__", "region=eu", "region=us"]);
  for (const add of adds) {
    assert.equal(add.dataChange, true);
    assert.equal(add.modificationTime, 5_000);
    assert.match(add.path, /\.zstd\.parquet$/);
    const stats = JSON.parse(add.stats!);
    assert.equal(stats.numRecords, 10);
    assert.ok("id" in stats.minValues && !("region" in stats.minValues));
    const bytes = await storage.get(add.path);
    assert.equal(bytes.length, add.size);
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset) as ArrayBuffer);
    assert.equal(meta.row_groups[0]!.columns[0]!.meta_data!.codec, "ZSTD");
    const back = readParquetFile(bytes);
    assert.deepEqual(back.schema.fields.map((f) => f.name), ["id", "v"]);
  }
  assert.deepEqual(
    adds.find((a) => a.path.startsWith("region=__HIVE"))!.partitionValues,
    { region: null },
  );
  // The adds commit and load back as the table's files.
  const r = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: adds.map((add) => ({ add })),
  });
  assert.ok(r.ok);
  assert.equal((await loadSnapshot(storage)).files.length, 3);
});

Deno.test("writerPlugin: schema mismatch names the column; no snapshot is an error", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema });
  const bad = new arrow.Table({
    id: arrow.vectorFromArray([1n], new arrow.Int64()),
    bogus: arrow.vectorFromArray(["x"], new arrow.Utf8()),
  });
  await assert.rejects(
    writeDataFiles(storage, v0, bad),
    (e) => isLakestrikeError(e, "SCHEMA_MISMATCH") && /"bogus"/.test(e.message),
  );
  const registry = createPluginRegistry([writerPlugin()]).freeze();
  await assert.rejects(
    // A context from untyped code that carries no snapshot.
    registry.runWriteFiles(
      createArrowTable(schema, rows(1)),
      ctxFor(storage, undefined as unknown as Snapshot),
    ),
    /no snapshot/,
  );
});
