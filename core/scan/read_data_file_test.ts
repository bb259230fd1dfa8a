import { deepEqual, rejects } from "node:assert/strict";
import * as arrow from "apache-arrow";
import { CorruptLogError } from "../errors.ts";
import { writeParquetFile } from "../parquet/write_parquet_file.ts";
import type { StructField } from "../schema/types.ts";
import { readDataFile } from "./read_data_file.ts";

function field(name: string, type: StructField["type"], metadata = {}): StructField {
  return { name, type, nullable: true, metadata };
}

function withId(name: string, type: arrow.DataType, id: number): arrow.Field {
  return new arrow.Field(name, type, true, new Map([["PARQUET:field_id", String(id)]]));
}

Deno.test("readDataFile: column mapping id matches Parquet field ids, not names", async () => {
  const schema = new arrow.Schema([
    withId("x", new arrow.Int32(), 2),
    withId("y", new arrow.Utf8(), 1),
  ]);
  const table = new arrow.Table(schema, {
    x: arrow.vectorFromArray([1, 2], new arrow.Int32()),
    y: arrow.vectorFromArray(["one", "two"], new arrow.Utf8()),
  });
  const bytes = writeParquetFile(table);
  const fields = [
    field("s", "string", { "delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "zz" }),
    field("n", "integer", {
      "delta.columnMapping.id": 2,
      "delta.columnMapping.physicalName": "zz",
    }),
    field("gone", "integer", {
      "delta.columnMapping.id": 3,
      "delta.columnMapping.physicalName": "x",
    }),
  ];
  deepEqual(await readDataFile(bytes, fields, { columnMappingMode: "id" }), [
    ["one", 1, null],
    ["two", 2, null],
  ]);
});

Deno.test("readDataFile: widening to decimal and timestamp_ntz, lists and structs", async () => {
  const table = arrow.tableFromArrays({ n: new Int32Array([-7, 12]) });
  const dates = new arrow.Table({
    d: arrow.vectorFromArray(
      [0, 19975].map((days) => new Date(days * 86400000)),
      new arrow.DateDay(),
    ),
    l: arrow.vectorFromArray(
      [[1, null], []],
      new arrow.List(new arrow.Field("item", new arrow.Int32(), true)),
    ),
    s: arrow.vectorFromArray(
      [{ a: 1 }, null],
      new arrow.Struct([new arrow.Field("a", new arrow.Int32(), true)]),
    ),
  });
  deepEqual(await readDataFile(writeParquetFile(table), [field("n", "decimal(6,2)")]), [
    [{ unscaled: -700n, scale: 2 }],
    [{ unscaled: 1200n, scale: 2 }],
  ]);
  const structType = {
    type: "struct" as const,
    fields: [field("a", "long"), field("b_added_later", "string")],
  };
  deepEqual(
    await readDataFile(writeParquetFile(dates), [
      field("d", "timestamp_ntz"),
      field("l", { type: "array", elementType: "long", containsNull: true }),
      field("s", structType),
    ]),
    [
      [0n, [1n, null], [1n, null]],
      [1725840000000000n, [], null],
    ],
  );
});

Deno.test("readDataFile: a physical type that cannot be the table type is refused", async () => {
  const bytes = writeParquetFile(arrow.tableFromArrays({ n: ["text"] }));
  await rejects(
    readDataFile(bytes, [field("n", "integer")], { path: "f.parquet" }),
    CorruptLogError,
  );
  await rejects(readDataFile(new Uint8Array([1, 2, 3]), [field("n", "integer")]), CorruptLogError);
});

Deno.test("readDataFile: every codec our writer produces", async () => {
  const values = Array.from({ length: 2000 }, (_, i) => `value-${i % 37}-${i}`);
  const table = arrow.tableFromArrays({ s: values, n: Int32Array.from(values, (_, i) => i * 3) });
  for (const compression of ["zstd", "snappy", "lz4_raw", "gzip", "uncompressed"] as const) {
    const rows = await readDataFile(writeParquetFile(table, { compression }), [
      field("s", "string"),
      field("n", "long"),
    ]);
    deepEqual(rows, values.map((v, i) => [v, BigInt(i * 3)]), compression);
  }
});
