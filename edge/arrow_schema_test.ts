import assert from "node:assert/strict";
import type * as arrow from "apache-arrow";
import fc from "fast-check";
import { deltaSchemaToArrow, deltaTypeToArrow } from "../core/schema/delta_schema_to_arrow.ts";
import { PRIMITIVES, structArb } from "../core/schema/schema_arbitrary_test_util.ts";
import { edgeArrowSchema, edgeArrowType } from "./arrow_schema.ts";

// The edge keeps its own mapping (it refuses bad decimals with a TypeError when the app is
// created); for every valid Delta type it must give exactly what core/schema gives.
type Described = [string, string, boolean, Described[]];
const field = (f: arrow.Field): Described => [
  f.name,
  String(f.type),
  f.nullable,
  (f.type.children ?? []).map(field),
];
const describe = (s: arrow.Schema) => JSON.stringify(s.fields.map(field));

Deno.test("edgeArrowType agrees with core's deltaTypeToArrow on every primitive", () => {
  for (const p of PRIMITIVES) assert.equal(String(edgeArrowType(p)), String(deltaTypeToArrow(p)));
});

Deno.test("edgeArrowSchema agrees with core's deltaSchemaToArrow (nested, nullability)", () => {
  fc.assert(
    fc.property(structArb(3), (schema) => {
      const edge = edgeArrowSchema(schema);
      const core = deltaSchemaToArrow(schema);
      // Names, types and nullability at every depth (list "element", map "entries"/"key"/"value").
      assert.equal(describe(edge), describe(core));
    }),
  );
});

Deno.test("edgeArrowType is stricter than core on decimals", () => {
  assert.throws(() => edgeArrowType("decimal(39,2)"), TypeError);
  assert.throws(() => edgeArrowType("decimal(5,6)"), TypeError);
  assert.equal(String(deltaTypeToArrow("decimal(39,2)")), "Decimal[39e+2]");
});
