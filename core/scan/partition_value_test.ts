import { deepEqual, equal, throws } from "node:assert/strict";
import { InvalidArgumentError } from "../errors.ts";
import { parsePartitionValue } from "./partition_value.ts";

Deno.test("parsePartitionValue: empty and null are null for every type", () => {
  for (const type of ["string", "integer", "long", "date", "timestamp", "decimal(5,2)"] as const) {
    equal(parsePartitionValue("", type), null);
    equal(parsePartitionValue(null, type), null);
    equal(parsePartitionValue(undefined, type), null);
  }
  equal(parsePartitionValue("null", "string"), "null"); // the string literal stays a string
});

Deno.test("parsePartitionValue: numbers and booleans by their text", () => {
  equal(parsePartitionValue("-128", "byte"), -128);
  equal(parsePartitionValue("32767", "short"), 32767);
  equal(parsePartitionValue("-2147483648", "integer"), -2147483648);
  equal(parsePartitionValue("9223372036854775807", "long"), 9223372036854775807n);
  equal(parsePartitionValue("1.5", "double"), 1.5);
  equal(parsePartitionValue("0.1", "float"), Math.fround(0.1));
  equal(parsePartitionValue("NaN", "double"), NaN);
  equal(parsePartitionValue("-Infinity", "double"), -Infinity);
  equal(parsePartitionValue("true", "boolean"), true);
  equal(parsePartitionValue("false", "boolean"), false);
  throws(() => parsePartitionValue("128", "byte"), InvalidArgumentError);
  throws(() => parsePartitionValue("1.5", "integer"), InvalidArgumentError);
  throws(() => parsePartitionValue("yes", "boolean"), InvalidArgumentError);
});

Deno.test("parsePartitionValue: decimals exactly", () => {
  deepEqual(parsePartitionValue("123.45", "decimal(10,3)"), { unscaled: 123450n, scale: 3 });
  deepEqual(parsePartitionValue("-0.5", "decimal(3,1)"), { unscaled: -5n, scale: 1 });
  deepEqual(parsePartitionValue("12345678901234567890.123456789012345678", "decimal(38,18)"), {
    unscaled: 12345678901234567890123456789012345678n,
    scale: 18,
  });
  deepEqual(parsePartitionValue("1E+3", "decimal(5,0)"), { unscaled: 1000n, scale: 0 });
  throws(() => parsePartitionValue("1.25", "decimal(5,1)"), InvalidArgumentError); // loses a digit
  throws(() => parsePartitionValue("abc", "decimal(5,2)"), InvalidArgumentError);
});

Deno.test("parsePartitionValue: binary is the UTF-8 bytes, dates are days", () => {
  deepEqual(Array.from(parsePartitionValue("é1", "binary") as Uint8Array), [0xc3, 0xa9, 0x31]);
  equal(parsePartitionValue("1970-01-01", "date"), 0);
  equal(parsePartitionValue("2021-09-08", "date"), 18878);
  equal(parsePartitionValue("1969-12-31", "date"), -1);
  equal(parsePartitionValue("9999-12-31", "date"), 2932896);
  throws(() => parsePartitionValue("2021/09/08", "date"), InvalidArgumentError);
});

Deno.test("parsePartitionValue: timestamps as UTC, offsets honoured", () => {
  equal(parsePartitionValue("1970-01-01 00:00:00", "timestamp"), 0n);
  equal(parsePartitionValue("2021-09-08 11:11:11", "timestamp"), 1631099471000000n);
  equal(parsePartitionValue("2020-01-01 08:09:10.001", "timestamp"), 1577866150001000n);
  equal(
    parsePartitionValue("2013-07-05 17:01:00.123456", "timestamp_ntz"),
    1373043660123456n,
  );
  equal(parsePartitionValue("1969-01-01 00:00:00", "timestamp"), -31536000000000n);
  equal(parsePartitionValue("2021-09-08T11:11:11Z", "timestamp"), 1631099471000000n);
  equal(parsePartitionValue("2021-09-08 13:11:11+02:00", "timestamp"), 1631099471000000n);
  equal(parsePartitionValue("2021-09-08 06:11:11-0500", "timestamp"), 1631099471000000n);
  throws(
    () => parsePartitionValue("2021-09-08 13:11:11+02:00", "timestamp_ntz"),
    InvalidArgumentError,
  );
  throws(() => parsePartitionValue("noon", "timestamp"), InvalidArgumentError);
});

Deno.test("parsePartitionValue: a date or time that does not exist is refused, not moved", () => {
  // daysFromCivil counted 2021-02-30 as 2021-03-02.
  throws(() => parsePartitionValue("2021-02-30", "date"), InvalidArgumentError);
  throws(() => parsePartitionValue("2021-02-30 00:00:00", "timestamp"), InvalidArgumentError);
  throws(() => parsePartitionValue("2021-01-01 25:00:00", "timestamp"), InvalidArgumentError);
});

Deno.test("parsePartitionValue: a decimal exponent beyond any precision is an invalid argument", () => {
  // 10^999999999 exceeds the largest BigInt: a RangeError escaped, after seconds of arithmetic.
  throws(() => parsePartitionValue("1e999999999", "decimal(10,2)"), InvalidArgumentError);
});
