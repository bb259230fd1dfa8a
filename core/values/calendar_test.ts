import assert from "node:assert/strict";
import fc from "fast-check";
import {
  civilFromDays,
  DATE_DAYS_MAX,
  DATE_DAYS_MIN,
  daysFromCivil,
  isCivilDate,
  isDateDaysInRange,
  isTimestampMicrosInRange,
  MICROS_PER_DAY,
  TIMESTAMP_MICROS_MAX,
  TIMESTAMP_MICROS_MIN,
} from "./calendar.ts";

Deno.test("daysFromCivil agrees with Date.UTC, civilFromDays is its inverse", () => {
  fc.assert(fc.property(fc.integer({ min: -400_000, max: 2_900_000 }), (days) => {
    const d = new Date(days * 86_400_000);
    const civil = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
    assert.equal(daysFromCivil(civil.year, civil.month, civil.day), days);
    assert.deepEqual(civilFromDays(days), civil);
    assert.ok(isCivilDate(civil.year, civil.month, civil.day));
  }));
});

Deno.test("isCivilDate: month lengths and leap years", () => {
  assert.ok(isCivilDate(2000, 2, 29) && isCivilDate(2024, 2, 29) && isCivilDate(2024, 4, 30));
  assert.ok(!isCivilDate(1900, 2, 29) && !isCivilDate(2023, 2, 29) && !isCivilDate(2024, 4, 31));
  assert.ok(!isCivilDate(2024, 0, 1) && !isCivilDate(2024, 13, 1) && !isCivilDate(2024, 1, 0));
});

Deno.test("the Delta range: 0001-01-01 .. 9999-12-31, in days and in microseconds", () => {
  assert.equal(DATE_DAYS_MIN, daysFromCivil(1, 1, 1));
  assert.equal(DATE_DAYS_MAX, daysFromCivil(9999, 12, 31));
  assert.ok(isDateDaysInRange(DATE_DAYS_MIN) && isDateDaysInRange(DATE_DAYS_MAX));
  assert.ok(!isDateDaysInRange(DATE_DAYS_MIN - 1) && !isDateDaysInRange(DATE_DAYS_MAX + 1));
  assert.ok(!isDateDaysInRange(0.5));
  assert.equal(TIMESTAMP_MICROS_MIN, BigInt(DATE_DAYS_MIN) * MICROS_PER_DAY);
  for (const m of [TIMESTAMP_MICROS_MIN, TIMESTAMP_MICROS_MAX, 0n, 0, -(2 ** 53) + 1]) {
    assert.ok(isTimestampMicrosInRange(m), String(m));
  }
  for (const m of [TIMESTAMP_MICROS_MIN - 1n, TIMESTAMP_MICROS_MAX + 1n, 9e18, -9e18, 0.5, NaN]) {
    assert.ok(!isTimestampMicrosInRange(m), String(m));
  }
  // A double beyond 2^53 is judged exactly, as its bigint.
  assert.ok(isTimestampMicrosInRange(2 ** 57));
});
