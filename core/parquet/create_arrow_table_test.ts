import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import { InvalidArgumentError } from "../errors.ts";
import type { StructType } from "../schema/types.ts";
import { createArrowData, createArrowTable, parseTimestampMicros } from "./create_arrow_table.ts";
import { decodeTable } from "./test_util.ts";
import { writeParquetFile } from "./write_parquet_file.ts";

const f = (name: string, type: StructType["fields"][number]["type"], nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

Deno.test("createArrowTable keeps nulls as nulls in every column kind", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      f("i", "integer"),
      f("l", "long"),
      f("d", "double"),
      f("s", "string"),
      f("b", "boolean"),
    ],
  };
  const table = createArrowTable(schema, [{ i: 0, l: 0, d: 0, s: "", b: false }, {}]);
  for (const name of ["i", "l", "d", "s", "b"]) {
    const col = table.getChild(name)!;
    assert.equal(col.nullCount, 1, name);
    assert.equal(col.get(1), null, name);
    assert.notEqual(col.get(0), null, name);
  }
});

Deno.test("createArrowTable converts every accepted input form", () => {
  const schema: StructType = {
    type: "struct",
    fields: [f("ts", "timestamp"), f("dt", "date"), f("dec", "decimal(10,3)"), f("l", "long")],
  };
  const rows = [
    { ts: new Date("2024-01-02T03:04:05.123Z"), dt: "2024-01-02", dec: "1.5", l: 5 },
    {
      ts: "2024-01-02T04:04:05.123456+01:00",
      dt: new Date("2024-01-02T23:00:00Z"),
      dec: 1500n,
      l: -(2n ** 63n),
    },
    { ts: 1704164645123456, dt: 19724, dec: -0.001, l: 2n ** 63n - 1n },
    { ts: "2024-01-02 03:04:05", dt: "1900-03-01", dec: "1.2e2", l: 0 },
  ];
  assert.deepEqual(decodeTable(createArrowTable(schema, rows), schema), [
    { ts: 1704164645123000n, dt: 19724, dec: 1500n, l: 5n },
    { ts: 1704164645123456n, dt: 19724, dec: 1500n, l: -(2n ** 63n) },
    { ts: 1704164645123456n, dt: 19724, dec: -1n, l: 2n ** 63n - 1n },
    { ts: 1704164645000000n, dt: -25508, dec: 120000n, l: 0n },
  ]);
  assert.equal(parseTimestampMicros("not a time"), undefined);
  assert.equal(parseTimestampMicros("1969-12-31T23:59:59.999999Z"), -1n);
});

Deno.test("createArrowTable rejects values that do not fit, naming column and row", () => {
  const cases: [StructType["fields"][number], unknown, RegExp][] = [
    [
      f("n", "integer", false),
      null,
      /Cannot build column n: row 0 is null but the field is not nullable/,
    ],
    [f("n", "integer"), 2 ** 31, /column n: row 0 is not an integer/],
    [f("n", "byte"), 1.5, /row 0 is not an integer in \[-128, 127\]/],
    [f("n", "long"), 2 ** 60, /64-bit integer/],
    [f("n", "long"), 2n ** 63n, /64-bit integer/],
    [f("n", "string"), 5, /is not a string/],
    [f("n", "binary"), "x", /is not a Uint8Array/],
    [f("n", "boolean"), 1, /is not a boolean/],
    [f("n", "date"), "2024-02-30", /is not a date/],
    [f("n", "timestamp"), "yesterday", /is not a timestamp/],
    [f("n", "decimal(5,2)"), "1.234", /at most 2 fraction digits/],
    [f("n", "decimal(5,2)"), "1000", /within decimal\(5,2\)/],
    [
      f("n", { type: "array", elementType: "long", containsNull: false }),
      [1, null],
      /n\.element: row 1 is null/,
    ],
    [f("n", { type: "struct", fields: [f("x", "long", false)] }), {}, /n\.x: row 0 is null/],
    [
      f("n", { type: "map", keyType: "string", valueType: "long", valueContainsNull: true }),
      3,
      /is not a Map/,
    ],
  ];
  for (const [field, value, message] of cases) {
    const schema: StructType = { type: "struct", fields: [field] };
    assert.throws(
      () => createArrowTable(schema, [{ n: value }]),
      (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message),
      `${JSON.stringify(field.type)} ${String(value)}`,
    );
  }
});

Deno.test("a null struct may hide non-nullable children; DuckDB-visible nulls stay consistent", () => {
  const schema: StructType = {
    type: "struct",
    fields: [f("s", { type: "struct", fields: [f("x", "long", false)] })],
  };
  const table = createArrowTable(schema, [{ s: { x: 1n } }, { s: null }]);
  assert.deepEqual(decodeTable(table, schema), [{ s: { x: 1n } }, { s: null }]);
  const child = table.getChild("s")!.data[0]!.children[0]!;
  assert.equal(child.nullCount, 1);
});

Deno.test("physical names and field ids reach the Parquet footer", () => {
  const schema: StructType = {
    type: "struct",
    fields: [{
      name: "a b",
      type: "long",
      nullable: true,
      metadata: { "delta.columnMapping.id": 7, "delta.columnMapping.physicalName": "col-x" },
    }],
  };
  const table = createArrowTable(schema, [{ "a b": 1 }], { physicalNames: true });
  const md = parquetMetadata(writeParquetFile(table).buffer as ArrayBuffer);
  const el = md.schema.find((s) => s.name === "col-x");
  assert.ok(el !== undefined);
  assert.equal(el.field_id, 7);
});

Deno.test("createArrowData builds a single column", () => {
  const data = createArrowData("string", ["x", null, "ü"]);
  const v = arrow.makeVector(data);
  assert.deepEqual([...v], ["x", null, "ü"]);
  assert.throws(() => createArrowData("string", [null], { nullable: false }), InvalidArgumentError);
});
