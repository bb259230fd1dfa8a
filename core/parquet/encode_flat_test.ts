import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { parquetReadObjects } from "hyparquet";
// The raw footer as hyparquet parses it.
import { deserializeTCompactProtocol } from "hyparquet/src/thrift.js";
import * as pq from "parquet-wasm";
import { deltaSchemaToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { DataType, StructType } from "../schema/types.ts";
import { createArrowTable } from "./create_arrow_table.ts";
import { canEncodeFlat, type EncodeFlatOptions, encodeFlatParquet } from "./encode_flat.ts";
import { decodeTable, toInput, valueArb, withDuckDB } from "./test_util.ts";
import { readParquetFile } from "./write_parquet_file.ts";

const f = (name: string, type: DataType, nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** Every flat Delta type, decimals at each of arrow-rs's physical layouts, required and optional. */
const FLAT: StructType = {
  type: "struct",
  fields: [
    f("id", "long", false),
    f("b", "boolean"),
    f("by", "byte"),
    f("sh", "short"),
    f("i", "integer"),
    f("l", "long"),
    f("fl", "float"),
    f("db", "double"),
    f("db_zero", "double"),
    f("db_nan", "double"),
    f("s", "string"),
    f("s_trunc", "string"),
    f("s_top", "string"),
    f("s_del", "string"),
    f("bi", "binary"),
    f("bi_ff", "binary"),
    f("bi_carry", "binary"),
    f("dt", "date"),
    f("ts", "timestamp"),
    f("ntz", "timestamp_ntz"),
    f("d1", "decimal(1,0)"),
    f("d9", "decimal(9,2)"),
    f("d18", "decimal(18,3)"),
    f("d20", "decimal(20,1)"),
    f("d38", "decimal(38,10)"),
    f("nothing", "double"),
    f("req_s", "string", false),
    f("req_b", "boolean", false),
    f("req_by", "byte", false),
    f("req_d", "decimal(38,10)", false),
    f("req_dt", "date", false),
  ],
};

const ff = (n: number) => new Uint8Array(n).fill(0xff);

/** Values per column; row i takes value i modulo the list's length. */
const EDGE: Record<string, unknown[]> = {
  b: [true, null, false],
  by: [-128, 127, null, 0],
  sh: [-32768, 32767, null],
  i: [-2147483648, 2147483647, null, 7],
  l: [-(2n ** 63n), 2n ** 63n - 1n, null, 0n],
  fl: ["NaN", "Infinity", "-Infinity", -0, 0, 1.5, null],
  db: ["NaN", 1e308, -0, "-Infinity", 0, -2.5, null, "Infinity"],
  db_zero: [0, -0, null],
  db_nan: ["NaN", null],
  s: ["", "héllo", "😀 𝄞", null, "zz", "\u{10FFFF}"],
  s_trunc: ["a".repeat(62) + "😀😀", "a".repeat(70), null],
  s_top: ["\u{10FFFF}".repeat(20), "\u{7F}".repeat(70)],
  s_del: ["b" + "\u{7F}".repeat(70), "a", null],
  bi: [new Uint8Array(0), new Uint8Array([0, 255, 7]), null],
  bi_ff: [ff(70), new Uint8Array([0])],
  bi_carry: [Uint8Array.of(1, ...ff(69)), new Uint8Array([0]), null],
  dt: [-719162, 2932896, null, 0, -1],
  ts: [-62135596800000000n, 253402300799999999n, -1n, null, 0n],
  ntz: [253402300799999999n, -62135596800000000n, null, 1704164645123456n],
  d1: ["-9", "9", null, "0"],
  d9: ["-9999999.99", "9999999.99", null, "0.01"],
  d18: ["-999999999999999.999", "999999999999999.999", null, "-0.001"],
  d20: ["-9999999999999999999.9", "12.5", null],
  d38: [
    "-1234567890123456789012345678.0123456789",
    "9999999999999999999999999999.9999999999",
    "-0.0000000001",
    null,
  ],
  nothing: [null],
  req_s: ["x", "", "ÿ"],
  req_b: [false, true],
  req_by: [3, -3],
  req_d: ["-1.5", "0.0000000001"],
  req_dt: [0, -719162, 2932896],
};

function edgeRows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const row: Record<string, unknown> = { id: BigInt(i) };
    for (const [k, vs] of Object.entries(EDGE)) row[k] = vs[i % vs.length];
    return row;
  });
}

