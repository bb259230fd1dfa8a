import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { deltaTypeToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { DataType } from "../schema/types.ts";
import { type ColumnBuilderOptions, createColumnBuilder, ValueError } from "./column_builder.ts";

function build(type: DataType, values: unknown[], options: ColumnBuilderOptions = {}) {
  const b = createColumnBuilder(type, deltaTypeToArrow(type), { capacity: 1, ...options });
  values.forEach((v, i) => b.append(v, i));
  return arrow.makeVector(b.finish());
}

function refusal(type: DataType, values: unknown[], options: ColumnBuilderOptions = {}) {
  try {
    build(type, values, options);
  } catch (e) {
    assert.ok(e instanceof ValueError, String(e));
    return e;
  }
  return undefined;
}

const field = (name: string, type: DataType, nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

Deno.test("property: 64-bit values keep every bit, numbers and bigints alike", () => {
  fc.assert(fc.property(
    fc.array(fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: null })),
    fc.boolean(),
    (values, asNumbers) => {
      const given = values.map((v) =>
        asNumbers && v !== null && v >= -(2n ** 53n) + 1n && v < 2n ** 53n ? Number(v) : v
      );
      assert.deepEqual([...build("long", given)], values);
    },
  ));
});

Deno.test("a null struct hides its non-nullable children; a present one does not", () => {
  const type: DataType = { type: "struct", fields: [field("x", "long", false)] };
  const v = build(type, [{ x: 1 }, null]);
  assert.equal(v.get(1), null);
  assert.equal(v.data[0]!.children[0]!.nullCount, 1);
  const e = refusal(type, [{ x: 1 }, {}]);
  assert.equal(e?.row, 1);
  assert.equal(e?.field, "x");
  assert.equal(e?.reason, "missing required field");
  assert.equal(refusal(type, [{ x: null }])?.reason, "null in a non-nullable field");
});

Deno.test("fields named like Object.prototype members are read from the value only", () => {
  const type: DataType = {
    type: "struct",
    fields: [field("constructor", "string"), field("hasOwnProperty", "long")],
  };
  const v = build(type, [{}, { constructor: "c", hasOwnProperty: 1 }]);
  assert.deepEqual([...v].map((r) => r?.toJSON()), [
    { constructor: null, hasOwnProperty: null },
    { constructor: "c", hasOwnProperty: 1n },
  ]);
});

Deno.test("unknown struct properties: dropped by default, refused by name on request", () => {
  const type: DataType = {
    type: "struct",
    fields: [field("user", { type: "struct", fields: [field("id", "integer")] })],
  };
  const value = { user: { id: 1, extra: true } };
  assert.equal(build(type, [value]).length, 1);
  const e = refusal(type, [value], { unknownFields: "reject" });
  assert.equal(e?.field, "user.extra");
  assert.equal(e?.reason, "unknown field");
});

Deno.test("paths name list elements, map keys and map values", () => {
  const list: DataType = { type: "array", elementType: "integer", containsNull: false };
  assert.equal(refusal(list, [[1, null]], { path: "tags" })?.field, "tags[]");
  const map: DataType = {
    type: "map",
    keyType: "string",
    valueType: "integer",
    valueContainsNull: true,
  };
  assert.equal(refusal(map, [[[null, 1]]], { path: "attrs" })?.field, "attrs.key");
  assert.equal(refusal(map, [{ a: "x" }], { path: "attrs" })?.field, "attrs.value");
  assert.match(refusal(map, [[["a"]]])?.reason ?? "", /\[key, value\] pairs/);
  assert.match(refusal(map, [Uint8Array.of(1)])?.reason ?? "", /expected an object/);
});

Deno.test("a map is a Map, an array of pairs or an object; all three build the same column", () => {
  const type: DataType = {
    type: "map",
    keyType: "string",
    valueType: "long",
    valueContainsNull: true,
  };
  const entries = (v: arrow.Vector) => [...v].map((m) => (m === null ? null : [...m]));
  const expected = [[["a", 1n], ["b", null]], null, []];
  assert.deepEqual(
    entries(build(type, [new Map([["a", 1], ["b", null]]), null, new Map()])),
    expected,
  );
  assert.deepEqual(entries(build(type, [[["a", 1], ["b", null]], null, []])), expected);
  assert.deepEqual(entries(build(type, [{ a: 1, b: null }, null, {}])), expected);
});

Deno.test("finish keeps no spare capacity", () => {
  const v = build("string", ["a".repeat(100_000), null, "b"]);
  const d = v.data[0]!;
  assert.equal(d.values.buffer.byteLength, 100_001);
  assert.equal(d.valueOffsets.buffer.byteLength, 4 * 4);
  assert.equal(d.nullBitmap!.buffer.byteLength, 1);
  assert.equal(
    build("integer", [1, 2, 3], { capacity: 1000 }).data[0]!.values.buffer.byteLength,
    12,
  );
});

Deno.test("a value refused leaves a message that names the row and the field", () => {
  const e = refusal("integer", [1, "x"], { path: "n" });
  assert.equal(e?.message, 'Cannot convert row 1: field "n": expected integer, got "x"');
  assert.ok(e instanceof ValueError && e.code === "INVALID_ARGUMENT");
  assert.match(refusal("string", ["\ud800"])?.reason ?? "", /lone surrogate/);
  assert.throws(() => createColumnBuilder("varchar" as DataType, new arrow.Utf8()), /unknown type/);
});
