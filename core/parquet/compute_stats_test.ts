import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import type { StructType } from "../schema/types.ts";
import {
  type ColumnBounds,
  compareBytes,
  computeStats,
  type FileStats,
  JsonNumber,
  statsFromBounds,
  statsToJson,
  type StatsValues,
  truncateMax,
  truncateMin,
} from "./compute_stats.ts";
import { createArrowTable } from "./create_arrow_table.ts";
import { toInput, valueArb, withDuckDB } from "./test_util.ts";
import { writeParquetFile } from "./write_parquet_file.ts";

const f = (name: string, type: StructType["fields"][number]["type"], nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});
const enc = new TextEncoder();

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATS_SCHEMA: StructType = {
  type: "struct",
  fields: [
    f("i", "integer"),
    f("l", "long"),
    f("sh", "short"),
    f("by", "byte"),
    f("fl", "float"),
    f("db", "double"),
    f("s", "string"),
    f("dt", "date"),
    f("ts", "timestamp"),
    f("ntz", "timestamp_ntz"),
    f("dec", "decimal(20,3)"),
    f("st", { type: "struct", fields: [f("x", "integer"), f("y", "string", false)] }),
    f("bo", "boolean"),
    f("bi", "binary"),
    f("arr", { type: "array", elementType: "integer", containsNull: true }),
    f("mp", { type: "map", keyType: "string", valueType: "string", valueContainsNull: true }),
    f("allnull", "double"),
  ],
};

const ALPHABET = ["a", "z", "é", "\uFFFF", "😀", "𝄞", "\u{10FFFF}", "中", "A", " "];

