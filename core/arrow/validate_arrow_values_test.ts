import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import {
  ArrowValueError,
  validateArrowNulls,
  validateArrowValues,
} from "./validate_arrow_values.ts";

function refusal(check: () => void): ArrowValueError | undefined {
  try {
    check();
  } catch (e) {
    assert.ok(e instanceof ArrowValueError, String(e));
    return e;
  }
  return undefined;
}

Deno.test("validateArrowValues: names the top-level row of a nested value, across batches", () => {
  const dates = new arrow.List(new arrow.Field("element", new arrow.DateDay(), true));
  const list = (rows: (number[] | null)[]) =>
    arrow.vectorFromArray(rows.map((r) => r?.map((d) => d * 86_400_000) ?? null), dates);
  const ok = new arrow.Table({ l: list([[1, 2], null, [3]]) });
  validateArrowValues(ok);
  const bad = new arrow.Table({ l: list([[1], [], [2, 3_000_000], [4]]) });
  const e = refusal(() => validateArrowValues(new arrow.Table([...ok.batches, ...bad.batches])));
  assert.equal(e?.row, 3 + 2);
  assert.equal(e?.column, "l[]");
  // Timestamps in every unit.
  const seconds = arrow.makeData({
    type: new arrow.TimestampSecond(),
    length: 1,
    data: BigInt64Array.of(253_402_300_800n), // 10000-01-01
  });
  assert.ok(refusal(() => validateArrowValues(new arrow.Table({ s: arrow.makeVector(seconds) }))));
});

Deno.test("validateArrowNulls: a null where the expected schema says non-nullable, masked by null parents", () => {
  const child = arrow.vectorFromArray([1, null, null], new arrow.Int32()).data[0]!;
  const struct = (parentValid: number) =>
    arrow.makeData({
      type: new arrow.Struct([new arrow.Field("n", new arrow.Int32(), true)]),
      length: 3,
      nullCount: 3 - [...Array(3).keys()].filter((i) => (parentValid >> i) & 1).length,
      nullBitmap: Uint8Array.of(parentValid),
      children: [child],
    });
  const expected = new arrow.Schema([
    new arrow.Field("s", new arrow.Struct([new arrow.Field("n", new arrow.Int32(), false)]), true),
  ]);
  const masked = new arrow.Table({ s: arrow.makeVector(struct(0b001)) });
  validateArrowNulls(masked, expected); // rows 1 and 2 have a null parent
  const unmasked = new arrow.Table({ s: arrow.makeVector(struct(0b011)) });
  const e = refusal(() => validateArrowNulls(unmasked, expected));
  assert.equal(e?.row, 1);
  assert.equal(e?.column, "s.n");
  validateArrowNulls(unmasked); // what the data declares about itself: nullable
});