const CREATED_BY = "lakestrike/test";

/** What parquet-wasm writes: arrow-rs with dictionaries off, the layout our writer uses too. */
function writeReference(
  table: arrow.Table,
  options: { compression?: "zstd" | "uncompressed"; rowGroupRows?: number } = {},
): Uint8Array {
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(
      options.compression === "uncompressed" ? pq.Compression.UNCOMPRESSED : pq.Compression.ZSTD,
    )
    .setDictionaryEnabled(false)
    .setCreatedBy(CREATED_BY);
  if (options.rowGroupRows !== undefined) {
    builder = builder.setMaxRowGroupSize(options.rowGroupRows);
  }
  return pq.writeParquet(
    pq.Table.fromIPCStream(arrow.tableToIPC(table, "stream")),
    builder.build(),
  );
}

function encode(table: arrow.Table, options: EncodeFlatOptions = {}): Uint8Array {
  const bytes = encodeFlatParquet(table, { createdBy: CREATED_BY, ...options });
  assert.ok(bytes !== undefined, "the flat writer refused a flat table");
  return bytes;
}

type Thrift = Record<string, unknown>;

function thriftAt(bytes: Uint8Array, offset: number, length: number): Thrift {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  return deserializeTCompactProtocol({ view, offset: 0 }) as Thrift;
}

function rawFooter(bytes: Uint8Array): Thrift {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "PAR1");
  assert.equal(new TextDecoder().decode(bytes.subarray(bytes.length - 4)), "PAR1");
  const len = v.getUint32(bytes.length - 8, true);
  return thriftAt(bytes, bytes.length - 8 - len, len);
}

/** The Arrow schema stored under `ARROW:schema`, decoded. */
function storedArrowSchema(footer: Thrift): arrow.Schema {
  const kvs = footer.field_5 as Thrift[];
  const kv = kvs.find((k) => new TextDecoder().decode(k.field_1 as Uint8Array) === "ARROW:schema");
  assert.ok(kv !== undefined, "no ARROW:schema");
  const raw = Uint8Array.from(
    atob(new TextDecoder().decode(kv.field_2 as Uint8Array)),
    (c) => c.charCodeAt(0),
  );
  // The message as arrow-rs frames it, then an IPC end-of-stream marker.
  const stream = new Uint8Array(raw.length + 8);
  stream.set(raw);
  stream.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], raw.length);
  return arrow.tableFromIPC(stream).schema;
}

function describeSchema(schema: arrow.Schema): unknown[] {
  return schema.fields.map((x) => [x.name, String(x.type), x.nullable, [...x.metadata]]);
}

/**
 * The footer with what depends on the byte layout removed (offsets, sizes, the page index's
 * location, the number of pages) and the Arrow schema decoded: what a reader plans with.
 */
function comparableFooter(bytes: Uint8Array, opts: { pages: boolean }): unknown {
  const footer = rawFooter(bytes);
  const groups = (footer.field_4 as Thrift[]).map((rg) => ({
    ...rg,
    field_2: undefined, // total_byte_size
    field_5: undefined, // file_offset
    field_6: undefined, // total_compressed_size
    field_1: (rg.field_1 as Thrift[]).map((c) => {
      const m = c.field_3 as Thrift;
      return {
        ...c,
        field_4: undefined,
        field_5: undefined,
        field_6: undefined,
        field_7: undefined,
        field_3: {
          ...m,
          field_6: undefined,
          field_7: undefined,
          field_9: undefined,
          field_13: opts.pages ? m.field_13 : undefined,
        },
      };
    }),
  }));
  return {
    ...footer,
    field_4: groups,
    field_5: describeSchema(storedArrowSchema(footer)),
  };
}

