import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import {
  groupByPartition,
  PartitionValueError,
  splitByPartition,
  takeRows,
} from "./split_by_partition.ts";
import type { StructType } from "../schema/types.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "name", type: "string", nullable: true, metadata: {} },
    { name: "ok", type: "boolean", nullable: true, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
    { name: "day", type: "date", nullable: true, metadata: {} },
  ],
};

function makeTable(n: number): arrow.Table {
  const regions = ["eu", "us", null, "a/b"];
  return new arrow.Table({
    id: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => BigInt(i)), new arrow.Int64()),
    name: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `name-${i}`)),
      new arrow.Utf8(),
    ),
    ok: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i % 2 === 0)),
      new arrow.Bool(),
    ),
    region: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => regions[i % 4]!),
      new arrow.Utf8(),
    ),
    day: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => (i % 3) * 86_400_000),
      new arrow.DateDay(),
    ),
  });
}

Deno.test("splitByPartition: unpartitioned table is one slice with every column", () => {
  const t = makeTable(10);
  const parts = splitByPartition(t, [], schema);
  assert.equal(parts.length, 1);
  assert.equal(parts[0]!.table.numRows, 10);
  assert.deepEqual(parts[0]!.partitionValues, {});
});

Deno.test("splitByPartition: every row lands in exactly one group with its values", () => {
  const t = makeTable(100);
  const parts = splitByPartition(t, ["region", "day"], schema);
  assert.equal(parts.length, 12);
  let total = 0;
  const seen = new Set<bigint>();
  for (const p of parts) {
    assert.deepEqual(p.table.schema.fields.map((f) => f.name), ["id", "name", "ok"]);
    total += p.table.numRows;
    for (let r = 0; r < p.table.numRows; r++) {
      const row = p.table.get(r)!.toJSON() as {
        id: bigint;
        name: string | null;
        ok: boolean | null;
      };
      const i = Number(row.id);
      seen.add(row.id);
      const regions = ["eu", "us", null, "a/b"];
      assert.equal(p.partitionValues.region, regions[i % 4]);
      assert.equal(p.partitionValues.day, `1970-01-0${(i % 3) + 1}`);
      assert.equal(row.name, i % 5 === 0 ? null : `name-${i}`);
      assert.equal(row.ok, i % 7 === 0 ? null : i % 2 === 0);
    }
  }
  assert.equal(total, 100);
  assert.equal(seen.size, 100);
});

Deno.test("splitByPartition: works over several record batches", () => {
  const a = makeTable(10);
  const b = makeTable(6);
  const t = new arrow.Table([...a.batches, ...b.batches]);
  const parts = splitByPartition(t, ["region"], schema);
  assert.equal(parts.reduce((s, p) => s + p.table.numRows, 0), 16);
  const eu = parts.find((p) => p.partitionValues.region === "eu")!;
  assert.deepEqual(eu.table.getChild("id")!.toArray(), BigInt64Array.from([0n, 4n, 8n, 0n, 4n]));
});

Deno.test("takeRows: copies fixed, variable-width and nested columns", () => {
  const t = new arrow.Table({
    d: arrow.vectorFromArray([0.5, 1.5, 2.5], new arrow.Float64()),
    s: arrow.vectorFromArray(["x", null, "zz"], new arrow.Utf8()),
    l: arrow.vectorFromArray(
      [[1], [2, 3], null],
      new arrow.List(new arrow.Field("element", new arrow.Int32(), true)),
    ),
  });
  const out = takeRows(t, [2, 0]);
  assert.deepEqual([...out.getChild("d")!.toArray()], [2.5, 0.5]);
  assert.deepEqual(out.getChild("s")!.toJSON(), ["zz", "x"]);
  assert.equal(out.getChild("l")!.get(0), null);
  assert.deepEqual([...out.getChild("l")!.get(1)!.toArray()], [1]);
});

Deno.test("groupByPartition: refuses a row whose partition value has no text or no directory, naming it", () => {
  const table = makeTable(6);
  const groups = groupByPartition(table, ["region", "day"], schema);
  assert.equal(groups.reduce((n, g) => n + g.rows.length, 0), 6);
  assert.equal(groups[0]!.directory, "region=eu/day=1970-01-01/");
  const long = new arrow.Table({
    region: arrow.vectorFromArray(["eu", "x".repeat(300)], new arrow.Utf8()),
  });
  assert.throws(
    () => groupByPartition(long, ["region"], schema),
    (e) =>
      e instanceof PartitionValueError && e.row === 1 && e.column === "region" &&
      /255/.test(e.reason),
  );
  const far = new arrow.Table({
    day: arrow.makeVector(
      arrow.makeData({ type: new arrow.DateDay(), length: 2, data: Int32Array.of(0, 2147483647) }),
    ),
  });
  assert.throws(
    () => splitByPartition(far, ["day"], schema),
    (e) => e instanceof PartitionValueError && e.row === 1 && e.column === "day",
  );
});
