import assert from "node:assert/strict";
import fc from "fast-check";
import { VALUE_READERS } from "../core/values/mod.ts";
import { decodeBase64, epochMillisToMicros, JSON_VALUE_READERS } from "./json_values.ts";

Deno.test("numeric timestamps: epoch milliseconds on the wire, epoch microseconds in the library", () => {
  assert.equal(JSON_VALUE_READERS.timestamp(1, false), 1000);
  assert.equal(VALUE_READERS.timestamp(1, false), 1);
  assert.equal(JSON_VALUE_READERS.timestamp(1704067200000.5, true), 1704067200000500);
  // Text means the same on both paths.
  const text = "2024-01-01T00:00:00.000001Z";
  assert.equal(JSON_VALUE_READERS.timestamp(text, false), VALUE_READERS.timestamp(text, false));
  assert.match(String(JSON_VALUE_READERS.timestamp(true, false)), /epoch milliseconds/);
  // Beyond 2^53 microseconds (about the year 2255) a number is no timestamp in milliseconds.
  assert.match(String(JSON_VALUE_READERS.timestamp(1e16, false)), /in epoch milliseconds/);
});

Deno.test("epochMillisToMicros keeps the fraction the client wrote", () => {
  fc.assert(
    fc.property(
      // Below 2^43 ms (year 2248) a double spaces its values less than 1 µs apart, so the
      // client's three decimals survive JSON.parse; at 2^43 they are 2 µs apart and ".001" reads
      // as ".002" before any code of ours runs (seed 41370928 drew exactly 2^43).
      fc.integer({ min: -(2 ** 43) + 1, max: 2 ** 43 - 1 }),
      fc.integer({ min: 0, max: 999 }),
      (ms, micros) => {
        const text = `${ms}.${String(micros).padStart(3, "0")}`;
        const expected = ms * 1000 + (ms < 0 || Object.is(ms, -0) ? -micros : micros);
        assert.equal(epochMillisToMicros(Number(text)), expected, text);
      },
    ),
  );
  assert.equal(epochMillisToMicros(Number("8796093022207.999")), 8796093022207999);
  assert.equal(epochMillisToMicros(Infinity), undefined);
  assert.equal(epochMillisToMicros(2 ** 60), undefined);
});

Deno.test("JSON floats: non-finite numbers are JSON overflow, the special values are strings", () => {
  assert.match(String(JSON_VALUE_READERS.float(Infinity, "double")), /out of range for double/);
  assert.match(String(JSON_VALUE_READERS.float(-Infinity, "float")), /out of range for float/);
  assert.equal(JSON_VALUE_READERS.float("-Infinity", "double"), -Infinity);
  assert.ok(Number.isNaN(JSON_VALUE_READERS.float("NaN", "float")));
  assert.match(String(JSON_VALUE_READERS.float(1e39, "float")), /1e\+39 is out of range for float/);
});

Deno.test("JSON binary is strict base64", () => {
  assert.deepEqual(decodeBase64(""), new Uint8Array());
  assert.deepEqual([...decodeBase64("/w==")!], [255]);
  for (const bad of ["A", "A===", "@@@@", "AQI"]) assert.equal(decodeBase64(bad), undefined, bad);
  assert.deepEqual(JSON_VALUE_READERS.binary("AQID"), Uint8Array.of(1, 2, 3));
  assert.match(String(JSON_VALUE_READERS.binary(Uint8Array.of(1))), /expected base64 string/);
});
