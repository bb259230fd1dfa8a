import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import {
  DATE_DAYS_MAX,
  DATE_DAYS_MIN,
  TIMESTAMP_MICROS_MAX,
  TIMESTAMP_MICROS_MIN,
} from "../values/calendar.ts";
import { parsePartitionValue } from "../scan/partition_value.ts";
import type { DataType } from "../schema/types.ts";
import {
  formatTimestampMicros,
  PartitionTextError,
  serializePartitionValue,
} from "./partition_value.ts";

function all(vector: arrow.Vector, type: DataType): (string | null)[] {
  const out: (string | null)[] = [];
  for (const d of vector.data) {
    for (let i = 0; i < d.length; i++) out.push(serializePartitionValue(d, i, type));
  }
  return out;
}

Deno.test("serializePartitionValue: strings, empty strings and nulls", () => {
  const v = arrow.vectorFromArray(["a/b", "", null, "ü"], new arrow.Utf8());
  assert.deepEqual(all(v, "string"), ["a/b", null, null, "ü"]);
});

Deno.test("serializePartitionValue: integers of every width, longs beyond 2^53", () => {
  assert.deepEqual(all(arrow.vectorFromArray([-1, 127, null], new arrow.Int8()), "byte"), [
    "-1",
    "127",
    null,
  ]);
  assert.deepEqual(all(arrow.vectorFromArray([-32768], new arrow.Int16()), "short"), ["-32768"]);
  assert.deepEqual(all(arrow.vectorFromArray([2147483647], new arrow.Int32()), "integer"), [
    "2147483647",
  ]);
  const longs = arrow.vectorFromArray([9007199254740993n, -5n], new arrow.Int64());
  assert.deepEqual(all(longs, "long"), ["9007199254740993", "-5"]);
});

Deno.test("serializePartitionValue: booleans, floats, doubles", () => {
  assert.deepEqual(all(arrow.vectorFromArray([true, false, null], new arrow.Bool()), "boolean"), [
    "true",
    "false",
    null,
  ]);
  assert.deepEqual(all(arrow.vectorFromArray([1.5, -0.25], new arrow.Float64()), "double"), [
    "1.5",
    "-0.25",
  ]);
  assert.deepEqual(all(arrow.vectorFromArray([0.5], new arrow.Float32()), "float"), ["0.5"]);
});

Deno.test("serializePartitionValue: dates, timestamps keep microseconds", () => {
  const dates = arrow.vectorFromArray([0, 19_723 * 86_400_000, -86_400_000], new arrow.DateDay());
  assert.deepEqual(all(dates, "date"), ["1970-01-01", "2024-01-01", "1969-12-31"]);
  const micros = BigInt64Array.from([1_704_067_200_123_456n, -1n]);
  const ts = arrow.makeVector(
    arrow.makeData({ type: new arrow.TimestampMicrosecond("UTC"), length: 2, data: micros }),
  );
  assert.deepEqual(all(ts, "timestamp"), [
    "2024-01-01T00:00:00.123456Z",
    "1969-12-31T23:59:59.999999Z",
  ]);
  const ntz = arrow.makeVector(
    arrow.makeData({ type: new arrow.TimestampMicrosecond(), length: 2, data: micros }),
  );
  assert.deepEqual(all(ntz, "timestamp_ntz"), [
    "2024-01-01 00:00:00.123456",
    "1969-12-31 23:59:59.999999",
  ]);
  assert.equal(formatTimestampMicros(0n, false), "1970-01-01 00:00:00.000000");
});

Deno.test("serializePartitionValue: decimals with scale and sign, binary as escaped chars", () => {
  const words = new Uint32Array([
    12345,
    0,
    0,
    0,
    0xffffffff - 122,
    0xffffffff,
    0xffffffff,
    0xffffffff,
    5,
    0,
    0,
    0,
  ]);
  const dec = arrow.makeVector(
    arrow.makeData({ type: new arrow.Decimal(2, 10, 128), length: 3, data: words }),
  );
  assert.deepEqual(all(dec, "decimal(10,2)"), ["123.45", "-1.23", "0.05"]);
  const bin = arrow.vectorFromArray([new Uint8Array([1, 2, 65])], new arrow.Binary());
  assert.deepEqual(all(bin, "binary"), ["\u0001\u0002A"]);
});

Deno.test("serializePartitionValue: respects slices (offsets and validity)", () => {
  const v = arrow.vectorFromArray([null, "x", "y", null, "z"], new arrow.Utf8()).slice(1, 4);
  assert.deepEqual(all(v, "string"), ["x", "y", null]);
  const b = arrow.vectorFromArray([true, false, true, null, false], new arrow.Bool()).slice(2);
  assert.deepEqual(all(b, "boolean"), ["true", null, "false"]);
});

Deno.test("serializePartitionValue: refuses nested types", () => {
  const v = arrow.vectorFromArray(
    [[1]],
    new arrow.List(new arrow.Field("element", new arrow.Int32())),
  );
  assert.throws(
    () =>
      serializePartitionValue(v.data[0]!, 0, {
        type: "array",
        elementType: "integer",
        containsNull: true,
      }),
    /not a primitive type/,
  );
});

