import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import * as arrow from "apache-arrow";
import { UnsupportedFeatureError } from "../errors.ts";
import type { Add } from "../log/actions.ts";
import { writeParquetFile } from "../parquet/write_parquet_file.ts";
import type { StructField, StructType } from "../schema/types.ts";
import type { ColumnMappingMode, Snapshot } from "../snapshot/snapshot.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { DELETION_VECTOR_MAGIC } from "./deletion_vector.ts";
import type { LogicalRow } from "./logical_row.ts";
import { dataFileStoragePath, scanSnapshot } from "./scan_snapshot.ts";

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

function encodeZ85(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let v = view.getUint32(i, false);
    let chunk = "";
    for (let j = 0; j < 5; j++) {
      chunk = Z85[v % 85] + chunk;
      v = Math.floor(v / 85);
    }
    out += chunk;
  }
  return out;
}

/** Inline DV bytes (portable RoaringTreemap) deleting the given rows (< 65536, ascending). */
function inlineDv(rows: number[]): { pathOrInlineDv: string; sizeInBytes: number } {
  const bytes = new Uint8Array(4 + 8 + 4 + 8 + 4 + 4 + rows.length * 2 + 2);
  const view = new DataView(bytes.buffer);
  let p = 0;
  view.setUint32(p, DELETION_VECTOR_MAGIC, true), p += 4;
  view.setBigUint64(p, 1n, true), p += 8; // one bucket
  view.setUint32(p, 0, true), p += 4; // bucket key 0
  view.setUint32(p, 12346, true), p += 4; // no run containers
  view.setUint32(p, 1, true), p += 4; // one container
  view.setUint16(p, 0, true), p += 2;
  view.setUint16(p, rows.length - 1, true), p += 2;
  view.setUint32(p, 0, true), p += 4; // offset header
  for (const r of rows) view.setUint16(p, r, true), p += 2;
  const size = p;
  return {
    pathOrInlineDv: encodeZ85(bytes.subarray(0, Math.ceil(size / 4) * 4)),
    sizeInBytes: size,
  };
}

function field(name: string, type: StructField["type"], metadata = {}): StructField {
  return { name, type, nullable: true, metadata };
}

function snapshotOf(
  schema: StructType,
  files: Add[],
  partitionColumns: string[] = [],
  mode: ColumnMappingMode = "none",
): Snapshot {
  return {
    version: 0,
    protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    metadata: {
      id: "t",
      format: { provider: "parquet" },
      schemaString: JSON.stringify(schema),
      partitionColumns,
      configuration: {},
    },
    schema,
    columnMappingMode: mode,
    files,
    tombstones: [],
    txns: new Map(),
    domainMetadata: new Map(),
    timestampMs: 0,
  };
}

function add(path: string, partitionValues: Record<string, string | null> = {}): Add {
  return { path, partitionValues, size: 1, modificationTime: 0, dataChange: true };
}

async function collect(gen: AsyncGenerator<LogicalRow[]>): Promise<LogicalRow[][]> {
  const batches: LogicalRow[][] = [];
  for await (const b of gen) batches.push(b);
  return batches;
}

async function setup() {
  const storage = createMemoryStorage();
  const table = arrow.tableFromArrays({
    id: new Int32Array([0, 1, 2, 3]),
    score: new Float32Array([0.5, 1.5, 2.5, 3.5]),
    name: ["a", "b", "c", "d"],
  });
  await storage.put("p=x/part-0.parquet", writeParquetFile(table));
  await storage.put(
    "p=y/part-1.parquet",
    writeParquetFile(
      arrow.tableFromArrays({
        id: new Int32Array([10]),
        score: new Float32Array([9]),
        name: ["z"],
      }),
    ),
  );
  return storage;
}

Deno.test("scanSnapshot: partition values, widening, missing columns, one batch per file", async () => {
  const storage = await setup();
  const schema: StructType = {
    type: "struct",
    fields: [
      field("p", "string"),
      field("id", "long"), // widened from the file's INT32
      field("score", "double"), // widened from FLOAT
      field("added_later", "string"), // not in the files: null
      field("name", "string"),
    ],
  };
  const snapshot = snapshotOf(schema, [
    add("p=x/part-0.parquet", { p: "x" }),
    add("p=y/part-1.parquet", { p: null }),
  ], ["p"]);
  deepEqual(await collect(scanSnapshot(storage, snapshot)), [
    [
      ["x", 0n, 0.5, null, "a"],
      ["x", 1n, 1.5, null, "b"],
      ["x", 2n, 2.5, null, "c"],
      ["x", 3n, 3.5, null, "d"],
    ],
    [[null, 10n, 9, null, "z"]],
  ]);
});

Deno.test("scanSnapshot: deletion vectors drop rows by index", async () => {
  const storage = await setup();
  const schema: StructType = { type: "struct", fields: [field("id", "integer")] };
  const dv = inlineDv([1, 3]);
  const file = {
    ...add("p=x/part-0.parquet"),
    deletionVector: { storageType: "i" as const, ...dv, cardinality: 2 },
  };
  deepEqual(await collect(scanSnapshot(storage, snapshotOf(schema, [file]))), [[[0], [2]]]);
});

Deno.test("scanSnapshot: limit and columns", async () => {
  const storage = await setup();
  const schema: StructType = {
    type: "struct",
    fields: [field("id", "integer"), field("name", "string")],
  };
  const snapshot = snapshotOf(schema, [add("p=x/part-0.parquet"), add("p=y/part-1.parquet")]);
  deepEqual(await collect(scanSnapshot(storage, snapshot, { limit: 3, columns: ["name"] })), [
    [["a"], ["b"], ["c"]],
  ]);
  deepEqual(await collect(scanSnapshot(storage, snapshot, { limit: 0 })), []);
  await rejects(
    collect(scanSnapshot(storage, snapshot, { columns: ["nope"] })),
    /not in the table schema/,
  );
});

Deno.test("scanSnapshot: column mapping name reads physical names", async () => {
  const storage = createMemoryStorage();
  await storage.put(
    "f.parquet",
    writeParquetFile(arrow.tableFromArrays({ "col-1": new Int32Array([7]), "col-2": ["s"] })),
  );
  const schema: StructType = {
    type: "struct",
    fields: [
      field("b", "string", {
        "delta.columnMapping.physicalName": "col-2",
        "delta.columnMapping.id": 2,
      }),
      field("a", "integer", {
        "delta.columnMapping.physicalName": "col-1",
        "delta.columnMapping.id": 1,
      }),
    ],
  };
  const rows = await collect(
    scanSnapshot(storage, snapshotOf(schema, [add("f.parquet")], [], "name")),
  );
  deepEqual(rows, [[["s", 7]]]);
  equal(rows.length, 1);
});

Deno.test("dataFileStoragePath: relative paths as is, absolute ones under the root", () => {
  equal(dataFileStoragePath("a=1/f.parquet", "file:///t"), "a=1/f.parquet");
  equal(dataFileStoragePath("file:///t/a=1/f.parquet", "file:///t"), "a=1/f.parquet");
  throws(() => dataFileStoragePath("s3://other/f.parquet", "file:///t"), UnsupportedFeatureError);
});
