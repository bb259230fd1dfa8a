import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DATE_DAYS_MAX,
  DATE_DAYS_MIN,
  TIMESTAMP_MICROS_MAX,
  TIMESTAMP_MICROS_MIN,
} from "./calendar.ts";
import { formatDate, formatTimestamp, parseDate, parseTimestamp } from "./datetime_text.ts";

Deno.test("parseTimestamp: offsets, fractions, separators, a date alone", () => {
  const at = (text: string) => parseTimestamp(text);
  assert.deepEqual(at("2024-02-29T23:59:59.999999-02:30"), {
    micros: Date.UTC(2024, 2, 1, 2, 29, 59) * 1000 + 999_999,
    offsetMinutes: -150,
  });
  assert.equal(at("2024-01-01T00:00:00.5")?.micros, Date.UTC(2024, 0, 1) * 1000 + 500_000);
  assert.equal(at("2024-01-01 00:00:00,123456789Z")?.micros, Date.UTC(2024, 0, 1) * 1000 + 123_456);
  assert.equal(at("2024-01-01t00:00z")?.offsetMinutes, 0);
  assert.equal(at("2021-09-08 06:11:11-0500")?.micros, 1631099471000000);
  assert.deepEqual(at("2024-01-01"), {
    micros: Date.UTC(2024, 0, 1) * 1000,
    offsetMinutes: undefined,
  });
  assert.equal(at("1969-12-31T23:59:59.999999Z")?.micros, -1);
  // Beyond 2^53 microseconds (after about 2255) the value is a bigint.
  assert.equal(at("9999-12-31T23:59:59.999999Z")?.micros, TIMESTAMP_MICROS_MAX);
});

Deno.test("parseTimestamp and parseDate: a field out of range is no value, not carried over", () => {
  for (
    const bad of [
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:60",
      "2024-01-01T00:00:60",
      "2023-02-29",
      "2024-04-31T00:00:00",
      "2024-01-01T00:00:00+24:00",
      "2024-1-1",
      "2024-01-01T10:00.5Z",
      " 2024-01-01",
      "+10000-01-01",
      "",
    ]
  ) {
    assert.equal(parseTimestamp(bad), undefined, bad);
    assert.equal(parseDate(bad), undefined, bad);
  }
  assert.equal(parseDate("2024-02-29"), 19782);
  assert.equal(parseDate("2024-02-29T00:00:00"), undefined);
  assert.equal(parseDate("2024-02-29Z"), undefined);
});

Deno.test("property: formatDate and parseDate are inverse over 0001-01-01 .. 9999-12-31", () => {
  fc.assert(fc.property(fc.integer({ min: DATE_DAYS_MIN, max: DATE_DAYS_MAX }), (days) => {
    const text = formatDate(days);
    assert.match(text, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(parseDate(text), days);
  }));
  assert.equal(formatDate(DATE_DAYS_MIN - 1), "0000-12-31");
  assert.equal(formatDate(-719_529), "-0001-12-31");
  assert.equal(formatDate(DATE_DAYS_MAX + 1), "10000-01-01");
});

Deno.test("property: formatTimestamp and parseTimestamp are inverse, with either separator", () => {
  const micros = fc.bigInt({ min: TIMESTAMP_MICROS_MIN, max: TIMESTAMP_MICROS_MAX });
  fc.assert(
    fc.property(micros, fc.boolean(), fc.constantFrom<"T" | " ">("T", " "), (m, utc, separator) => {
      const text = formatTimestamp(m, utc, { separator });
      const parsed = parseTimestamp(text);
      assert.ok(parsed !== undefined, text);
      assert.equal(BigInt(parsed.micros), m, text);
      assert.equal(parsed.offsetMinutes, utc ? 0 : undefined);
    }),
    { numRuns: 500 },
  );
});
