import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { deltaTypeToArrow } from "../core/schema/delta_schema_to_arrow.ts";
import type { DataType, StructType } from "../core/schema/types.ts";
import { createConverter, recordBatchBytes, SchemaViolationError } from "./convert.ts";
import { devSchema, retainedBytes } from "./test_util.ts";

const field = (name: string, type: DataType, nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

const schema: StructType = {
  type: "struct",
  fields: [
    field("b", "boolean"),
    field("i8", "byte"),
    field("i16", "short"),
    field("i32", "integer"),
    field("i64", "long", false),
    field("f32", "float"),
    field("f64", "double"),
    field("s", "string"),
    field("bin", "binary"),
    field("d", "date"),
    field("ts", "timestamp"),
    field("tsn", "timestamp_ntz"),
    field("dec", "decimal(20,3)"),
    field("tags", { type: "array", elementType: "string", containsNull: true }),
    field("attrs", {
      type: "map",
      keyType: "string",
      valueType: "long",
      valueContainsNull: true,
    }),
    field("user", {
      type: "struct",
      fields: [
        field("id", "integer", false),
        field("names", {
          type: "array",
          elementType: "string",
          containsNull: false,
        }),
      ],
    }),
  ],
};

/** Round trip through IPC bytes, as the runner would read them. */
function viaIpc(batches: arrow.RecordBatch[]): arrow.Table {
  const bytes = arrow.tableToIPC(new arrow.Table(batches), "stream");
  return arrow.tableFromIPC(bytes);
}

function raw64(table: arrow.Table, name: string): bigint[] {
  const out: bigint[] = [];
  for (const chunk of table.getChild(name)!.data) {
    const v = chunk.values as BigInt64Array;
    for (let i = 0; i < chunk.length; i++) out.push(v[chunk.offset + i]!);
  }
  return out;
}

function rawDecimal(table: arrow.Table, name: string): bigint[] {
  const out: bigint[] = [];
  for (const chunk of table.getChild(name)!.data) {
    const w = chunk.values as Uint32Array;
    for (let i = 0; i < chunk.length; i++) {
      let u = 0n;
      for (let k = 3; k >= 0; k--) u = (u << 32n) | BigInt(w[4 * (chunk.offset + i) + k]!);
      out.push(BigInt.asIntN(128, u));
    }
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

Deno.test("Arrow types follow the Delta mapping", () => {
  const s = createConverter(schema).arrowSchema;
  const types = Object.fromEntries(s.fields.map((f) => [f.name, String(f.type)]));
  assert.equal(types.ts, "Timestamp<MICROSECOND, UTC>");
  assert.equal(types.tsn, "Timestamp<MICROSECOND>");
  assert.equal(types.d, "Date32<DAY>");
  assert.equal(types.i64, "Int64");
  assert.equal(types.i32, "Int32");
  assert.equal(types.dec, "Decimal[20e+3]");
  assert.equal(types.s, "Utf8");
  assert.equal(types.bin, "Binary");
  assert.equal(s.fields.find((f) => f.name === "i64")?.nullable, false);
});

Deno.test("property: valid events round-trip through Arrow IPC", () => {
  const converter = createConverter(schema);
  const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 4 });
  const int = (min: number, max: number) => nullable(fc.integer({ min, max }));
  const timestamp = fc.record({
    days: fc.integer({ min: -700_000, max: 2_900_000 }), // years ~0054 to ~9909
    secondOfDay: fc.integer({ min: 0, max: 86_399 }),
    micros: fc.integer({ min: 0, max: 999_999 }),
    offsetMinutes: fc.integer({ min: -14 * 60, max: 14 * 60 }),
  });
  const event = fc.record({
    b: nullable(fc.boolean()),
    i8: int(-128, 127),
    i16: int(-32768, 32767),
    i32: int(-2147483648, 2147483647),
    i64: fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => b.toString()),
      fc.maxSafeInteger(),
    ),
    f32: nullable(
      fc.float({ noNaN: true, noDefaultInfinity: true }).map((f) => (Object.is(f, -0) ? 0 : f)),
    ),
    f64: nullable(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((f) => (Object.is(f, -0) ? 0 : f)),
    ),
    s: nullable(fc.string({ unit: "grapheme", maxLength: 20 })),
    bin: nullable(fc.uint8Array({ maxLength: 12 })),
    d: nullable(fc.integer({ min: -700_000, max: 2_900_000 })),
    ts: nullable(timestamp),
    tsn: nullable(fc.integer({ min: -(2 ** 52), max: 2 ** 52 })),
    dec: nullable(fc.bigInt({ min: -(10n ** 20n) + 1n, max: 10n ** 20n - 1n })),
    tags: nullable(fc.array(nullable(fc.string({ maxLength: 5 })), { maxLength: 4 })),
    attrs: nullable(fc.dictionary(fc.string({ maxLength: 4 }), nullable(fc.maxSafeInteger()), {
      maxKeys: 3,
      noNullPrototype: true,
    })),
    user: nullable(fc.record({ id: fc.integer(), names: fc.array(fc.string(), { maxLength: 3 }) })),
  });
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), (events) => {
      // The JSON spelling of each value, as a client would send it.
      const json = events.map((e) => {
        const ts = e.ts;
        let tsText: string | null = null;
        let tsMicros: bigint | null = null;
        if (ts !== null) {
          const utcSeconds = ts.days * 86400 + ts.secondOfDay;
          tsMicros = BigInt(utcSeconds) * 1_000_000n + BigInt(ts.micros);
          const local = new Date((utcSeconds + ts.offsetMinutes * 60) * 1000);
          const off = Math.abs(ts.offsetMinutes);
          tsText = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1, 2)}-${
            pad(local.getUTCDate(), 2)
          }T${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${
            pad(local.getUTCSeconds(), 2)
          }.${pad(ts.micros, 6)}${ts.offsetMinutes < 0 ? "-" : "+"}${
            pad(Math.floor(off / 60), 2)
          }:${pad(off % 60, 2)}`;
        }
        const date = e.d === null ? null : new Date(e.d * 86_400_000).toISOString().slice(0, 10);
        const dec = e.dec === null ? null : (() => {
          const neg = e.dec < 0n;
          const digits = (neg ? -e.dec : e.dec).toString().padStart(4, "0");
          return `${neg ? "-" : ""}${digits.slice(0, -3)}.${digits.slice(-3)}`;
        })();
        return {
          event: {
            ...e,
            bin: e.bin === null ? null : base64(e.bin),
            d: date,
            ts: tsText,
            tsn: e.tsn === null ? null : e.tsn / 1000, // epoch milliseconds with a fraction
            dec,
          },
          tsMicros,
        };
      });
      const body = JSON.stringify(json.map((j) => j.event));
      const table = viaIpc([converter.fromEvents(JSON.parse(body))]);
      assert.equal(table.numRows, events.length);
      const ts = raw64(table, "ts");
      const tsn = raw64(table, "tsn");
      const i64 = raw64(table, "i64");
      const dec = rawDecimal(table, "dec");
      events.forEach((e, r) => {
        const row = table.get(r)!.toJSON();
        assert.equal(row.b, e.b);
        assert.equal(row.i8, e.i8);
        assert.equal(row.i16, e.i16);
        assert.equal(row.i32, e.i32);
        assert.equal(i64[r], BigInt(e.i64));
        assert.equal(row.f32, e.f32 === null ? null : Math.fround(e.f32));
        assert.equal(row.f64, e.f64);
        assert.equal(row.s, e.s);
        assert.deepEqual(
          row.bin === null ? null : [...row.bin],
          e.bin === null ? null : [...e.bin],
        );
        assert.equal(row.d, e.d === null ? null : e.d * 86_400_000);
        if (e.ts === null) assert.equal(row.ts, null);
        else assert.equal(ts[r], json[r]!.tsMicros, json[r]!.event.ts!);
        if (e.tsn === null) assert.equal(row.tsn, null);
        else assert.equal(tsn[r], BigInt(e.tsn));
        if (e.dec === null) assert.equal(row.dec, null);
        else assert.equal(dec[r], e.dec);
        assert.deepEqual(row.tags === null ? null : [...row.tags], e.tags);
        const attrs = row.attrs === null ? null : Object.fromEntries(
          [...row.attrs].map((
            [k, v]: [string, bigint | null],
          ) => [k, v === null ? null : Number(v)]),
        );
        assert.deepEqual(attrs, e.attrs === null ? null : { ...e.attrs });
        if (e.user === null) assert.equal(row.user, null);
        else {
          assert.equal(row.user.id, e.user.id);
          assert.deepEqual([...row.user.names], e.user.names);
        }
      });
      // The same rows sent back as an Arrow IPC body pass the Arrow path unchanged.
      const again = viaIpc(converter.fromArrow(table));
      assert.deepEqual(raw64(again, "ts"), ts);
      assert.deepEqual(rawDecimal(again, "dec"), dec);
      assert.equal(again.numRows, table.numRows);
    }),
    { numRuns: 150 },
  );
});

function violation(events: unknown[], s: StructType = schema, unknown?: "drop") {
  const c = createConverter(s, unknown === undefined ? {} : { unknownFields: unknown });
  try {
    c.fromEvents(events);
  } catch (e) {
    assert.ok(e instanceof SchemaViolationError, String(e));
    return { row: e.row, field: e.field, reason: e.reason };
  }
  return undefined;
}

Deno.test("violations name the row and the field", () => {
  const ok = { i64: 1 };
  const cases: [unknown, string, RegExp][] = [
    [{}, "i64", /missing/],
    [{ i64: null }, "i64", /null/],
    [{ i64: 2 ** 53 }, "i64", /safe integer/],
    [{ i64: "9223372036854775808" }, "i64", /out of range/],
    [{ i64: 1.5 }, "i64", /expected long/],
    [{ ...ok, i8: 128 }, "i8", /out of range/],
    [{ ...ok, i32: "1" }, "i32", /expected integer/],
    [{ ...ok, f32: 1e39 }, "f32", /out of range/],
    [{ ...ok, b: "true" }, "b", /boolean/],
    [{ ...ok, d: "2023-02-29" }, "d", /date/],
    [{ ...ok, d: 1.5 }, "d", /date/],
    [{ ...ok, ts: "2024-13-01T00:00:00Z" }, "ts", /timestamp/],
    [{ ...ok, ts: "yesterday" }, "ts", /timestamp/],
    [{ ...ok, tsn: "2024-01-01T00:00:00Z" }, "tsn", /without a zone/],
    [{ ...ok, dec: "1.2345" }, "dec", /fractional digits/],
    [{ ...ok, dec: "123456789012345678" }, "dec", /integer digits/],
    [{ ...ok, dec: "1,5" }, "dec", /not a decimal/],
    [{ ...ok, bin: "not base64!" }, "bin", /base64/],
    [{ ...ok, tags: "a" }, "tags", /array/],
    [{ ...ok, tags: [1] }, "tags[]", /string/],
    [{ ...ok, attrs: { a: "x" } }, "attrs.value", /long/],
    [{ ...ok, user: { names: [] } }, "user.id", /missing/],
    [{ ...ok, user: { id: 1, names: [null] } }, "user.names[]", /null/],
    [{ ...ok, user: { id: 1, names: [], x: 1 } }, "user.x", /unknown field/],
    [{ ...ok, extra: 1 }, "extra", /unknown field/],
    [{ ...ok, constructor: 1 }, "constructor", /unknown field/],
  ];
  for (const [event, field, reason] of cases) {
    const v = violation([ok, ok, event]);
    assert.ok(v !== undefined, `accepted ${JSON.stringify(event)}`);
    assert.equal(v.row, 2, JSON.stringify(event));
    assert.equal(v.field, field, JSON.stringify(event));
    assert.match(v.reason, reason);
  }
  assert.equal(
    violation([{ ...ok, extra: 1, user: { id: 1, names: [], y: 2 } }], schema, "drop"),
    undefined,
  );
});

Deno.test("accepted spellings of special values", () => {
  const s: StructType = {
    type: "struct",
    fields: [
      field("ts", "timestamp"),
      field("f", "double"),
      field("dec", "decimal(5,2)"),
      field("m", { type: "map", keyType: "integer", valueType: "string", valueContainsNull: true }),
    ],
  };
  const c = createConverter(s);
  const t = viaIpc([c.fromEvents([
    { ts: "2024-01-01", f: "NaN", dec: 1.5, m: [[1, "a"], [2, null]] },
    { ts: "2024-01-01 00:00:00.1234567", f: "-Infinity", dec: "-1.50", m: [] },
    { ts: 1704067200000.5, f: 1, dec: "1e2", m: null },
    { ts: "2024-01-01T01:00:00+01:00", dec: "0.00" },
  ])]);
  assert.deepEqual(raw64(t, "ts"), [
    1704067200000000n,
    1704067200123456n,
    1704067200000500n,
    1704067200000000n,
  ]);
  assert.ok(Number.isNaN(t.get(0)!.toJSON().f));
  assert.equal(t.get(1)!.toJSON().f, -Infinity);
  assert.deepEqual(rawDecimal(t, "dec"), [150n, -150n, 10000n, 0n]);
  assert.deepEqual([...t.get(0)!.toJSON().m], [[1, "a"], [2, null]]);
});

// ---------------------------------------------------------------------------------------------
// What no Delta reader could read back (issue 9, sections 3 and 4)

const dev = { ts: "2026-12-03T17:56:33.687Z", device_id: "x", date: "2026-12-03" };

Deno.test("JSON dates and timestamps outside 0001-01-01 .. 9999-12-31 are refused", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ date: 2147483647 }, "date"], // the reproduction: it wrote date=0NaN-NaN-NaN
    [{ date: 3_000_000 }, "date"], // date=10183-09-21
    [{ date: -719_163 }, "date"], // 0000-12-31
    [{ date: "0000-01-01" }, "date"],
    [{ ts: "0001-01-01T00:30:00+01:00" }, "ts"], // 0000-12-31T23:30Z
    [{ ts: "9999-12-31T23:30:00-01:00" }, "ts"], // 10000-01-01T00:30Z
    [{ tsn: "0000-12-31T23:59:59" }, "tsn"],
  ];
  for (const [patch, fieldName] of cases) {
    const v = violation([dev, { ...dev, ...patch }], devSchema);
    assert.ok(v !== undefined, `accepted ${JSON.stringify(patch)}`);
    assert.equal(v.row, 1);
    assert.equal(v.field, fieldName);
    assert.match(v.reason, /outside 0001-01-01 \.\. 9999-12-31/);
  }
  const bounds = [
    { date: "0001-01-01", ts: "0001-01-01T00:00:00Z", tsn: "0001-01-01T00:00:00" },
    { date: 2_932_896, ts: "9999-12-31T23:59:59.999999Z", tsn: "9999-12-31 23:59:59.999999" },
  ];
  assert.equal(violation(bounds.map((b) => ({ ...dev, ...b })), devSchema), undefined);
});

Deno.test("JSON 1e400 in a double is refused (JSON has no infinity); the string spellings stay", () => {
  for (const text of ["1e400", "-1e400"]) {
    const v = violation(
      JSON.parse(`[{"ts":1,"device_id":"x","date":0,"value_d":${text}}]`),
      devSchema,
    );
    assert.equal(v?.field, "value_d", text);
    assert.match(v?.reason ?? "", /out of range/);
  }
  const c = createConverter(devSchema);
  const batch = c.fromEvents([{ ...dev, value_d: "Infinity" }, { ...dev, value_d: 1e308 }]);
  assert.equal(batch.getChild("value_d")?.get(0), Infinity);
});

Deno.test("a lone surrogate is refused in string values and map keys, not stored as U+FFFD", () => {
  const parse = (s: string) => JSON.parse(s) as unknown[];
  const lone = parse(`[{"ts":1,"device_id":"a\\ud800b","date":0}]`);
  assert.equal(violation(lone, devSchema)?.field, "device_id");
  assert.match(violation(lone, devSchema)?.reason ?? "", /lone surrogate/);
  const key = parse(`[{"ts":1,"device_id":"x","date":0,"attrs":{"\\udc00":1}}]`);
  assert.equal(violation(key, devSchema)?.field, "attrs.key");
  const pairs = parse(`[{"ts":1,"device_id":"x","date":0,"attrs":[["\\ud83d",1]]}]`);
  assert.equal(violation(pairs, devSchema)?.field, "attrs.key");
  // An unknown field name with one is refused as unknown; dropped, it reaches no data.
  const name = parse(`[{"ts":1,"device_id":"x","date":0,"\\ud800":1}]`);
  assert.match(violation(name, devSchema)?.reason ?? "", /unknown field/);
  assert.equal(violation(name, devSchema, "drop"), undefined);
  // A well-formed pair is fine.
  const emoji = createConverter(devSchema).fromEvents(
    parse(`[{"ts":1,"device_id":"\\ud83d\\ude00","date":0}]`),
  );
  assert.equal(emoji.getChild("device_id")?.get(0), "😀");
});

Deno.test("partition values: a directory name over 255 bytes or a value without a text is refused", () => {
  const s: StructType = {
    type: "struct",
    fields: [field("id", "long", false), field("region", "string"), field("day", "date")],
  };
  const c = createConverter(s, { partitionColumns: ["region", "day"] });
  const ok = { id: 1, region: "eu", day: "2024-01-01" };
  // "region=" + 248 characters is 255 bytes: the largest directory name.
  c.fromEvents([ok, { ...ok, region: "x".repeat(248) }]);
  const tooLong = () => c.fromEvents([ok, { ...ok, region: "x".repeat(300) }]);
  assert.throws(
    tooLong,
    (e) =>
      e instanceof SchemaViolationError && e.row === 1 && e.field === "region" &&
      /255/.test(e.reason),
  );
  assert.throws(() => c.fromEvents([ok, { ...ok, region: "é".repeat(125) }]), /255/); // 250 characters, 257 bytes
  // Without the partition columns the same value is plain data.
  createConverter(s).fromEvents([{ ...ok, region: "x".repeat(300) }]);
});

Deno.test("memory: JSON builders keep no spare capacity; the charge covers what is kept", () => {
  const s: StructType = {
    type: "struct",
    fields: [field("id", "long", false), field("text", "string")],
  };
  const text = "a".repeat(1024 * 1024); // reserved three times over while building
  const batch = createConverter(s).fromEvents([{ id: 1, text }, { id: 2 }]);
  const kept = retainedBytes(batch);
  assert.ok(kept < text.length + 1024, `keeps ${kept} bytes for a ${text.length}-byte string`);
  assert.ok(recordBatchBytes(batch) >= kept, `charged ${recordBatchBytes(batch)} of ${kept}`);
});

Deno.test("createConverter: partition columns must be primitive columns of the schema", () => {
  assert.throws(() => createConverter(devSchema, { partitionColumns: ["nope"] }), TypeError);
  assert.throws(() => createConverter(devSchema, { partitionColumns: ["attrs"] }), TypeError);
  createConverter(devSchema, { partitionColumns: ["date", "device_id"] });
});

Deno.test("createConverter refuses types Delta does not allow, though core's Arrow mapping maps them", () => {
  for (const type of ["decimal(39,2)", "decimal(5,6)", "decimal(0,0)", "decimal", "varchar"]) {
    const t = type as DataType;
    const nested: DataType = { type: "array", elementType: t, containsNull: true };
    for (const f of [field("d", t), field("d", nested)]) {
      assert.throws(() => createConverter({ type: "struct", fields: [f] }), TypeError, type);
    }
  }
  assert.equal(String(deltaTypeToArrow("decimal(39,2)")), "Decimal[39e+2]");
  createConverter({ type: "struct", fields: [field("d", "decimal(38,38)")] });
});
