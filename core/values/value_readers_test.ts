import assert from "node:assert/strict";
import fc from "fast-check";
import { TIMESTAMP_MICROS_MAX } from "./calendar.ts";
import { describeValue, readInteger, VALUE_READERS } from "./value_readers.ts";

const r = VALUE_READERS;

Deno.test("property: a reader answers a value or a reason for anything, never throws", () => {
  fc.assert(fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true }), (v) => {
    r.long(v);
    r.float(v, "float");
    r.float(v, "double");
    r.date(v);
    r.timestamp(v, false);
    r.timestamp(v, true);
    r.decimal(v, 10, 2);
    r.binary(v);
    readInteger(v, "short");
    describeValue(v);
  }));
});

Deno.test("numeric timestamps are epoch microseconds; text, Dates and bigints mean the same", () => {
  const micros = 1_704_067_200_000_001;
  assert.equal(r.timestamp(micros, false), micros);
  assert.equal(r.timestamp(BigInt(micros), false), BigInt(micros));
  assert.equal(r.timestamp("2024-01-01T00:00:00.000001Z", false), micros);
  assert.equal(r.timestamp("2024-01-01 00:00:00.000001", true), micros);
  assert.equal(r.timestamp(new Date(Date.UTC(2024, 0, 1)), false), micros - 1);
  assert.equal(r.timestamp(TIMESTAMP_MICROS_MAX, false), TIMESTAMP_MICROS_MAX);
  assert.match(String(r.timestamp(TIMESTAMP_MICROS_MAX + 1n, false)), /outside 0001-01-01/);
  assert.match(String(r.timestamp(new Date(Date.UTC(10000, 0, 1)), false)), /outside/);
  assert.match(String(r.timestamp(1.5, false)), /epoch microseconds/);
  assert.match(String(r.timestamp("2024-01-01T00:00:00Z", true)), /without a zone offset/);
  assert.match(String(r.timestamp(new Date(NaN), false)), /expected timestamp/);
});

Deno.test("the other readers: what each accepts and why it refuses", () => {
  assert.equal(r.long(2 ** 53 - 1), 2 ** 53 - 1);
  assert.equal(r.long("-9223372036854775808"), -(2n ** 63n));
  assert.match(String(r.long(2 ** 53)), /not a safe integer/);
  assert.match(String(r.long(2n ** 63n)), /out of range for long/);
  assert.match(String(r.long("1.0")), /expected long/);
  assert.equal(r.float(1e39, "double"), 1e39);
  assert.equal(r.float(Infinity, "float"), Infinity);
  assert.equal(r.float("-Infinity", "float"), -Infinity);
  assert.match(String(r.float(3.5e38, "float")), /out of range for float/);
  assert.equal(r.date("1970-01-11"), 10);
  assert.equal(r.date(new Date(Date.UTC(1970, 0, 11, 23))), 10);
  assert.match(String(r.date(2_932_897)), /outside 0001-01-01 \.\. 9999-12-31/);
  assert.match(String(r.date("0000-12-31")), /outside/);
  assert.match(String(r.date("2023-02-29")), /expected date "YYYY-MM-DD"/);
  assert.equal(r.decimal(1500n, 4, 3), 1500n);
  assert.equal(r.decimal(-0.001, 4, 3), -1);
  assert.equal(r.decimal("1.50", 4, 3), 1500);
  assert.match(String(r.decimal(10000n, 4, 3)), /does not fit decimal\(4,3\)/);
  assert.match(String(r.decimal(NaN, 4, 3)), /expected decimal\(4,3\)/);
  assert.deepEqual(r.binary(Uint8Array.of(1)), Uint8Array.of(1));
  assert.match(String(r.binary("AQ==")), /Uint8Array/);
  assert.equal(readInteger(-32768, "short"), -32768);
  assert.match(String(readInteger(32768, "short")), /out of range for short/);
  assert.match(String(readInteger(1.5, "integer")), /expected integer, got 1\.5/);
});
