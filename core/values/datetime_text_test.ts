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
      "2024-01-01T10:00+05 30",
      "2024-01-01T10:00:00.1234567890Z",
      "2024-01-01T",
      "2024-01-01Z+01:00",
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

/** The grammar as one regular expression: the scanner's reference (it was the parser once). */
const REFERENCE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** What the regular expression says a text is: its fields, or `undefined`. */
function referenceFields(text: string) {
  const m = REFERENCE_RE.exec(text);
  if (m === null) return undefined;
  const frac = m[7];
  return {
    date: [+m[1]!, +m[2]!, +m[3]!],
    time: m[4] === undefined ? undefined : [+m[4], +m[5]!, m[6] === undefined ? 0 : +m[6]],
    fraction: frac === undefined ? 0 : +(frac.length >= 6 ? frac.slice(0, 6) : frac.padEnd(6, "0")),
    zone: m[8] !== undefined ? 0 : m[9] === undefined ? undefined : [m[9], +m[10]!, +m[11]!],
  };
}

/** The reference's answer for parseTimestamp: micros and offset by the same arithmetic. */
function referenceTimestamp(text: string) {
  const r = referenceFields(text);
  if (r === undefined) return undefined;
  const [year, month, day] = r.date as [number, number, number];
  const [hour, minute, second] = (r.time ?? [0, 0, 0]) as [number, number, number];
  if (month < 1 || month > 12 || day < 1) return undefined;
  if (day > new Date(Date.UTC(2000, month, 0)).getUTCDate()) return undefined; // 2000: leap
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) {
    return undefined;
  }
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes: number | undefined;
  if (r.zone === 0) offsetMinutes = 0;
  else if (Array.isArray(r.zone)) {
    const [sign, oh, om] = r.zone as [string, number, number];
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (sign === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, 0);
  const seconds = utc.getTime() / 1000 - (offsetMinutes ?? 0) * 60;
  const micros = BigInt(seconds) * 1_000_000n + BigInt(r.fraction);
  return { micros, offsetMinutes, dateOnly: r.time === undefined && r.zone === undefined };
}

/** Texts near the grammar: valid ones, and valid ones with a character changed, added or cut. */
const nearGrammar = (() => {
  const d = (n: number) =>
    fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, "0"));
  const time = fc.tuple(
    fc.constantFrom("T", "t", " "),
    d(2),
    d(2),
    fc.option(
      fc.tuple(
        d(2),
        fc.option(fc.tuple(fc.constantFrom(".", ","), fc.integer({ min: 1, max: 10 }), fc.nat())),
      ),
    ),
  ).map(([sep, h, m, s]) =>
    `${sep}${h}:${m}` +
    (s === null ? "" : `:${s[0]}` +
      (s[1] === null ? "" : s[1][0] + String(s[1][2]).padStart(s[1][1], "7").slice(0, s[1][1])))
  );
  const zone = fc.oneof(
    fc.constantFrom("Z", "z"),
    fc.tuple(fc.constantFrom("+", "-"), d(2), fc.constantFrom(":", ""), d(2)).map((p) =>
      p.join("")
    ),
  );
  const valid = fc.tuple(d(4), d(2), d(2), fc.option(time), fc.option(zone)).map(
    ([y, mo, da, t, z]) => `${y}-${mo}-${da}${t ?? ""}${z ?? ""}`,
  );
  const mutated = fc.tuple(
    valid,
    fc.nat(),
    fc.constantFrom(...":-+.,TZ 0a9\u0660"),
    fc.constantFrom(
      "replace",
      "insert",
      "cut",
    ),
  ).map(([text, at, c, how]) => {
    const i = at % (text.length + 1);
    if (how === "replace") return text.slice(0, i) + c + text.slice(i + 1);
    if (how === "insert") return text.slice(0, i) + c + text.slice(i);
    return text.slice(0, i);
  });
  return fc.oneof(valid, mutated, fc.string());
})();

Deno.test("parseTimestamp and parseDate agree with the grammar's regular expression", () => {
  fc.assert(
    fc.property(nearGrammar, (text) => {
      const expected = referenceTimestamp(text);
      const got = parseTimestamp(text);
      if (expected === undefined || expected.micros < -62167219200000000n) {
        // Before year 0 the Date arithmetic of the reference differs; the scanner's years are 0..9999.
        if (expected === undefined) assert.equal(got, undefined, text);
        return;
      }
      assert.notEqual(got, undefined, text);
      assert.equal(BigInt(got!.micros), expected.micros, text);
      assert.equal(got!.offsetMinutes, expected.offsetMinutes, text);
      const days = parseDate(text);
      if (expected.dateOnly) assert.equal(days, Number(expected.micros / 86_400_000_000n), text);
      else assert.equal(days, undefined, text);
    }),
    { numRuns: 20_000 },
  );
});
