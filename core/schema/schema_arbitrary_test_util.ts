// Test helper (not part of the public API): fast-check generators of Delta schemas.
import fc from "fast-check";
import { PRIMITIVE_TYPE_NAMES } from "./parse_schema.ts";
import type { DataType, PrimitiveTypeName, StructField, StructType } from "./types.ts";

/** Every primitive type name, decimals at a few precisions. */
export const PRIMITIVES: PrimitiveTypeName[] = [
  ...PRIMITIVE_TYPE_NAMES,
  "decimal(10,2)",
  "decimal(38,18)",
  "decimal(5,0)",
];

const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);

/** Random Delta data types nested up to `depth`. */
export function dataTypeArb(depth: number): fc.Arbitrary<DataType> {
  const prim = fc.constantFrom(...PRIMITIVES) as fc.Arbitrary<DataType>;
  if (depth <= 0) return prim;
  const inner = dataTypeArb(depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: prim },
    { weight: 1, arbitrary: structArb(depth - 1) as fc.Arbitrary<DataType> },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant("array" as const),
        elementType: inner,
        containsNull: fc.boolean(),
      }).map((t) => ({ ...t })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant("map" as const),
        keyType: fc.constantFrom("string", "integer", "long") as fc.Arbitrary<DataType>,
        valueType: inner,
        valueContainsNull: fc.boolean(),
      }).map((t) => ({ ...t })),
    },
  );
}

/** Random structs with unique field names. */
export function structArb(depth: number): fc.Arbitrary<StructType> {
  return fc
    .uniqueArray(
      fc.record({
        name,
        type: dataTypeArb(depth),
        nullable: fc.boolean(),
        metadata: fc.constant({}),
      }).map((f) => ({ ...f, metadata: {} })) as fc.Arbitrary<StructField>,
      { minLength: 1, maxLength: 5, selector: (f) => f.name },
    )
    .map((fields) => ({ type: "struct" as const, fields }));
}
