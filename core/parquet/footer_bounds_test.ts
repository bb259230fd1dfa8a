import assert from "node:assert/strict";
import fc from "fast-check";
import type { StructField, StructType } from "../schema/types.ts";
import { type ColumnBounds, compareBytes } from "./compute_stats.ts";
import { createArrowTable } from "./create_arrow_table.ts";
import { boundsFromFooter, type FooterBounds, parquetFooterLength } from "./footer_bounds.ts";
import { toInput, valueArb, withDuckDB } from "./test_util.ts";
import { writeParquetFile } from "./write_parquet_file.ts";

const f = (name: string, type: StructField["type"]): StructField => ({
  name,
  type,
  nullable: true,
  metadata: {},
});

/** Every primitive Delta type, as the DuckDB compaction engine writes them. */
const FIELDS: StructField[] = [
  f("c_int", "integer"),
  f("c_long", "long"),
  f("c_short", "short"),
  f("c_byte", "byte"),
  f("c_float", "float"),
  f("c_double", "double"),
  f("c_str", "string"),
  f("c_date", "date"),
  f("c_ts", "timestamp"),
  f("c_ntz", "timestamp_ntz"),
  f("c_dec", "decimal(38,10)"),
  f("c_dec18", "decimal(18,3)"),
  f("c_small_dec", "decimal(5,2)"),
  f("c_bool", "boolean"),
  f("c_bin", "binary"),
];
const SCHEMA: StructType = { type: "struct", fields: FIELDS };
const enc = new TextEncoder();

function footerOf(file: Uint8Array, fields: readonly StructField[] = FIELDS): FooterBounds {
  const length = parquetFooterLength(file.subarray(file.length - 8));
  return boundsFromFooter(file.subarray(file.length - 8 - length, file.length - 8), fields);
}

/** The true bounds of canonical values (`valueArb`): NaN skipped, strings in UTF-8 order. */
function trueBounds(type: StructField["type"], values: readonly unknown[]): ColumnBounds {
  const b: ColumnBounds = { nullCount: values.filter((v) => v === null).length };
  if (type === "boolean" || type === "binary") return b;
  const less = (x: unknown, y: unknown) =>
    typeof x === "string"
      ? compareBytes(enc.encode(x), enc.encode(y as string)) < 0
      : (x as number) < (y as number);
  for (const v of values) {
    if (v === null || Number.isNaN(v)) continue;
    if (b.min === undefined || less(v, b.min)) b.min = v as number | bigint | string;
    if (b.max === undefined || less(b.max, v)) b.max = v as number | bigint | string;
  }
  return b;
}

/** -0 and 0 are one bound (Delta statistics are JSON). */
const same = (b: ColumnBounds) => ({
  nullCount: b.nullCount,
  min: b.min === 0 ? 0 : b.min,
  max: b.max === 0 ? 0 : b.max,
});

/** Where the footer gives a column's bounds, they are the true ones. */
function assertSound(footer: FooterBounds, rows: readonly Record<string, unknown>[]): void {
  assert.equal(footer.numRows, rows.length);
  FIELDS.forEach((field, i) => {
    const got = footer.columns[i];
    if (got === undefined) return;
    const want = trueBounds(field.type, rows.map((r) => r[field.name]));
    assert.deepEqual(same(got), same(want), field.name);
  });
}

const rowsArb = fc.array(
  fc.record(Object.fromEntries(FIELDS.map((x) => [x.name, valueArb(x.type, true)]))),
  { minLength: 1, maxLength: 30 },
);
const inputOf = (rows: readonly Record<string, unknown>[]) =>
  rows.map((r) => Object.fromEntries(FIELDS.map((x) => [x.name, toInput(x.type, r[x.name])])));

Deno.test("property: footer bounds of parquet-wasm files are exact where given, over row groups", () => {
  fc.assert(
    fc.property(rowsArb, fc.integer({ min: 1, max: 8 }), (rows, rowGroupRows) => {
      const file = writeParquetFile(createArrowTable(SCHEMA, inputOf(rows)), { rowGroupRows });
      assertSound(footerOf(file), rows);
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: footer bounds of DuckDB files are exact where given, and given unless NaN, infinity or long strings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withDuckDB(async (query) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(rowsArb, async (rows) => {
          const input = `${dir}/in-${n}.parquet`;
          const output = `${dir}/out-${n++}.parquet`;
          await Deno.writeFile(input, writeParquetFile(createArrowTable(SCHEMA, inputOf(rows))));
          // Padding rows make several row groups (DuckDB cuts them at 2,048 rows at the least).
          await query(
            `COPY (SELECT * FROM read_parquet('${input}')
                   UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                     NULL, NULL, NULL, NULL, NULL FROM range(${n % 2 === 0 ? 0 : 4100}))
             TO '${output}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048)`,
          );
          const padded = [...rows, ...Array(n % 2 === 0 ? 0 : 4100).fill({})].map((r) =>
            Object.fromEntries(FIELDS.map((x) => [x.name, r[x.name] ?? null]))
          );
          const footer = footerOf(await Deno.readFile(output));
          assertSound(footer, padded);
          FIELDS.forEach((field, i) => {
            const values = rows.map((r) => r[field.name]);
            const unusual = values.some((v) =>
              typeof v === "number" && !Number.isFinite(v) ||
              typeof v === "string" && v.length > 1000
            );
            if (!unusual) assert.notEqual(footer.columns[i], undefined, field.name);
          });
        }),
        { numRuns: 40 },
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("footer bounds: a truncated string bound, a float row group with NaN, a nested file are not given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withDuckDB(async (query) => {
      const out = `${dir}/odd.parquet`;
      await query(
        `COPY (SELECT * FROM (VALUES ('a' || repeat('z', 20000), 'nan'::DOUBLE, 1::BIGINT),
                                     ('b', 2.5::DOUBLE, 2::BIGINT)) v(c_str, c_double, c_long))
         TO '${out}' (FORMAT parquet)`,
      );
      const fields = [f("c_str", "string"), f("c_double", "double"), f("c_long", "long")];
      const footer = footerOf(await Deno.readFile(out), fields);
      assert.deepEqual(footer.columns, [undefined, undefined, { nullCount: 0, min: 1n, max: 2n }]);
    });
    const nested: StructType = {
      type: "struct",
      fields: [f("id", "long"), f("st", { type: "struct", fields: [f("x", "long")] })],
    };
    const file = writeParquetFile(createArrowTable(nested, [{ id: 1n, st: { x: 2n } }]));
    assert.deepEqual(footerOf(file, [f("id", "long")]).columns, [undefined]);
    // A column the file does not hold, and a type it is not written as.
    const flat = writeParquetFile(createArrowTable(SCHEMA, [{ c_long: 3n }]));
    assert.deepEqual(footerOf(flat, [f("absent", "long"), f("c_long", "integer")]).columns, [
      undefined,
      undefined,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parquetFooterLength refuses bytes that do not end a Parquet file", () => {
  assert.throws(() => parquetFooterLength(new Uint8Array(8)), /does not end in PAR1/);
  assert.equal(parquetFooterLength(new Uint8Array([7, 1, 0, 0, 0x50, 0x41, 0x52, 0x31])), 263);
});
