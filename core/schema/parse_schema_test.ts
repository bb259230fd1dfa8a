import assert from "node:assert/strict";
import fc from "fast-check";
import { CorruptLogError } from "../errors.ts";
import { decimalParams, parseSchema, serializeSchema } from "./parse_schema.ts";
import { structArb } from "./schema_arbitrary_test_util.ts";

Deno.test("parseSchema reads nested types, metadata and decimals with spaces", () => {
  const json = JSON.stringify({
    type: "struct",
    fields: [
      {
        name: "id",
        type: "long",
        nullable: false,
        metadata: { "delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-1" },
      },
      { name: "price", type: "decimal( 12 , 3 )", nullable: true, metadata: {} },
      {
        name: "tags",
        type: { type: "array", elementType: "string", containsNull: true },
        nullable: true,
        metadata: {},
      },
      {
        name: "attrs",
        type: {
          type: "map",
          keyType: "string",
          valueType: {
            type: "struct",
            fields: [{ name: "x", type: "timestamp_ntz", nullable: true, metadata: {} }],
          },
          valueContainsNull: false,
        },
        nullable: true,
      },
    ],
  });
  const s = parseSchema(json);
  assert.equal(s.fields.length, 4);
  assert.equal(s.fields[0]!.metadata["delta.columnMapping.physicalName"], "col-1");
  assert.equal(s.fields[1]!.type, "decimal(12,3)");
  assert.deepEqual(s.fields[2]!.type, { type: "array", elementType: "string", containsNull: true });
  assert.deepEqual(s.fields[3]!.metadata, {});
  const map = s.fields[3]!.type;
  assert.ok(typeof map === "object" && map.type === "map");
  assert.equal(map.valueContainsNull, false);
});

Deno.test("parseSchema rejects bad input with CorruptLogError", () => {
  const bad = [
    "{not json",
    '"string"',
    '{"type":"struct"}',
    '{"type":"struct","fields":[{"name":"a","type":"varchar","nullable":true,"metadata":{}}]}',
    '{"type":"struct","fields":[{"name":"a","type":"decimal(39,0)","nullable":true,"metadata":{}}]}',
    '{"type":"struct","fields":[{"name":"a","type":"decimal(5,6)","nullable":true,"metadata":{}}]}',
    '{"type":"struct","fields":[{"name":"a","type":"long","metadata":{}}]}',
    '{"type":"struct","fields":[{"type":"long","nullable":true}]}',
    '{"type":"struct","fields":[{"name":"a","type":{"type":"array","elementType":"long"},"nullable":true}]}',
    '{"type":"struct","fields":[{"name":"a","type":"long","nullable":true},{"name":"a","type":"long","nullable":true}]}',
  ];
  for (const s of bad) {
    assert.throws(() => parseSchema(s), CorruptLogError, s);
  }
  assert.throws(
    () => parseSchema('{"type":"struct","fields":[{"name":"a","type":"uuid","nullable":true}]}'),
    /Cannot parse schema at schema\.fields\[0\] \("a"\): unknown type "uuid"/,
  );
});

Deno.test("serializeSchema writes exact Delta JSON in protocol key order", () => {
  const json = serializeSchema({
    type: "struct",
    fields: [
      {
        metadata: { comment: "c" },
        nullable: true,
        type: { valueContainsNull: true, valueType: "long", keyType: "string", type: "map" },
        name: "m",
      },
    ],
  });
  assert.equal(
    json,
    '{"type":"struct","fields":[{"name":"m","type":{"type":"map","keyType":"string","valueType":"long","valueContainsNull":true},"nullable":true,"metadata":{"comment":"c"}}]}',
  );
  assert.deepEqual(decimalParams("decimal(38,18)"), { precision: 38, scale: 18 });
  assert.equal(decimalParams("string"), undefined);
});

Deno.test("parseSchema(serializeSchema(s)) is the identity on random nested schemas", () => {
  fc.assert(
    fc.property(structArb(3), (s) => {
      const json = serializeSchema(s);
      assert.deepEqual(parseSchema(json), s);
      assert.equal(serializeSchema(parseSchema(json)), json);
    }),
    { numRuns: 200 },
  );
});