/** Column and offset indexes of every chunk, page offsets and sizes removed. */
function pageIndexes(bytes: Uint8Array): unknown[] {
  const out: unknown[] = [];
  for (const rg of rawFooter(bytes).field_4 as Thrift[]) {
    for (const c of rg.field_1 as Thrift[]) {
      const ci = c.field_6 === undefined
        ? undefined
        : thriftAt(bytes, Number(c.field_6), c.field_7 as number);
      const oi = thriftAt(bytes, Number(c.field_4), c.field_5 as number);
      out.push({
        ci,
        oi: {
          ...oi,
          field_1: (oi.field_1 as Thrift[]).map((l) => ({ first_row_index: l.field_3 })),
        },
      });
    }
  }
  return out;
}

function assertReadsBack(bytes: Uint8Array, table: arrow.Table, schema: StructType): void {
  const back = readParquetFile(bytes);
  assert.deepEqual(describeSchema(back.schema), describeSchema(table.schema));
  assert.deepEqual(decodeTable(back, schema), decodeTable(table, schema));
}

/** Rows as hyparquet reads them (it has no zstd of its own: write uncompressed files for it). */
async function hyparquetRows(bytes: Uint8Array): Promise<unknown[]> {
  const file = bytes.slice().buffer as ArrayBuffer;
  return await parquetReadObjects({ file });
}

Deno.test("footer and page index equal parquet-wasm's for every flat type and edge value", () => {
  const table = createArrowTable(FLAT, edgeRows(24));
  for (const compression of ["zstd", "uncompressed"] as const) {
    const ours = encode(table, { compression });
    const theirs = writeReference(table, { compression });
    assert.deepEqual(
      comparableFooter(ours, { pages: true }),
      comparableFooter(theirs, { pages: true }),
    );
    assert.deepEqual(pageIndexes(ours), pageIndexes(theirs));
  }
});

Deno.test("every flat type and edge value reads back identical (parquet-wasm, hyparquet)", async () => {
  const table = createArrowTable(FLAT, edgeRows(24));
  for (const compression of ["zstd", "uncompressed"] as const) {
    const ours = encode(table, { compression });
    assertReadsBack(ours, table, FLAT);
    if (compression === "uncompressed") {
      assert.deepEqual(
        await hyparquetRows(ours),
        await hyparquetRows(writeReference(table, { compression })),
      );
    }
  }
});

