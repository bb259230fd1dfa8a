import assert from "node:assert/strict";
import fc from "fast-check";
import { parquetMetadata } from "hyparquet";
import { structArb } from "../schema/schema_arbitrary_test_util.ts";
import type { StructType } from "../schema/types.ts";
import { createArrowTable } from "./create_arrow_table.ts";
import { decodeTable, toInput, valueArb, withDuckDB } from "./test_util.ts";
import { readParquetFile, writeParquetFile } from "./write_parquet_file.ts";

const f = (name: string, type: StructType["fields"][number]["type"], nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** A schema with every Delta type, nested ones included. */
const ALL_TYPES: StructType = {
  type: "struct",
  fields: [
    f("id", "long", false),
    f("s", "string"),
    f("i", "integer"),
    f("sh", "short"),
    f("by", "byte"),
    f("fl", "float"),
    f("db", "double"),
    f("bo", "boolean"),
    f("bi", "binary"),
    f("dt", "date"),
    f("ts", "timestamp"),
    f("ntz", "timestamp_ntz"),
    f("dec", "decimal(38,4)"),
    f("dec2", "decimal(5,2)"),
    f("st", {
      type: "struct",
      fields: [f("a", "integer", false), f("b", "string")],
    }),
    f("arr", { type: "array", elementType: "long", containsNull: true }),
    f("mp", { type: "map", keyType: "string", valueType: "double", valueContainsNull: true }),
    f("deep", {
      type: "array",
      elementType: {
        type: "struct",
        fields: [f("tags", { type: "array", elementType: "string", containsNull: false })],
      },
      containsNull: false,
    }),
  ],
};

const ROWS: Record<string, unknown>[] = [
  {
    id: 1n,
    s: "héllo wörld 😀 𝄞",
    i: -2147483648,
    sh: 32767,
    by: -128,
    fl: 1.5,
    db: -0.1,
    bo: true,
    bi: new Uint8Array([0, 255, 7]),
    dt: "2024-02-29",
    ts: 1704164645123456n,
    ntz: "2024-01-02T03:04:05.123456",
    dec: "-12345678901234567890123456789012.3456",
    dec2: 999.99,
    st: { a: 7, b: "x" },
    arr: [1n, null, 9007199254740993n],
    mp: new Map([["k", 1.25], ["n", null]]),
    deep: [{ tags: ["a", "b"] }, { tags: [] }],
  },
  { id: 2, s: null, st: null, arr: [], mp: {}, deep: null, dt: 0, ts: new Date(0), bo: false },
  {
    id: -9223372036854775808n,
    s: "",
    fl: -3.4028234663852886e38,
    db: 1e308,
    dt: new Date("1969-12-31T12:00:00Z"),
    ts: "1969-12-31T23:59:59.999999Z",
    ntz: 253402300799999999n,
    dec: 1n,
    dec2: "-0.5",
    st: { a: 0, b: null },
    mp: [["only", 0]],
  },
];

const EXPECTED = [
  {
    id: "1",
    s: "héllo wörld 😀 𝄞",
    i: -2147483648,
    sh: 32767,
    by: -128,
    fl: 1.5,
    db: -0.1,
    bo: true,
    bi: "\\x00\\xFF\\x07",
    dt: "2024-02-29",
    ts: "2024-01-02 03:04:05.123456+00",
    ntz: "2024-01-02 03:04:05.123456",
    dec: "-12345678901234567890123456789012.3456",
    dec2: "999.99",
    st: { a: 7, b: "x" },
    arr: ["1", null, "9007199254740993"],
    mp: [{ key: "k", value: 1.25 }, { key: "n", value: null }],
    deep: [{ tags: ["a", "b"] }, { tags: [] }],
  },
  {
    id: "2",
    s: null,
    i: null,
    sh: null,
    by: null,
    fl: null,
    db: null,
    bo: false,
    bi: null,
    dt: "1970-01-01",
    ts: "1970-01-01 00:00:00+00",
    ntz: null,
    dec: null,
    dec2: null,
    st: null,
    arr: [],
    mp: [],
    deep: null,
  },
  {
    id: "-9223372036854775808",
    s: "",
    i: null,
    sh: null,
    by: null,
    fl: -3.4028234663852886e38,
    db: 1e308,
    bo: null,
    bi: null,
    dt: "1969-12-31",
    ts: "1969-12-31 23:59:59.999999+00",
    ntz: "9999-12-31 23:59:59.999999",
    dec: "0.0001",
    dec2: "-0.50",
    st: { a: 0, b: null },
    arr: null,
    mp: [{ key: "only", value: 0 }],
    deep: null,
  },
];

async function writeTemp(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  await Deno.writeFile(path, bytes);
  return path;
}

Deno.test("every Delta type written by writeParquetFile reads back in DuckDB", async () => {
  const table = createArrowTable(ALL_TYPES, ROWS);
  for (const compression of ["zstd", "snappy", "lz4_raw", "gzip", "uncompressed"] as const) {
    const path = await writeTemp(writeParquetFile(table, { compression }));
    try {
      const rows = await withDuckDB((q) =>
        q(`SELECT * FROM read_parquet('${path}') ORDER BY id DESC`)
      );
      const byId = [...EXPECTED].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
      assert.deepEqual(rows.map((r) => ({ ...r, fl: r.fl === null ? null : Number(r.fl) })), byId);
      const types = await withDuckDB((q) => q(`DESCRIBE SELECT * FROM read_parquet('${path}')`));
      assert.deepEqual(types.map((r) => r.column_type).slice(0, 14), [
        "BIGINT",
        "VARCHAR",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "FLOAT",
        "DOUBLE",
        "BOOLEAN",
        "BLOB",
        "DATE",
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP",
        "DECIMAL(38,4)",
        "DECIMAL(5,2)",
      ]);
    } finally {
      await Deno.remove(path);
    }
  }
});

Deno.test("Parquet physical and logical types, codec and row groups in the footer", () => {
  const table = createArrowTable(
    ALL_TYPES,
    Array.from({ length: 10 }, (_, k) => ({ ...ROWS[k % 3], id: BigInt(k) })),
  );
  // Two writes in a row: each must get fresh writer properties (docs/design.md, toolchain note 1).
  for (let round = 0; round < 2; round++) {
    const bytes = writeParquetFile(table, { rowGroupRows: 4 });
    const md = parquetMetadata(bytes.buffer as ArrayBuffer);
    assert.equal(Number(md.num_rows), 10);
    assert.equal(md.row_groups.length, 3);
    for (const rg of md.row_groups) {
      for (const c of rg.columns) assert.equal(c.meta_data?.codec, "ZSTD");
    }
    const el = (name: string) => md.schema.find((s) => s.name === name)!;
    assert.deepEqual(el("ts").logical_type, {
      type: "TIMESTAMP",
      isAdjustedToUTC: true,
      unit: "MICROS",
    });
    assert.deepEqual(el("ntz").logical_type, {
      type: "TIMESTAMP",
      isAdjustedToUTC: false,
      unit: "MICROS",
    });
    assert.equal(el("ts").type, "INT64");
    assert.deepEqual(el("dec").logical_type, { type: "DECIMAL", precision: 38, scale: 4 });
    assert.deepEqual(el("dt").logical_type, { type: "DATE" });
    assert.equal(el("id").repetition_type, "REQUIRED");
    assert.equal(el("s").repetition_type, "OPTIONAL");
    const ids = md.row_groups[0]!.columns[0]!.meta_data!.statistics!;
    assert.equal(ids.null_count, 0n);
  }
  const snappy = parquetMetadata(
    writeParquetFile(table, { compression: "snappy" }).buffer as ArrayBuffer,
  );
  assert.equal(snappy.row_groups[0]!.columns[0]!.meta_data?.codec, "SNAPPY");
  assert.throws(() => writeParquetFile(table, { rowGroupRows: 0 }), /rowGroupRows/);
});

Deno.test("readParquetFile returns the rows, selected columns and batches", () => {
  const table = createArrowTable(ALL_TYPES, ROWS);
  const bytes = writeParquetFile(table);
  const back = readParquetFile(bytes);
  assert.deepEqual(decodeTable(back, ALL_TYPES), decodeTable(table, ALL_TYPES));
  const some = readParquetFile(bytes, { columns: ["s", "id"], batchSize: 1 });
  assert.deepEqual(some.schema.fields.map((x) => x.name), ["s", "id"]);
  assert.equal(some.batches.length, 3);
  assert.equal(some.getChild("s")?.get(0), ROWS[0]!.s);
  assert.throws(
    () => readParquetFile(bytes, { columns: ["nope"] }),
    /Cannot read Parquet column "nope"/,
  );
});

Deno.test("property: a Parquet round trip keeps every value of random nested schemas", () => {
  const case_ = structArb(2).chain((schema) =>
    fc.tuple(
      fc.constant(schema),
      fc.array(valueArb(schema, false), { minLength: 0, maxLength: 12 }),
    )
  );
  fc.assert(
    fc.property(case_, ([schema, rows]) => {
      const input = rows.map((r) => toInput(schema, r) as Record<string, unknown>);
      const table = createArrowTable(schema, input);
      assert.deepEqual(decodeTable(table, schema), rows);
      const back = readParquetFile(writeParquetFile(table));
      assert.equal(back.numRows, rows.length);
      assert.deepEqual(decodeTable(back, schema), rows);
    }),
    { numRuns: 150 },
  );
});
