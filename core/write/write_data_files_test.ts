import assert from "node:assert/strict";
import { parquetMetadata } from "hyparquet";
import { createArrowTable } from "../parquet/create_arrow_table.ts";
import type { StructType } from "../schema/types.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { createTable } from "./create_table.ts";
import { writeDataFiles } from "./write_data_files.ts";

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

Deno.test("writeDataFiles: splits past fileRowsMax, bounded concurrency keeps order", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema });
  let active = 0;
  let activeMax = 0;
  const counting: typeof storage = {
    ...storage,
    location: storage.location,
    put: async (p, b, o) => {
      active++;
      activeMax = Math.max(activeMax, active);
      await new Promise((r) => setTimeout(r, 0));
      active--;
      return await storage.put(p, b, o);
    },
  };
  const adds = await writeDataFiles(counting, v0, createArrowTable(schema, rows(25)), {
    fileRowsMax: 4,
    writeConcurrencyMax: 2,
  });
  assert.equal(adds.length, 7);
  assert.ok(activeMax <= 2, `at most 2 puts at once, saw ${activeMax}`);
  assert.deepEqual(adds.map((a) => JSON.parse(a.stats!).numRecords), [4, 4, 4, 4, 4, 4, 1]);
  assert.deepEqual(adds.map((a) => JSON.parse(a.stats!).minValues.id), [0, 4, 8, 12, 16, 20, 24]);
});

Deno.test("writeDataFiles: empty batch writes nothing; dry run puts nothing", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema });
  const before = storage.size;
  assert.deepEqual(await writeDataFiles(storage, v0, createArrowTable(schema, [])), []);
  const dry = await writeDataFiles(storage, v0, createArrowTable(schema, rows(3)), {
    dryRun: true,
  });
  assert.equal(dry.length, 1);
  assert.equal(storage.size, before);
});

Deno.test("writeDataFiles: flat zstd files come from the flat writer, others from parquet-wasm", async () => {
  const nested: StructType = {
    type: "struct",
    fields: [
      ...schema.fields,
      {
        name: "tags",
        type: { type: "array", elementType: "string", containsNull: true },
        nullable: true,
        metadata: {},
      },
    ],
  };
  const encodingsOf = async (s: StructType, compression: "zstd" | "snappy") => {
    const storage = createMemoryStorage();
    const v0 = await createTable(storage, { schema: s });
    const [add] = await writeDataFiles(storage, v0, createArrowTable(s, rows(10)), {
      compression,
    });
    const bytes = await storage.get(add!.path);
    const md = parquetMetadata(bytes.slice().buffer as ArrayBuffer);
    return md.row_groups[0]!.columns.map((c) => c.meta_data!.encodings.join(","));
  };
  // The flat writer never dictionary-encodes (ADR 0044); parquet-wasm does by default.
  assert.deepEqual(await encodingsOf(schema, "zstd"), ["PLAIN,RLE", "PLAIN,RLE", "PLAIN,RLE"]);
  assert.ok((await encodingsOf(schema, "snappy")).some((e) => e.includes("RLE_DICTIONARY")));
  assert.ok((await encodingsOf(nested, "zstd")).some((e) => e.includes("RLE_DICTIONARY")));
});
