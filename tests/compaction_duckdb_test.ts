/**
 * DuckDB, an independent reader, reads the active files of a compacted table (`read_parquet`) and
 * finds the same rows as before compaction, with exact decimals, microsecond timestamps, lists and
 * structs; the partition column is not in the data files.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { compactTable } from "../plugins/compaction/mod.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "ts", type: "timestamp", nullable: true, metadata: {} },
    { name: "amount", type: "decimal(18,4)", nullable: true, metadata: {} },
    {
      name: "tags",
      type: { type: "array", elementType: "string", containsNull: true },
      nullable: true,
      metadata: {},
    },
    {
      name: "point",
      type: {
        type: "struct",
        fields: [
          { name: "x", type: "double", nullable: true, metadata: {} },
          { name: "label", type: "string", nullable: true, metadata: {} },
        ],
      },
      nullable: true,
      metadata: {},
    },
    { name: "day", type: "date", nullable: true, metadata: {} },
  ],
};

const QUERY = (files: string[]) =>
  `SELECT id::VARCHAR AS id, epoch_us(ts)::VARCHAR AS ts, amount::VARCHAR AS amount,
          to_json(tags)::VARCHAR AS tags, to_json(point)::VARCHAR AS point
   FROM read_parquet([${files.map((f) => `'${f}'`).join(", ")}], union_by_name = true)
   ORDER BY id`;

Deno.test("compaction: DuckDB reads the compacted files with the same rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-compact-duckdb-" });
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createTable(storage, { schema, partitionColumns: ["day"] });
    for (let i = 0; i < 12; i++) {
      const rows = [0, 1, 2].map((k) => {
        const id = i * 3 + k;
        return {
          id: BigInt(id) * 1_000_000_007n,
          ts: id % 5 === 0 ? null : BigInt(1_700_000_000_123_456 + id),
          amount: id % 4 === 0 ? null : `${id}.${String(id).padStart(4, "0").slice(-4)}`,
          tags: id % 3 === 0 ? null : [`t${id}`, null],
          point: id % 7 === 0 ? null : { x: id / 3, label: id % 2 ? null : `p${id}` },
          day: id % 2 === 0 ? "2024-01-01" : "2024-01-02",
        };
      });
      const r = await appendBatch(storage, snapshot, createArrowTable(schema, rows));
      ok(r.ok);
      snapshot = r.snapshot;
    }
    const paths = (s: typeof snapshot) => s.files.map((f) => `${dir}/${f.path}`);
    const before = (await conn.runAndReadAll(QUERY(paths(snapshot)))).getRowObjectsJson();
    equal(before.length, 36);
    const result = await compactTable(storage, snapshot, {});
    const after = await loadSnapshot(storage, {});
    equal(after.files.length, 2);
    equal(result.metrics.numFilesRemoved, 24);
    const read = (await conn.runAndReadAll(QUERY(paths(after)))).getRowObjectsJson();
    deepEqual(read, before);
    for (const f of after.files) {
      const cols = (await conn.runAndReadAll(
        `SELECT name FROM parquet_schema('${dir}/${f.path}') WHERE name <> 'duckdb_schema'`,
      )).getRowObjectsJson().map((r) => String(r.name));
      ok(!cols.includes("day"), `partition column in ${f.path}: ${cols}`);
      const codec = (await conn.runAndReadAll(
        `SELECT DISTINCT compression FROM parquet_metadata('${dir}/${f.path}')`,
      )).getRowObjectsJson().map((r) => String(r.compression));
      deepEqual(codec, ["ZSTD"]);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
    await Deno.remove(dir, { recursive: true });
  }
});
