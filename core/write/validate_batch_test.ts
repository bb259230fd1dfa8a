import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { decodeArrowIpc } from "../arrow/decode_arrow_ipc.ts";
import { ALL_TYPES_SCHEMA, allTypesRows, mutate, mutation } from "../arrow/test_util.ts";
import { isLakestrikeError } from "../errors.ts";
import { createArrowTable } from "../parquet/create_arrow_table.ts";
import { decodeTable } from "../parquet/test_util.ts";
import { readParquetFile, writeParquetFile } from "../parquet/write_parquet_file.ts";
import type { StructType } from "../schema/types.ts";
import { validateBatch } from "./validate_batch.ts";

const field = (name: string, type: StructType["fields"][number]["type"], nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** The message of the `SCHEMA_MISMATCH` that `validateBatch` throws, or `undefined`. */
function refusal(
  batch: arrow.Table,
  schema: StructType,
  partitionColumns?: string[],
): string | undefined {
  try {
    validateBatch(batch, schema, partitionColumns === undefined ? {} : { partitionColumns });
  } catch (e) {
    assert.ok(isLakestrikeError(e, "SCHEMA_MISMATCH"), `not a SCHEMA_MISMATCH: ${String(e)}`);
    return e.message;
  }
  return undefined;
}

const one = (name: string, data: arrow.Data) => new arrow.Table({ [name]: arrow.makeVector(data) });

Deno.test("validateBatch: buffers shorter than their rows are a SCHEMA_MISMATCH naming the column", () => {
  const schema: StructType = { type: "struct", fields: [field("n", "integer")] };
  const short = arrow.makeData({
    type: new arrow.Int32(),
    length: 4,
    nullCount: 0,
    data: new Int32Array(2),
  });
  assert.match(refusal(one("n", short), schema) ?? "", /column "n" is malformed: .*2 of 4/);
});

Deno.test("validateBatch: dates and timestamps outside 0001-01-01 .. 9999-12-31 are refused", () => {
  const schema: StructType = {
    type: "struct",
    fields: [field("d", "date"), field("ts", "timestamp"), field("tsn", "timestamp_ntz")],
  };
  const days = (d: number[]) =>
    arrow.makeData({ type: new arrow.DateDay(), length: d.length, data: Int32Array.from(d) });
  const micros = (type: arrow.TimestampMicrosecond, m: bigint[]) =>
    arrow.makeData({ type, length: m.length, data: BigInt64Array.from(m) });
  const utc = new arrow.TimestampMicrosecond("UTC");
  const ntz = new arrow.TimestampMicrosecond();
  // The bounds themselves are fine.
  assert.equal(refusal(one("d", days([-719_162, 0, 2_932_896])), schema), undefined);
  const first = -62_135_596_800_000_000n, last = 253_402_300_799_999_999n;
  assert.equal(refusal(one("ts", micros(utc, [first, last])), schema), undefined);
  assert.equal(refusal(one("tsn", micros(ntz, [first, last])), schema), undefined);
  for (const d of [2_147_483_647, 3_000_000, 2_932_897, -719_163, -2_147_483_648]) {
    assert.match(refusal(one("d", days([0, d])), schema) ?? "", /row 1, column "d": date/, `${d}`);
  }
  for (const m of [9_000_000_000_000_000_000n, last + 1n, first - 1n]) {
    assert.match(refusal(one("ts", micros(utc, [m])), schema) ?? "", /column "ts"/, `${m}`);
    assert.match(refusal(one("tsn", micros(ntz, [m])), schema) ?? "", /column "tsn"/, `${m}`);
  }
  // Nested dates are data too; a slot under a null struct is not.
  const nested: StructType = {
    type: "struct",
    fields: [field("s", { type: "struct", fields: [field("d", "date")] })],
  };
  const struct = (valid: boolean) =>
    arrow.makeData({
      type: new arrow.Struct([new arrow.Field("d", new arrow.DateDay(), true)]),
      length: 1,
      nullCount: valid ? 0 : 1,
      nullBitmap: valid ? undefined : Uint8Array.of(0),
      children: [days([3_000_000])],
    });
  assert.match(refusal(one("s", struct(true)), nested) ?? "", /column "s\.d"/);
  assert.equal(refusal(one("s", struct(false)), nested), undefined);
});

Deno.test("validateBatch: decimals beyond their precision and other decimal widths are refused", () => {
  const schema: StructType = { type: "struct", fields: [field("x", "decimal(3,0)")] };
  const dec = (type: arrow.Decimal, words: number[]) =>
    arrow.makeData({ type, length: 1, data: Uint32Array.from(words) });
  assert.equal(
    refusal(one("x", dec(new arrow.Decimal(0, 3, 128), [999, 0, 0, 0])), schema),
    undefined,
  );
  assert.match(
    refusal(one("x", dec(new arrow.Decimal(0, 3, 128), [1000, 0, 0, 0])), schema) ?? "",
    /precision 3/,
  );
  assert.match(
    refusal(one("x", dec(new arrow.Decimal(0, 3, 64), [5, 0])), schema) ?? "",
    /has type Arrow Decimal/,
  );
});

Deno.test("validateBatch: a null in a nested field the table declares non-nullable is refused", () => {
  const schema: StructType = {
    type: "struct",
    fields: [field("s", { type: "struct", fields: [field("n", "integer", false)] })],
  };
  // The client says the child is nullable; the table does not.
  const s = arrow.makeData({
    type: new arrow.Struct([new arrow.Field("n", new arrow.Int32(), true)]),
    length: 2,
    nullCount: 0,
    children: [arrow.vectorFromArray([1, null], new arrow.Int32()).data[0]!],
  });
  assert.match(refusal(one("s", s), schema) ?? "", /row 1, column "s\.n": null/);
});

Deno.test("validateBatch: partition values without a text or a directory name are refused", () => {
  const schema: StructType = {
    type: "struct",
    fields: [field("id", "long", false), field("p", "string"), field("d", "date")],
  };
  const batch = (p: string, d: number) =>
    new arrow.Table({
      id: arrow.vectorFromArray([1n, 2n], new arrow.Int64()),
      p: arrow.vectorFromArray(["a", p], new arrow.Utf8()),
      d: arrow.makeVector(
        arrow.makeData({ type: new arrow.DateDay(), length: 2, data: Int32Array.of(0, d) }),
      ),
    });
  assert.equal(refusal(batch("x".repeat(253), 0), schema, ["p"]), undefined);
  assert.match(refusal(batch("x".repeat(300), 0), schema, ["p"]) ?? "", /row 1, column "p".*255/);
  assert.match(refusal(batch("/".repeat(100), 0), schema, ["p"]) ?? "", /302 bytes/); // p=%2F%2F...
  // Without the partition columns, the long value is plain data.
  assert.equal(refusal(batch("x".repeat(300), 0), schema), undefined);
  assert.match(refusal(batch("é".repeat(200), 0), schema, ["d", "p"]) ?? "", /column "p"/);
});

Deno.test("validateBatch: the result owns compact buffers, not views into the request body", () => {
  const schema: StructType = {
    type: "struct",
    fields: [field("n", "integer"), field("s", "string")],
  };
  const small = arrow.tableToIPC(createArrowTable(schema, [{ n: 1, s: "a" }]), "stream");
  // The same batch inside an 8 MiB body (the bytes after the stream are never read).
  const body = new Uint8Array(8 * 1024 * 1024);
  body.set(small);
  const table = validateBatch(arrow.tableFromIPC(body.subarray(0, small.length)), schema);
  const buffers = table.batches.flatMap((b) =>
    b.data.children.flatMap((c) => [c.values, c.valueOffsets, c.nullBitmap])
  ).filter((b) => b !== undefined && b.byteLength > 0);
  assert.ok(buffers.length > 0);
  for (const b of buffers) assert.notEqual(b.buffer, body.buffer, "a view into the body is kept");
  assert.deepEqual(table.get(0)?.toJSON(), { n: 1, s: "a" });
});

Deno.test("property: a mutated body is refused with SCHEMA_MISMATCH, or written and read back as validated", () => {
  const schema = ALL_TYPES_SCHEMA;
  const bytes = arrow.tableToIPC(createArrowTable(schema, allTypesRows(12)), "stream");
  let written = 0, refused = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
      let table: arrow.Table;
      try {
        table = decodeArrowIpc(mutate(bytes, mutations));
      } catch {
        return; // the runner intake answers 400 malformed_body before validating
      }
      let valid: arrow.Table;
      try {
        valid = validateBatch(table, schema);
      } catch (e) {
        assert.ok(isLakestrikeError(e, "SCHEMA_MISMATCH"), String(e));
        refused++;
        return;
      }
      if (valid.numRows === 0) return;
      const back = readParquetFile(writeParquetFile(valid, { compression: "uncompressed" }));
      assert.deepEqual(decodeTable(back, schema), decodeTable(valid, schema));
      written++;
    }),
    { numRuns: 400 },
  );
  assert.ok(refused > 0 && written > 0, `refused ${refused}, written ${written}`);
});