Deno.test("DuckDB reads the same rows and types from our file as from parquet-wasm's", async () => {
  const table = createArrowTable(FLAT, edgeRows(24));
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/ours.parquet`, encode(table));
    await Deno.writeFile(`${dir}/theirs.parquet`, writeReference(table));
    await withDuckDB(async (q) => {
      for (
        const sql of ["SELECT * FROM read_parquet('$FILE') ORDER BY id", "DESCRIBE FROM '$FILE'"]
      ) {
        const ours = await q(sql.replace("$FILE", `${dir}/ours.parquet`));
        const theirs = await q(sql.replace("$FILE", `${dir}/theirs.parquet`));
        assert.equal(ours.length > 0, true);
        assert.deepEqual(ours, theirs);
      }
      const [n] = await q(
        `SELECT count(*)::INTEGER AS n FROM read_parquet('${dir}/ours.parquet') WHERE s = '😀 𝄞'`,
      );
      assert.equal(n!.n, 4);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** 3,000 rows in three batches cut at offsets that are not multiples of 8. */
function manyBatches(): { table: arrow.Table; whole: arrow.Table } {
  const whole = createArrowTable(FLAT, edgeRows(3000));
  const table = new arrow.Table([
    ...whole.slice(0, 13).batches,
    ...whole.slice(13, 1001).batches,
    ...whole.slice(1001).batches,
  ]);
  assert.equal(table.batches.length, 3);
  return { table, whole };
}

Deno.test("sliced and multi-batch tables over many pages and row groups read back", async () => {
  const { table, whole } = manyBatches();
  const variants: [string, arrow.Table][] = [
    ["multi-batch", table],
    ["sliced", whole.slice(5, 2903)],
    ["sliced multi-batch", table.slice(11, 2990)],
  ];
  for (const [what, t] of variants) {
    for (const options of [{}, { pageRowsMax: 100, pageBytesTarget: 700, rowGroupRows: 700 }]) {
      const ours = encode(t, options);
      assertReadsBack(ours, t, FLAT);
      const theirs = writeReference(t, { rowGroupRows: options.rowGroupRows ?? 1_048_576 });
      // Pages differ (arrow-rs cuts its own), chunk statistics must not.
      assert.deepEqual(
        comparableFooter(ours, { pages: false }),
        comparableFooter(theirs, { pages: false }),
        what,
      );
      const plain = { ...options, compression: "uncompressed" as const };
      assert.deepEqual(
        await hyparquetRows(encode(t, plain)),
        await hyparquetRows(writeReference(t, plain)),
        what,
      );
    }
  }
  const small = encode(table, { pageRowsMax: 100, pageBytesTarget: 700 });
  const chunks = (rawFooter(small).field_4 as Thrift[])[0]!.field_1 as Thrift[];
  const stats = (chunks[0]!.field_3 as Thrift).field_13 as Thrift[];
  // id (8 bytes a value): 80 rows fit 700 bytes (a multiple of 8 rows), so 3,000 rows are 38 pages.
  assert.equal(stats[0]!.field_3, 38);
});

Deno.test("statistics across pages of sorted columns: chunk min/max and boundary order", () => {
  const types: DataType[] = [
    "long",
    "integer",
    "double",
    "float",
    "string",
    "binary",
    "date",
    "timestamp",
    "decimal(9,2)",
    "decimal(18,3)",
    "decimal(20,1)",
    "decimal(38,10)",
  ];
  const schema: StructType = {
    type: "struct",
    fields: types.map((t, i) => f(`c${i}`, t)),
  };
  // From negative to positive, 8 rows a page: no page alone holds the chunk's min and max.
  const value = (t: DataType, k: number): unknown => {
    if (t === "string") return String.fromCharCode(0x41 + k) + "😀";
    if (t === "binary") return Uint8Array.of(k * 6, 0xff);
    if (t === "long" || t === "timestamp") return BigInt(k - 20) * 1_000_000_007n;
    if (typeof t === "string" && t.startsWith("decimal")) return `${k - 20}.5`;
    return (k - 20) * 1000 + 0.5 * (t === "double" || t === "float" ? 1 : 0);
  };
  for (const order of ["ascending", "descending", "unordered"] as const) {
    const rows = Array.from({ length: 40 }, (_, i) => {
      const k = order === "ascending" ? i : order === "descending" ? 39 - i : (i * 17) % 40;
      const row: Record<string, unknown> = {};
      types.forEach((t, c) => (row[`c${c}`] = value(t, k)));
      return row;
    });
    const table = createArrowTable(schema, rows);
    const ours = encode(table, { pageRowsMax: 8 });
    assertReadsBack(ours, table, schema);
    assert.deepEqual(
      comparableFooter(ours, { pages: false }),
      comparableFooter(writeReference(table), { pages: false }),
    );
    (pageIndexes(ours) as { ci: Thrift }[]).forEach((index, c) => {
      assert.equal((index.ci.field_1 as boolean[]).length, 5);
      const expected = { ascending: 1, descending: 2, unordered: 0 }[order];
      assert.equal(index.ci.field_4, expected, `${order} ${types[c]}`);
    });
  }
});

Deno.test("pages of long strings are cut near pageBytesTarget", () => {
  const schema: StructType = { type: "struct", fields: [f("s", "string")] };
  const rows = Array.from({ length: 4000 }, (_, i) => ({ s: i % 7 ? "x".repeat(i % 500) : null }));
  const table = createArrowTable(schema, rows);
  const bytes = encode(table, { pageBytesTarget: 20_000, compression: "uncompressed" });
  assertReadsBack(bytes, table, schema);
  const oi = pageIndexes(bytes)[0] as { oi: { field_1: { first_row_index: bigint }[] } };
  const starts = oi.oi.field_1.map((l) => Number(l.first_row_index));
  assert.ok(starts.length > 20, `${starts.length} pages`);
  for (const s of starts) assert.equal(s % 8, 0);
});

Deno.test("PARQUET:field_id becomes the Parquet field id, as parquet-wasm writes it", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      {
        name: "a",
        type: "long",
        nullable: true,
        metadata: { "delta.columnMapping.id": 7, "delta.columnMapping.physicalName": "col-a" },
      },
      {
        name: "b",
        type: "string",
        nullable: false,
        metadata: { "delta.columnMapping.id": 9, "delta.columnMapping.physicalName": "col-b" },
      },
    ],
  };
  const table = createArrowTable(schema, [{ a: 1, b: "x" }, { a: null, b: "y" }], {
    physicalNames: true,
  });
  assert.equal(table.schema.fields[0]!.metadata.get("PARQUET:field_id"), "7");
  const ours = encode(table);
  assert.deepEqual(
    comparableFooter(ours, { pages: true }),
    comparableFooter(writeReference(table), { pages: true }),
  );
  const elements = rawFooter(ours).field_2 as Thrift[];
  assert.deepEqual(elements.slice(1).map((e) => e.field_9), [7, 9]);
  assert.deepEqual(describeSchema(readParquetFile(ours).schema), describeSchema(table.schema));
});

Deno.test("an empty table is a file without row groups that reads back empty", () => {
  const table = createArrowTable(FLAT, []);
  const ours = encode(table);
  const back = readParquetFile(ours);
  assert.equal(back.numRows, 0);
  assert.deepEqual(describeSchema(back.schema), describeSchema(table.schema));
  assert.deepEqual(rawFooter(ours).field_4, []);
});

Deno.test("what the flat writer does not support returns undefined", () => {
  const one = (type: arrow.DataType, nullable = true) =>
    new arrow.Schema([new arrow.Field("x", type, nullable)]);
  const unsupported: [string, arrow.Schema][] = [
    ["struct", deltaSchemaToArrow({ type: "struct", fields: [f("s", FLAT)] })],
    ["list", one(new arrow.List(new arrow.Field("element", new arrow.Int32())))],
    [
      "map",
      deltaSchemaToArrow({
        type: "struct",
        fields: [
          f("m", { type: "map", keyType: "string", valueType: "long", valueContainsNull: true }),
        ],
      }),
    ],
    ["dictionary", one(new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()))],
    ["large utf8", one(new arrow.LargeUtf8())],
    ["large binary", one(new arrow.LargeBinary())],
    ["unsigned", one(new arrow.Uint32())],
    ["float16", one(new arrow.Float16())],
    ["date64", one(new arrow.DateMillisecond())],
    ["timestamp ms", one(new arrow.TimestampMillisecond("UTC"))],
    ["timestamp ns", one(new arrow.TimestampNanosecond())],
    ["decimal256", one(new arrow.Decimal(2, 40, 256))],
    ["null", one(new arrow.Null())],
    ["fixed size binary", one(new arrow.FixedSizeBinary(4))],
    [
      "schema metadata",
      new arrow.Schema([new arrow.Field("x", new arrow.Int32())], new Map([["k", "v"]])),
    ],
    [
      "bad field id",
      new arrow.Schema([
        new arrow.Field("x", new arrow.Int32(), true, new Map([["PARQUET:field_id", "x1"]])),
      ]),
    ],
  ];
  for (const [what, schema] of unsupported) {
    assert.equal(canEncodeFlat(schema), false, what);
    assert.equal(encodeFlatParquet(new arrow.Table(schema)), undefined, what);
  }
  const table = createArrowTable(FLAT, edgeRows(3));
  assert.equal(canEncodeFlat(table.schema), true);
  for (const compression of ["snappy", "gzip", "lz4_raw"] as const) {
    assert.equal(encodeFlatParquet(table, { compression }), undefined, compression);
  }
  assert.equal(encodeFlatParquet(table, { zstdLevel: 1.5 }), undefined);
  assert.equal(encodeFlatParquet(table, { rowGroupRows: 0 }), undefined);
  // A null in a non-nullable field: Parquet's REQUIRED cannot hold it.
  const bad = arrow.makeData({
    type: new arrow.Int32(),
    length: 2,
    nullCount: 1,
    data: new Int32Array([1, 2]),
    nullBitmap: new Uint8Array([1]),
  });
  const schema = new arrow.Schema([new arrow.Field("x", new arrow.Int32(), false)]);
  const withNull = new arrow.Table(
    schema,
    new arrow.RecordBatch(
      schema,
      arrow.makeData({
        type: new arrow.Struct(schema.fields),
        length: 2,
        nullCount: 0,
        children: [bad],
      }),
    ),
  );
  assert.equal(encodeFlatParquet(withNull), undefined);
});

const FLAT_TYPES: DataType[] = [
  "string",
  "binary",
  "long",
  "integer",
  "short",
  "byte",
  "float",
  "double",
  "boolean",
  "date",
  "timestamp",
  "timestamp_ntz",
  "decimal(1,0)",
  "decimal(7,3)",
  "decimal(15,0)",
  "decimal(22,5)",
  "decimal(38,18)",
];

const flatSchemaArb: fc.Arbitrary<StructType> = fc
  .uniqueArray(
    fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/),
      type: fc.constantFrom(...FLAT_TYPES),
      nullable: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6, selector: (x) => x.name },
  )
  .map((fields) => ({
    type: "struct" as const,
    fields: fields.map((x) => ({ ...x, metadata: {} })),
  }));

Deno.test("property: random flat tables read back and keep parquet-wasm's statistics", () => {
  const case_ = flatSchemaArb.chain((schema) =>
    fc.tuple(
      fc.constant(schema),
      fc.array(valueArb(schema, false), { minLength: 0, maxLength: 40, size: "max" }),
      fc.nat(40),
      fc.integer({ min: 1, max: 50 }),
    )
  );
  fc.assert(
    fc.property(case_, ([schema, rows, cut, pageRowsMax]) => {
      const input = rows.map((r) => toInput(schema, r) as Record<string, unknown>);
      const whole = createArrowTable(schema, input);
      const at = Math.min(cut, whole.numRows);
      // Two batches, the second starting at an arbitrary row.
      const table = new arrow.Table(whole.schema, [
        ...whole.slice(0, at).batches,
        ...whole.slice(at).batches,
      ]);
      const ours = encode(table, { pageRowsMax });
      assertReadsBack(ours, whole, schema);
      assert.deepEqual(
        comparableFooter(ours, { pages: false }),
        comparableFooter(writeReference(whole), { pages: false }),
      );
    }),
    { numRuns: 120 },
  );
});

Deno.test("property: truncated string and binary statistics equal parquet-wasm's", () => {
  const schema: StructType = {
    type: "struct",
    fields: [f("s", "string"), f("b", "binary", false)],
  };
  // Characters at the edges of each UTF-8 length, where incrementing may grow or be impossible.
  const char = fc.constantFrom(
    "a",
    "z",
    "\u{7F}",
    "\u{80}",
    "\u{7FF}",
    "\u{800}",
    "\u{D7FF}",
    "\u{E000}",
    "\u{FFFF}",
    "\u{10000}",
    "\u{10FFFF}",
  );
  const byte = fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff);
  const row = fc.record({
    s: fc.option(
      fc.array(char, { minLength: 0, maxLength: 80, size: "max" }).map((cs) => cs.join("")),
    ),
    b: fc.array(byte, { minLength: 0, maxLength: 80, size: "max" }).map((bs) =>
      Uint8Array.from(bs)
    ),
  });
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 6 }), (rows) => {
      const table = createArrowTable(schema, rows);
      const ours = encode(table, { compression: "uncompressed" });
      const theirs = writeReference(table, { compression: "uncompressed" });
      assert.deepEqual(
        comparableFooter(ours, { pages: true }),
        comparableFooter(theirs, { pages: true }),
      );
      assert.deepEqual(pageIndexes(ours), pageIndexes(theirs));
    }),
    { numRuns: 300 },
  );
});
