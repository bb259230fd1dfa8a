import assert from "node:assert/strict";
import fc from "fast-check";
import { formatUnscaledDecimal, parseDecimal } from "./decimal_text.ts";

Deno.test("parseDecimal: scale, precision, exponents, signs", () => {
  assert.equal(parseDecimal("0.10", 3, 2), 10);
  assert.equal(parseDecimal("-0", 3, 2), 0);
  assert.equal(parseDecimal("1.2e1", 4, 2), 1200);
  assert.equal(parseDecimal("1.2300e-1", 4, 3), 123);
  assert.equal(parseDecimal("+.5", 2, 1), 5);
  assert.equal(parseDecimal("99999999999999999999", 20, 0), 99999999999999999999n);
  assert.equal(parseDecimal("1200", 2, -2), 12); // a negative scale (foreign tables)
  assert.equal(typeof parseDecimal("100", 4, 2), "string");
  assert.equal(typeof parseDecimal("1e40", 38, 0), "string");
  assert.equal(typeof parseDecimal(".", 4, 2), "string");
  assert.equal(typeof parseDecimal("1.2.3", 4, 2), "string");
  assert.equal(typeof parseDecimal(" 1", 4, 2), "string");
});

Deno.test("parseDecimal: the work is bounded whatever the text", () => {
  // An exponent of 10^9 would make BigInt arithmetic run for seconds, then throw a RangeError.
  assert.match(String(parseDecimal("1e999999999", 38, 2)), /not a decimal number/);
  assert.match(String(parseDecimal("1e9999", 38, 2)), /integer digits/);
  assert.equal(parseDecimal("0e9999", 38, 2), 0);
  assert.match(String(parseDecimal("1".repeat(1000), 38, 0)), /too many characters/);
});

Deno.test("property: formatUnscaledDecimal and parseDecimal are inverse", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 38 }).chain((p) =>
        fc.tuple(
          fc.constant(p),
          fc.integer({ min: 0, max: p }),
          fc.bigInt({ min: -(10n ** BigInt(p)) + 1n, max: 10n ** BigInt(p) - 1n }),
        )
      ),
      ([precision, scale, unscaled]) => {
        const text = formatUnscaledDecimal(unscaled, scale);
        assert.equal(BigInt(parseDecimal(text, precision, scale)), unscaled, text);
      },
    ),
  );
});
