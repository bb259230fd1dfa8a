import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import { InvalidArgumentError } from "../errors.ts";
import type { StructType } from "../schema/types.ts";
import { createArrowData, createArrowTable } from "./create_arrow_table.ts";
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
});

Deno.test("createArrowTable rejects values that do not fit, naming column and row", () => {
  const cases: [StructType["fields"][number], unknown, RegExp][] = [
    [
      f("n", "integer", false),
      null,
      /Cannot convert row 0: field "n": null in a non-nullable field/,
    ],
    [f("n", "integer"), 2 ** 31, /field "n": 2147483648 is out of range for integer/],
    [f("n", "byte"), 1.5, /expected byte, got 1\.5/],
    [f("n", "long"), 2 ** 60, /is not a safe integer/],
    [f("n", "long"), 2n ** 63n, /out of range for long/],
    [f("n", "string"), 5, /expected string, got 5/],
    [f("n", "binary"), "x", /expected binary \(a Uint8Array\)/],
    [f("n", "boolean"), 1, /expected boolean/],
    [f("n", "date"), "2024-02-30", /expected date "YYYY-MM-DD"/],
    [f("n", "timestamp"), "yesterday", /expected ISO-8601 timestamp/],
    [f("n", "timestamp"), 1.5, /expected timestamp \(ISO-8601 string, epoch microseconds/],
    [f("n", "decimal(5,2)"), "1.234", /more than 2 fractional digits/],
    [f("n", "decimal(5,2)"), "1000", /does not fit decimal\(5,2\): more than 3 integer digits/],
    [
      f("n", { type: "array", elementType: "long", containsNull: false }),
      [1, null],
      /field "n\[\]": null in a non-nullable field/,
    ],
    [f("n", { type: "struct", fields: [f("x", "long", false)] }), {}, /"n\.x": missing required/],
    [
      f("n", { type: "map", keyType: "string", valueType: "long", valueContainsNull: true }),
      3,
      /expected an object or an array of \[key, value\] pairs/,
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

Deno.test("createArrowTable refuses what it would otherwise store as another value", () => {
  const cases: [StructType["fields"][number]["type"], unknown][] = [
    ["string", "a\ud800b"], // a lone surrogate became U+FFFD
    ["float", 1e39], // beyond float32: became Infinity
    ["float", -1e39],
    ["timestamp", "2023-02-29T00:00:00Z"], // became 2023-03-01
    ["timestamp", "2024-01-01T24:00:00Z"], // became the next day
    ["timestamp_ntz", "2024-01-01T10:00:00+02:00"], // a wall clock shifted by the offset
  ];
  for (const [type, value] of cases) {
    const schema: StructType = { type: "struct", fields: [f("n", type)] };
    assert.throws(
      () => createArrowTable(schema, [{ n: value }]),
      InvalidArgumentError,
      `${JSON.stringify(type)} ${JSON.stringify(value)}`,
    );
  }
});

Deno.test("createArrowTable reads a field named like an Object.prototype member from the row only", () => {
  const schema: StructType = {
    type: "struct",
    fields: [f("constructor", "string"), f("toString", "long")],
  };
  const table = createArrowTable(schema, [{}, { constructor: "c", toString: 1 }]);
  assert.deepEqual(decodeTable(table, schema), [
    { constructor: null, toString: null },
    { constructor: "c", toString: 1n },
  ]);
});

Deno.test("createArrowTable refuses a decimal exponent it cannot hold as an invalid argument", () => {
  const schema: StructType = { type: "struct", fields: [f("n", "decimal(38,2)")] };
  // 10^999999999 exceeds the largest BigInt: a RangeError escaped, after seconds of arithmetic.
  assert.throws(() => createArrowTable(schema, [{ n: "1e999999999" }]), InvalidArgumentError);
});
