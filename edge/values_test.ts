import assert from "node:assert/strict";
import fc from "fast-check";
import {
  daysFromCivil,
  decodeBase64,
  parseDateDays,
  parseDecimal,
  parseTimestamp,
} from "./values.ts";

Deno.test("daysFromCivil agrees with Date.UTC", () => {
  fc.assert(fc.property(fc.integer({ min: -400_000, max: 2_900_000 }), (days) => {
    const d = new Date(days * 86_400_000);
    assert.equal(daysFromCivil(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()), days);
  }));
});

Deno.test("timestamps: offsets, fractions, invalid fields", () => {
  assert.deepEqual(parseTimestamp("2024-02-29T23:59:59.999999-02:30"), {
    seconds: Date.UTC(2024, 2, 1, 2, 29, 59) / 1000,
    micros: 999_999,
    hasOffset: true,
  });
  assert.equal(parseTimestamp("2024-01-01T00:00:00.5")?.micros, 500_000);
  assert.equal(parseTimestamp("2024-01-01T00:00:00.123456789Z")?.micros, 123_456);
  for (const bad of ["2024-01-01T24:00:00Z", "2024-01-01T00:60", "2023-02-29", "2024-1-1", ""]) {
    assert.equal(parseTimestamp(bad), undefined, bad);
  }
  assert.equal(parseDateDays("2024-04-31"), undefined);
});

Deno.test("decimals: scale, precision, exponents, signs", () => {
  assert.equal(parseDecimal("0.10", 3, 2), 10);
  assert.equal(parseDecimal("-0", 3, 2), 0);
  assert.equal(parseDecimal("1.2e1", 4, 2), 1200);
  assert.equal(parseDecimal("1.2300e-1", 4, 3), 123);
  assert.equal(parseDecimal("99999999999999999999", 20, 0), 99999999999999999999n);
  assert.equal(typeof parseDecimal("100", 4, 2), "string");
  assert.equal(typeof parseDecimal("1e40", 38, 0), "string");
  assert.equal(typeof parseDecimal(".", 4, 2), "string");
  assert.equal(typeof parseDecimal("1.2.3", 4, 2), "string");
});

Deno.test("base64 is strict", () => {
  assert.deepEqual(decodeBase64(""), new Uint8Array());
  assert.deepEqual([...decodeBase64("/w==")!], [255]);
  for (const bad of ["A", "A===", "@@@@", "AQI"]) assert.equal(decodeBase64(bad), undefined, bad);
});