function randomRows(seed: number, n: number): Record<string, unknown>[] {
  const r = mulberry32(seed);
  const maybe = <T>(v: () => T) => (r() < 0.15 ? null : v());
  const str = () => {
    const len = Math.floor(r() * (r() < 0.2 ? 60 : 10));
    let s = "";
    for (let k = 0; k < len; k++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s;
  };
  return Array.from({ length: n }, () => ({
    i: maybe(() => Math.floor((r() - 0.5) * 2 ** 32)),
    l: maybe(() => BigInt(Math.floor((r() - 0.5) * 2 ** 53)) * 1024n),
    sh: maybe(() => Math.floor((r() - 0.5) * 65535)),
    by: maybe(() => Math.floor((r() - 0.5) * 255)),
    fl: maybe(() => Math.fround((r() - 0.5) * 1e6)),
    db: maybe(() => (r() < 0.05 ? NaN : (r() - 0.5) * 1e12)),
    s: maybe(str),
    dt: maybe(() => Math.floor((r() - 0.5) * 40000)),
    ts: maybe(() => BigInt(Math.floor((r() - 0.3) * 4e15))),
    ntz: maybe(() => BigInt(Math.floor((r() - 0.3) * 4e15))),
    dec: maybe(() =>
      BigInt(Math.floor((r() - 0.5) * 1e15)) * 1000n + BigInt(Math.floor(r() * 1000))
    ),
    st: maybe(() => ({ x: maybe(() => Math.floor(r() * 100)), y: str() })),
    bo: maybe(() => r() < 0.5),
    bi: maybe(() => new Uint8Array([Math.floor(r() * 256)])),
    arr: maybe(() => [1, null]),
    mp: maybe(() => ({ k: "v" })),
    allnull: null,
  }));
}

function tsMicros(text: string): bigint {
  // DuckDB text: "2024-01-02 03:04:05.123456+00" or without zone.
  const m = /^(-?\d+-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(text)!;
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  return BigInt(ms) * 1000n + BigInt((m[3] ?? "").padEnd(6, "0"));
}

function isoMicros(iso: string): bigint {
  return BigInt(Date.parse(iso.endsWith("Z") ? iso : `${iso}Z`)) * 1000n;
}

Deno.test("computeStats agrees with DuckDB min/max/null counts (modulo truncation and rounding)", async () => {
  // Two record batches, to exercise chunked columns.
  const table = createArrowTable(STATS_SCHEMA, randomRows(1, 1500)).concat(
    createArrowTable(STATS_SCHEMA, randomRows(2, 1500)),
  );
  assert.equal(table.batches.length, 2);
  const stats = computeStats(table, STATS_SCHEMA, { numIndexedCols: -1 });
  assert.equal(stats.numRecords, 3000);
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  await Deno.writeFile(path, writeParquetFile(table));
  try {
    await withDuckDB(async (q) => {
      const leaves = [
        "i",
        "l",
        "sh",
        "by",
        "fl",
        "db",
        "s",
        "dt",
        "ts",
        "ntz",
        "dec",
        "st.x",
        "st.y",
        "bo",
        "bi",
        "arr",
        "mp",
        "allnull",
      ];
      for (const c of leaves) {
        const col = c.split(".").map((p) => `"${p}"`).join(".");
        const where = c === "db" || c === "fl" ? `WHERE NOT isnan(${col})` : "";
        const [mm] = await q(
          `SELECT min(${col}) AS mn, max(${col}) AS mx FROM read_parquet('${path}') ${where}`,
        );
        const [nc] = await q(`SELECT count(*) - count(${col}) AS n FROM read_parquet('${path}')`);
        const get = (o: unknown) =>
          c.split(".").reduce(
            (x: unknown, k) => (x as Record<string, unknown> | undefined)?.[k],
            o,
          );
        assert.equal(get(stats.nullCount), Number(nc!.n), `nullCount ${c}`);
        const mn = get(stats.minValues);
        const mx = get(stats.maxValues);
        if (["bo", "bi", "arr", "mp", "allnull"].includes(c)) {
          assert.equal(mn, undefined, c);
          assert.equal(mx, undefined, c);
          continue;
        }
        const dmn = mm!.mn as string | number;
        const dmx = mm!.mx as string | number;
        if (c === "s" || c === "st.y") {
          assert.equal(mn, truncateMin(String(dmn), 32), `min ${c}`);
          assert.equal(mx, truncateMax(String(dmx), 32), `max ${c}`);
          assert.ok(compareBytes(enc.encode(mx as string), enc.encode(String(dmx))) >= 0);
          assert.ok(compareBytes(enc.encode(mn as string), enc.encode(String(dmn))) <= 0);
        } else if (c === "ts" || c === "ntz") {
          assert.equal((mn as string).endsWith("Z"), c === "ts");
          const [lo, hi] = [isoMicros(mn as string), isoMicros(mx as string)];
          const [dlo, dhi] = [tsMicros(String(dmn)), tsMicros(String(dmx))];
          assert.ok(lo <= dlo && dlo - lo < 1000n, `min ${c}: ${mn} vs ${dmn}`);
          assert.ok(hi >= dhi && hi - dhi < 1000n, `max ${c}: ${mx} vs ${dmx}`);
        } else if (c === "dec") {
          assert.equal((mn as JsonNumber).text, dmn, "min dec");
          assert.equal((mx as JsonNumber).text, dmx, "max dec");
        } else if (c === "l") {
          assert.equal(String(mn), dmn);
          assert.equal(String(mx), dmx);
        } else {
          assert.equal(mn, c === "dt" ? dmn : Number(dmn), `min ${c}`);
          assert.equal(mx, c === "dt" ? dmx : Number(dmx), `max ${c}`);
        }
      }
    });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("strings compare by UTF-8 bytes and truncate to valid bounds", () => {
  const schema: StructType = { type: "struct", fields: [f("s", "string")] };
  // UTF-16 puts "😀" (D83D) before "\uFFFF"; UTF-8 puts it after (F0 > EF).
  const s1 = computeStats(createArrowTable(schema, [{ s: "\uFFFF" }, { s: "😀" }]), schema);
  assert.deepEqual(s1.minValues, { s: "\uFFFF" });
  assert.deepEqual(s1.maxValues, { s: "😀" });
  const long = "😀".repeat(40);
  const s2 = computeStats(createArrowTable(schema, [{ s: long }, { s: "a" }]), schema);
  assert.equal(s2.minValues.s, "a");
  assert.equal(s2.maxValues.s, "😀".repeat(32) + "\u{10FFFF}");
  const s3 = computeStats(createArrowTable(schema, [{ s: long }]), schema, {
    stringPrefixLength: 3,
  });
  assert.equal(s3.minValues.s, "😀😀😀");
  assert.equal(truncateMax("ab\u{10FFFF}\u{10FFFF}c", 2), "ab\u{10FFFF}\u{10FFFF}\u{10FFFF}");
  assert.equal(truncateMax("ab\u{10FFFF}\u{10FFFF}", 2), "ab\u{10FFFF}\u{10FFFF}");
  assert.equal(truncateMax("abc", 3), "abc");
});

Deno.test("property: string bounds hold for every value in UTF-8 order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "binary", maxLength: 50 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 40 }),
      (values, prefix) => {
        const clean = values.map((v) => v.toWellFormed());
        const schema: StructType = { type: "struct", fields: [f("s", "string")] };
        const stats = computeStats(createArrowTable(schema, clean.map((s) => ({ s }))), schema, {
          stringPrefixLength: prefix,
        });
        const min = enc.encode(stats.minValues.s as string);
        const max = enc.encode(stats.maxValues.s as string);
        for (const v of clean) {
          assert.ok(compareBytes(min, enc.encode(v)) <= 0);
          assert.ok(compareBytes(enc.encode(v), max) <= 0);
        }
      },
    ),
  );
});

Deno.test("timestamps: min rounds down and max up to the millisecond; dates and ntz format", () => {
  const schema: StructType = {
    type: "struct",
    fields: [f("ts", "timestamp"), f("ntz", "timestamp_ntz"), f("d", "date")],
  };
  const table = createArrowTable(schema, [
    { ts: 1704164645123456n, ntz: -1500n, d: "2024-01-02" },
    { ts: 1704164645124000n, ntz: -1000n, d: -1 },
  ]);
  const s = computeStats(table, schema);
  assert.deepEqual(s.minValues, {
    ts: "2024-01-02T03:04:05.123Z",
    ntz: "1969-12-31T23:59:59.998",
    d: "1969-12-31",
  });
  assert.deepEqual(s.maxValues, {
    ts: "2024-01-02T03:04:05.124Z",
    ntz: "1969-12-31T23:59:59.999",
    d: "2024-01-02",
  });
});

Deno.test("floats: NaN is skipped, infinite bounds are left out; all-null columns have no bounds", () => {
  const schema: StructType = {
    type: "struct",
    fields: [f("a", "double"), f("b", "double"), f("c", "float"), f("n", "integer")],
  };
  const table = createArrowTable(schema, [
    { a: NaN, b: -Infinity, c: 0.1, n: null },
    { a: 2, b: 5, c: -0.5, n: null },
  ]);
  const s = computeStats(table, schema);
  assert.deepEqual(s.minValues, { a: 2, c: -0.5 });
  assert.deepEqual(s.maxValues, { a: 2, b: 5, c: Math.fround(0.1) });
  assert.deepEqual(s.nullCount, { a: 0, b: 0, c: 0, n: 2 });
});

Deno.test("numIndexedCols counts leaves in schema order through nested structs", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      f("a", "integer"),
      f("s", { type: "struct", fields: [f("x", "integer"), f("y", "integer")] }),
      f("b", "integer"),
    ],
  };
  const table = createArrowTable(schema, [{ a: 1, s: { x: 2, y: 3 }, b: 4 }, {
    a: 5,
    s: null,
    b: 6,
  }]);
  const keys = (n: number) => {
    const st = computeStats(table, schema, { numIndexedCols: n });
    return [st.nullCount, st.minValues];
  };
  assert.deepEqual(keys(0), [{}, {}]);
  assert.deepEqual(keys(2), [{ a: 0, s: { x: 1 } }, { a: 1, s: { x: 2 } }]);
  assert.deepEqual(keys(32), [{ a: 0, s: { x: 1, y: 1 }, b: 0 }, {
    a: 1,
    s: { x: 2, y: 3 },
    b: 4,
  }]);
  assert.deepEqual(keys(-1), keys(32));
  assert.deepEqual(computeStats(table, schema).maxValues, { a: 5, s: { x: 2, y: 3 }, b: 6 });
});