Deno.test("validateBatch: its own result passes again as is, but only for the schema and partitions it was checked against", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      { name: "id", type: "long", nullable: false, metadata: {} },
      { name: "p", type: "string", nullable: true, metadata: {} },
    ],
  };
  const valid = validateBatch(createArrowTable(schema, [{ id: 1n, p: "a" }]), schema, {
    partitionColumns: ["p"],
  });
  // Checked once with its partition column: passes as the same table, with or without it, and
  // against an equal schema object (a later snapshot of the same table).
  assert.equal(validateBatch(valid, schema), valid);
  assert.equal(validateBatch(valid, structuredClone(schema), { partitionColumns: ["p"] }), valid);
  // Another schema is checked again: here the column is not nullable any more, and absent.
  const other: StructType = {
    type: "struct",
    fields: [...schema.fields, { name: "q", type: "long", nullable: false, metadata: {} }],
  };
  assert.throws(() => validateBatch(valid, other), (e) => isLakestrikeError(e, "SCHEMA_MISMATCH"));
  // Checked without partitions, a later check of partition values still runs: a value too long
  // for a directory name is refused then.
  const long = validateBatch(createArrowTable(schema, [{ id: 1n, p: "x".repeat(300) }]), schema);
  assert.throws(
    () => validateBatch(long, schema, { partitionColumns: ["p"] }),
    (e) => isLakestrikeError(e, "SCHEMA_MISMATCH"),
  );
});
