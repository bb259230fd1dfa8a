import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { InvalidArgumentError } from "../errors.ts";
import { fieldId, physicalName } from "./column_mapping.ts";
import {
  arrowSchemaToDelta,
  deltaSchemaToArrow,
  deltaTypeToArrow,
  PARQUET_FIELD_ID_KEY,
} from "./delta_schema_to_arrow.ts";
import { PRIMITIVES, structArb } from "./schema_arbitrary_test_util.ts";
import type { StructType } from "./types.ts";

Deno.test("deltaTypeToArrow maps every primitive type", () => {
  const expected: Record<string, string> = {
    string: "Utf8",
    long: "Int64",
    integer: "Int32",
    short: "Int16",
    byte: "Int8",
    float: "Float32",
    double: "Float64",
    boolean: "Bool",
    binary: "Binary",
    date: "Date32<DAY>",
    timestamp: "Timestamp<MICROSECOND, UTC>",
    timestamp_ntz: "Timestamp<MICROSECOND>",
    "decimal(10,2)": "Decimal[10e+2]",
    "decimal(38,18)": "Decimal[38e+18]",
    "decimal(5,0)": "Decimal[5e0]",
  };
  for (const p of PRIMITIVES) assert.equal(String(deltaTypeToArrow(p)), expected[p], p);
  const dec = deltaTypeToArrow("decimal(12,3)") as arrow.Decimal;
  assert.equal(dec.precision, 12);
  assert.equal(dec.scale, 3);
  assert.equal(dec.bitWidth, 128);
  const ts = deltaTypeToArrow("timestamp") as arrow.Timestamp;
  assert.equal(ts.unit, arrow.TimeUnit.MICROSECOND);
  assert.equal(ts.timezone, "UTC");
  assert.ok(!(deltaTypeToArrow("timestamp_ntz") as arrow.Timestamp).timezone);
});

Deno.test("deltaTypeToArrow maps nested types with the Parquet-friendly child names", () => {
  const list = deltaTypeToArrow({ type: "array", elementType: "long", containsNull: false });
  assert.ok(list instanceof arrow.List);
  assert.equal(list.children[0]!.name, "element");
  assert.equal(list.children[0]!.nullable, false);
  const map = deltaTypeToArrow({
    type: "map",
    keyType: "string",
    valueType: "double",
    valueContainsNull: true,
  });
  assert.ok(map instanceof arrow.Map_);
  assert.equal(map.keysSorted, false);
  const entries = map.children[0]!.type as arrow.Struct;
  assert.deepEqual(entries.children.map((f) => [f.name, f.nullable]), [["key", false], [
    "value",
    true,
  ]]);
});

Deno.test("arrowSchemaToDelta inverts deltaSchemaToArrow on random nested schemas", () => {
  fc.assert(
    fc.property(structArb(3), (s) => {
      assert.deepEqual(arrowSchemaToDelta(deltaSchemaToArrow(s)), s);
    }),
    { numRuns: 300 },
  );
});

Deno.test("arrowSchemaToDelta reads foreign Arrow types and refuses unsigned ones", () => {
  const s = arrowSchemaToDelta(
    new arrow.Schema([
      new arrow.Field("a", new arrow.LargeUtf8(), true),
      new arrow.Field("b", new arrow.TimestampMillisecond("Europe/Paris"), false),
      new arrow.Field("c", new arrow.DateMillisecond(), true),
      new arrow.Field("d", new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()), true),
    ]),
  );
  assert.deepEqual(s.fields.map((f) => [f.type, f.nullable]), [
    ["string", true],
    ["timestamp", false],
    ["date", true],
    ["string", true],
  ]);
  assert.throws(
    () => arrowSchemaToDelta(new arrow.Schema([new arrow.Field("u", new arrow.Uint32())])),
    InvalidArgumentError,
  );
});

Deno.test("physical names and field ids under column mapping", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      {
        name: "Customer Name",
        type: {
          type: "struct",
          fields: [{
            name: "first",
            type: "string",
            nullable: true,
            metadata: { "delta.columnMapping.id": 2, "delta.columnMapping.physicalName": "col-b" },
          }],
        },
        nullable: true,
        metadata: { "delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-a" },
      },
      { name: "plain", type: "long", nullable: true, metadata: {} },
    ],
  };
  assert.equal(physicalName(schema.fields[0]!), "col-a");
  assert.equal(physicalName(schema.fields[1]!), "plain");
  assert.equal(fieldId(schema.fields[0]!), 1);
  assert.equal(fieldId(schema.fields[1]!), undefined);
  const logical = deltaSchemaToArrow(schema);
  assert.deepEqual(logical.fields.map((f) => f.name), ["Customer Name", "plain"]);
  const physical = deltaSchemaToArrow(schema, { physicalNames: true });
  assert.deepEqual(physical.fields.map((f) => f.name), ["col-a", "plain"]);
  assert.equal(physical.fields[0]!.metadata.get(PARQUET_FIELD_ID_KEY), "1");
  const inner = physical.fields[0]!.type as arrow.Struct;
  assert.equal(inner.children[0]!.name, "col-b");
  assert.equal(inner.children[0]!.metadata.get(PARQUET_FIELD_ID_KEY), "2");
});