Deno.test("column mapping: stats keyed by physical name, table by either name", () => {
  const schema: StructType = {
    type: "struct",
    fields: [{
      name: "Amount",
      type: "decimal(10,2)",
      nullable: true,
      metadata: { "delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-1" },
    }],
  };
  const rows = [{ Amount: "-12.5" }, { Amount: 3n }, { Amount: null }];
  for (const physicalNames of [true, false]) {
    const table = createArrowTable(schema, rows, { physicalNames });
    assert.equal(table.schema.fields[0]!.name, physicalNames ? "col-1" : "Amount");
    const s = computeStats(table, schema, { physicalNames: true });
    assert.equal(
      statsToJson(s),
      '{"numRecords":3,"minValues":{"col-1":-12.50},"maxValues":{"col-1":0.03},"nullCount":{"col-1":1}}',
    );
    const logical = computeStats(table, schema);
    assert.deepEqual(Object.keys(logical.nullCount), ["Amount"]);
  }
});

Deno.test("statsToJson writes exact numbers and parses back", () => {
  const stats: FileStats = {
    numRecords: 2,
    minValues: { l: -9223372036854775808n, d: new JsonNumber("-0.001"), s: 'q"\\', n: { x: 1.5 } },
    maxValues: { l: 9007199254740993n, d: new JsonNumber("12"), s: "z", n: { x: 2 } },
    nullCount: { l: 0, d: 0, s: 1, n: { x: 0 } },
  };
  const json = statsToJson(stats);
  assert.equal(
    json,
    '{"numRecords":2,"minValues":{"l":-9223372036854775808,"d":-0.001,"s":"q\\"\\\\","n":{"x":1.5}},' +
      '"maxValues":{"l":9007199254740993,"d":12,"s":"z","n":{"x":2}},"nullCount":{"l":0,"d":0,"s":1,"n":{"x":0}}}',
  );
  const parsed = JSON.parse(json) as { minValues: StatsValues };
  assert.equal(parsed.minValues.s, 'q"\\');
});

