import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { buildRecordBatch } from "../values/build_record_batch.ts";
import type { StructType } from "../schema/types.ts";
import { deltaSchemaToArrow } from "../schema/delta_schema_to_arrow.ts";
import { concatFlatBatches } from "./concat_flat_batches.ts";

const FLAT: StructType = {
  type: "struct",
  fields: [
    { name: "b", type: "boolean", nullable: true, metadata: {} },
    { name: "i8", type: "byte", nullable: true, metadata: {} },
    { name: "i16", type: "short", nullable: false, metadata: {} },
    { name: "i32", type: "integer", nullable: true, metadata: {} },
    { name: "i64", type: "long", nullable: true, metadata: {} },
    { name: "f32", type: "float", nullable: true, metadata: {} },
    { name: "f64", type: "double", nullable: true, metadata: {} },
    { name: "d", type: "date", nullable: true, metadata: {} },
    { name: "ts", type: "timestamp", nullable: true, metadata: {} },
    { name: "ntz", type: "timestamp_ntz", nullable: true, metadata: {} },
    { name: "dec", type: "decimal(20,3)", nullable: true, metadata: {} },
    { name: "s", type: "string", nullable: true, metadata: {} },
    { name: "bin", type: "binary", nullable: true, metadata: {} },
  ],
};
const ARROW = deltaSchemaToArrow(FLAT);

const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });
const row = fc.record({
  b: nullable(fc.boolean()),
  i8: nullable(fc.integer({ min: -128, max: 127 })),
  i16: fc.integer({ min: -32768, max: 32767 }),
  i32: nullable(fc.integer()),
  i64: nullable(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
  f32: nullable(fc.float({ noNaN: true })),
  f64: nullable(fc.double()),
  d: nullable(fc.integer({ min: -100_000, max: 100_000 })),
  ts: nullable(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n })),
  ntz: nullable(fc.integer({ min: 0, max: 2 ** 50 })),
  dec: nullable(fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n })),
  s: nullable(fc.string({ unit: "grapheme", maxLength: 12 })),
  bin: nullable(fc.uint8Array({ maxLength: 9 })),
});

/** Rows as plain values (bigints and bytes as text), to compare tables. */
function rowsOf(batches: arrow.RecordBatch[] | arrow.Table): unknown[] {
  const table = batches instanceof arrow.Table ? batches : new arrow.Table(ARROW, batches);
  return table.toArray().map((r) =>
    JSON.parse(
      JSON.stringify(r.toJSON(), (_, v) =>
        typeof v === "bigint"
          ? `${v}n`
          : v instanceof Uint8Array || ArrayBuffer.isView(v)
          ? Array.from(v as Uint8Array)
          : v),
    )
  );
}

Deno.test("property: concatFlatBatches keeps every row and value, in order, and its IPC reads back", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(row, { maxLength: 21 }), { minLength: 1, maxLength: 9 }),
      (parts) => {
        const batches = parts.map((rows) => buildRecordBatch(FLAT, rows, { arrowSchema: ARROW }));
        const one = concatFlatBatches(ARROW, batches);
        assert.ok(one !== undefined);
        assert.equal(one.numRows, parts.reduce((n, p) => n + p.length, 0));
        assert.deepEqual(rowsOf([one]), rowsOf(batches));
        for (let k = 0; k < FLAT.fields.length; k++) {
          const nulls = batches.reduce((n, b) => n + b.data.children[k]!.nullCount, 0);
          assert.equal(one.data.children[k]!.nullCount, nulls);
        }
        const back = arrow.tableFromIPC(arrow.tableToIPC(new arrow.Table(ARROW, [one]), "stream"));
        assert.deepEqual(rowsOf(back), rowsOf(batches));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("concatFlatBatches leaves nested, sliced or mismatched batches to the caller", () => {
  const a = buildRecordBatch(FLAT, [{ i16: 1 }, { i16: 2 }, { i16: 3 }], { arrowSchema: ARROW });
  assert.equal(concatFlatBatches(ARROW, []), undefined);
  assert.equal(concatFlatBatches(ARROW, [a]), a);
  assert.equal(concatFlatBatches(ARROW, [a, a.slice(1)]), undefined);
  const nested: StructType = {
    type: "struct",
    fields: [{
      name: "l",
      type: { type: "array", elementType: "integer", containsNull: true },
      nullable: true,
      metadata: {},
    }],
  };
  const n = buildRecordBatch(nested, [{ l: [1] }]);
  assert.equal(concatFlatBatches(n.schema, [n, n]), undefined);
  const other = buildRecordBatch(
    { type: "struct", fields: [{ name: "i16", type: "integer", nullable: true, metadata: {} }] },
    [{ i16: 1 }],
  );
  const one = buildRecordBatch(
    { type: "struct", fields: [{ name: "i16", type: "short", nullable: true, metadata: {} }] },
    [{ i16: 1 }],
  );
  assert.equal(concatFlatBatches(one.schema, [one, other]), undefined);
});
