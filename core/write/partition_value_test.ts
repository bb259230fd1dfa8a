import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { formatTimestampMicros, serializePartitionValue } from "./partition_value.ts";
import type { DataType } from "../schema/types.ts";

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