Deno.test("timestamps of other Arrow units are converted before formatting", () => {
  const schema: StructType = { type: "struct", fields: [f("ts", "timestamp")] };
  const type = new arrow.TimestampNanosecond("UTC");
  const data = arrow.makeData({
    type,
    length: 2,
    nullCount: 0,
    data: new BigInt64Array([1704164645123456789n, 1704164645123000000n]),
  });
  const table = new arrow.Table({ ts: arrow.makeVector(data) });
  const s = computeStats(table, schema);
  assert.deepEqual(s.minValues, { ts: "2024-01-02T03:04:05.123Z" });
  assert.deepEqual(s.maxValues, { ts: "2024-01-02T03:04:05.124Z" });
});

/** Every primitive type, each column nullable. */
const FLAT_FIELDS =
  (["integer", "long", "short", "byte", "float", "double", "string", "date"] as const)
    .map((t) => f(`c_${t}`, t))
    .concat([
      f("c_ts", "timestamp"),
      f("c_ntz", "timestamp_ntz"),
      f("c_dec", "decimal(38,10)"),
      f("c_small_dec", "decimal(5,2)"),
      f("c_bool", "boolean"),
      f("c_bin", "binary"),
    ]);

/** The bounds of canonical values (`valueArb`), found the plain way: NaN skipped, UTF-8 order. */
function naiveBounds(values: readonly unknown[]): ColumnBounds {
  const b: ColumnBounds = { nullCount: 0 };
  const less = (x: unknown, y: unknown) =>
    typeof x === "string"
      ? compareBytes(enc.encode(x), enc.encode(y as string)) < 0
      : (x as number) < (y as number);
  for (const v of values) {
    if (v === null) {
      b.nullCount++;
      continue;
    }
    if (typeof v === "boolean" || Array.isArray(v) || Number.isNaN(v)) continue;
    const x = v as number | bigint | string;
    if (b.min === undefined || less(x, b.min)) b.min = x;
    if (b.max === undefined || less(b.max, x)) b.max = x;
  }
  return b;
}

Deno.test("property: statsFromBounds of a file's bounds equals computeStats of its rows", () => {
  const rowArb = fc.record(
    Object.fromEntries(FLAT_FIELDS.map((x) => [x.name, valueArb(x.type, true)])),
  );
  fc.assert(
    fc.property(
      fc.array(rowArb, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: -1, max: FLAT_FIELDS.length + 1 }),
      fc.integer({ min: 1, max: 40 }),
      (rows, numIndexedCols, stringPrefixLength) => {
        const schema: StructType = { type: "struct", fields: FLAT_FIELDS };
        const input = rows.map((r) =>
          Object.fromEntries(FLAT_FIELDS.map((x) => [x.name, toInput(x.type, r[x.name])]))
        );
        const options = { numIndexedCols, stringPrefixLength };
        const want = computeStats(createArrowTable(schema, input), schema, options);
        const bounds = FLAT_FIELDS.map((x) => naiveBounds(rows.map((r) => r[x.name])));
        const got = statsFromBounds(FLAT_FIELDS, rows.length, bounds, options);
        assert.equal(statsToJson(got), statsToJson(want));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("statsFromBounds refuses nested columns and missing bounds", () => {
  assert.throws(
    () => statsFromBounds([f("st", { type: "struct", fields: [] })], 0, [{ nullCount: 0 }]),
    /st is nested/,
  );
  assert.throws(() => statsFromBounds([f("a", "long")], 0, []), /no bounds for a/);
});