const days = (d: number[]) =>
  arrow.makeVector(
    arrow.makeData({ type: new arrow.DateDay(), length: d.length, data: Int32Array.from(d) }),
  );
const micros = (m: bigint[], zone?: string) =>
  arrow.makeVector(
    arrow.makeData({
      type: new arrow.TimestampMicrosecond(zone),
      length: m.length,
      data: BigInt64Array.from(m),
    }),
  );

Deno.test("serializePartitionValue: refuses dates and timestamps outside 0001-01-01 .. 9999-12-31", () => {
  // The issue: 2147483647 wrote date=0NaN-NaN-NaN, 3,000,000 wrote date=10183-09-21.
  for (const d of [2_147_483_647, 3_000_000, 2_932_897, -719_163, -2_147_483_648]) {
    assert.throws(() => all(days([d]), "date"), PartitionTextError, `${d}`);
  }
  assert.deepEqual(all(days([-719_162, 2_932_896]), "date"), ["0001-01-01", "9999-12-31"]);
  for (
    const m of [9_000_000_000_000_000_000n, TIMESTAMP_MICROS_MAX + 1n, TIMESTAMP_MICROS_MIN - 1n]
  ) {
    assert.throws(() => all(micros([m], "UTC"), "timestamp"), PartitionTextError, `${m}`);
    assert.throws(() => all(micros([m]), "timestamp_ntz"), PartitionTextError, `${m}`);
  }
  assert.deepEqual(all(micros([TIMESTAMP_MICROS_MIN, TIMESTAMP_MICROS_MAX], "UTC"), "timestamp"), [
    "0001-01-01T00:00:00.000000Z",
    "9999-12-31T23:59:59.999999Z",
  ]);
});

Deno.test("serializePartitionValue: refuses rows past their buffers, invalid UTF-8, binary above 0x7F", () => {
  // A date buffer shorter than its rows was read from padding and committed.
  const short = arrow.makeData({ type: new arrow.DateDay(), length: 4, data: Int32Array.of(7) });
  assert.equal(serializePartitionValue(short, 0, "date"), "1970-01-08");
  assert.throws(() => serializePartitionValue(short, 1, "date"), /past the end/);
  const shortDouble = arrow.makeData({
    type: new arrow.Float64(),
    length: 2,
    data: Float64Array.of(1),
  });
  assert.throws(() => serializePartitionValue(shortDouble, 1, "double"), /past the end/); // not "NaN"
  const utf8 = arrow.makeData({
    type: new arrow.Utf8(),
    length: 1,
    valueOffsets: Int32Array.of(0, 2),
    data: Uint8Array.of(0xc3, 0x28),
  });
  assert.throws(() => serializePartitionValue(utf8, 0, "string"), /UTF-8/);
  const bin = arrow.vectorFromArray([Uint8Array.of(0x41, 0xe9)], new arrow.Binary());
  assert.throws(() => all(bin, "binary"), /0x7F/);
});

Deno.test("property: a date or timestamp partition value round-trips through its text, or is refused", () => {
  const roundTrip = (run: () => string | null, parse: (s: string) => unknown, value: unknown) => {
    let text: string | null;
    try {
      text = run();
    } catch (e) {
      assert.ok(e instanceof PartitionTextError, String(e));
      return false;
    }
    assert.ok(text !== null);
    assert.equal(parse(text), value, text);
    return true;
  };
  fc.assert(
    fc.property(fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }), (d) => {
      const ok = roundTrip(
        () => all(days([d]), "date")[0]!,
        (s) => parsePartitionValue(s, "date"),
        d,
      );
      assert.equal(ok, d >= DATE_DAYS_MIN && d <= DATE_DAYS_MAX);
    }),
    { numRuns: 500 },
  );
  const near = fc.bigInt({
    min: TIMESTAMP_MICROS_MIN - 10n ** 12n,
    max: TIMESTAMP_MICROS_MAX + 10n ** 12n,
  });
  fc.assert(
    fc.property(
      fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), near),
      fc.boolean(),
      (m, utc) => {
        const type = utc ? "timestamp" : "timestamp_ntz";
        const ok = roundTrip(
          () => all(micros([m], utc ? "UTC" : undefined), type)[0]!,
          (s) => parsePartitionValue(s, type),
          m,
        );
        assert.equal(ok, m >= TIMESTAMP_MICROS_MIN && m <= TIMESTAMP_MICROS_MAX);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("property: a string, long or double partition value round-trips through its text", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }), (s) => {
      const v = arrow.vectorFromArray([s], new arrow.Utf8());
      assert.equal(parsePartitionValue(all(v, "string")[0], "string"), s);
    }),
  );
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
      const v = arrow.vectorFromArray([n], new arrow.Int64());
      assert.equal(parsePartitionValue(all(v, "long")[0], "long"), n);
    }),
  );
  fc.assert(
    fc.property(fc.double(), (x) => {
      const v = arrow.vectorFromArray([x], new arrow.Float64());
      assert.ok(Object.is(parsePartitionValue(all(v, "double")[0], "double"), x === 0 ? 0 : x));
    }),
  );
});
