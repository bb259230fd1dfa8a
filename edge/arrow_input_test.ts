import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { decodeArrowIpc } from "../core/arrow/decode_arrow_ipc.ts";
import { ALL_TYPES_SCHEMA, allTypesRows, mutate, mutation } from "../core/arrow/test_util.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { writeParquetFile } from "../core/parquet/write_parquet_file.ts";
import { deltaSchemaToArrow } from "../core/schema/delta_schema_to_arrow.ts";
import type { DataType, StructType } from "../core/schema/types.ts";
import type { UnknownFields } from "../core/values/mod.ts";
import { validateBatch } from "../core/write/validate_batch.ts";
import { convertArrowInput } from "./arrow_input.ts";
import { recordBatchBytes } from "./convert.ts";
import { SchemaViolationError } from "./schema_violation_error.ts";
import { devSchema, retainedBytes } from "./test_util.ts";

const field = (name: string, type: DataType, nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** Arrow input of `schema`, as a converter's `fromArrow` takes it. */
function converter(schema: StructType, unknownFields: UnknownFields = "reject") {
  const target = { schema, arrowSchema: deltaSchemaToArrow(schema), unknownFields };
  return { fromArrow: (table: arrow.Table) => convertArrowInput(table, target) };
}

Deno.test("Arrow input: types, nulls, unknown and missing columns are checked", () => {
  const s: StructType = {
    type: "struct",
    fields: [field("id", "long", false), field("name", "string"), field("ts", "timestamp")],
  };
  const c = converter(s);
  const good = arrow.tableFromArrays({ id: BigInt64Array.of(1n, 2n) });
  const batches = c.fromArrow(good);
  assert.equal(batches[0]!.numRows, 2);
  assert.equal(batches[0]!.getChild("name")!.nullCount, 2);
  const wrongType = arrow.tableFromArrays({ id: Int32Array.of(1) });
  assert.throws(() => c.fromArrow(wrongType), /expected Arrow type Int64/);
  const extra = arrow.tableFromArrays({ id: BigInt64Array.of(1n), other: Int32Array.of(1) });
  assert.throws(() => c.fromArrow(extra), /unknown field/);
  assert.equal(converter(s, "drop").fromArrow(extra)[0]!.numCols, 3);
  const missing = new arrow.Table({ name: arrow.vectorFromArray(["a"], new arrow.Utf8()) });
  assert.throws(() => c.fromArrow(missing), /missing required field/);
  const withNull = new arrow.Table({
    id: arrow.vectorFromArray([1n, null, 3n], new arrow.Int64()),
  });
  assert.throws(
    () => c.fromArrow(withNull),
    (e) => e instanceof SchemaViolationError && e.row === 1,
  );
  const millis = new arrow.Table({
    id: arrow.vectorFromArray([1n], new arrow.Int64()),
    ts: arrow.vectorFromArray([0], new arrow.TimestampMillisecond("UTC")),
  });
  assert.throws(() => c.fromArrow(millis), /Timestamp<MICROSECOND, UTC>/);
  const dec = converter({ type: "struct", fields: [field("d", "decimal(3,0)")] });
  const words = Uint32Array.of(1000, 0, 0, 0); // 1000 has 4 digits
  const big = new arrow.Table({
    d: arrow.makeVector(
      arrow.makeData({ type: new arrow.Decimal(0, 3, 128), length: 1, data: words }),
    ),
  });
  assert.throws(() => dec.fromArrow(big), /precision 3/);
});

Deno.test("memory: an Arrow body padded to 8 MiB keeps no view into it; the charge covers what is kept", () => {
  const s: StructType = {
    type: "struct",
    fields: [field("id", "long", false), field("note", "string")],
  };
  const c = converter(s, "drop");
  // One row, plus a dropped column of 8 MiB: the body the issue padded.
  const body = arrow.tableToIPC(
    new arrow.Table({
      id: arrow.vectorFromArray([1n], new arrow.Int64()),
      note: arrow.vectorFromArray(["n"], new arrow.Utf8()),
      pad: arrow.vectorFromArray(["p".repeat(8 * 1024 * 1024)], new arrow.Utf8()),
    }),
    "stream",
  );
  const [batch] = c.fromArrow(arrow.tableFromIPC(body));
  assert.ok(batch !== undefined);
  assert.ok(retainedBytes(batch) < 1024, `keeps ${retainedBytes(batch)} bytes alive`);
  assert.ok(recordBatchBytes(batch) >= retainedBytes(batch));
  assert.equal(batch.getChild("note")?.get(0), "n");
});

Deno.test("Arrow input: buffers shorter than their rows and values out of range are refused", () => {
  const c = converter(devSchema);
  const ts = (micros: bigint) =>
    arrow.makeData({
      type: new arrow.TimestampMicrosecond("UTC"),
      length: 1,
      nullCount: 0,
      data: BigInt64Array.of(micros),
    });
  const table = (columns: Record<string, arrow.Data>) =>
    arrow.tableFromIPC(
      arrow.tableToIPC(
        new arrow.Table({
          ts: arrow.makeVector(columns.ts ?? ts(0n)),
          device_id: arrow.vectorFromArray(["x"], new arrow.Utf8()),
          date: arrow.makeVector(
            columns.date ??
              arrow.makeData({
                type: new arrow.DateDay(),
                length: 1,
                nullCount: 0,
                data: Int32Array.of(0),
              }),
          ),
        }),
        "stream",
      ),
    );
  const refused = (t: arrow.Table) => {
    try {
      c.fromArrow(t);
    } catch (e) {
      assert.ok(e instanceof SchemaViolationError, String(e));
      return e;
    }
    return undefined;
  };
  c.fromArrow(table({}));
  const shortDate = arrow.makeData({
    type: new arrow.DateDay(),
    length: 4,
    nullCount: 0,
    data: Int32Array.of(1),
  });
  const shortBatch = arrow.tableFromIPC(
    arrow.tableToIPC(
      new arrow.Table({
        ts: arrow.makeVector(arrow.makeData({
          type: new arrow.TimestampMicrosecond("UTC"),
          length: 4,
          nullCount: 0,
          data: new BigInt64Array(4),
        })),
        device_id: arrow.vectorFromArray(["a", "b", "c", "d"], new arrow.Utf8()),
        date: arrow.makeVector(shortDate),
      }),
      "stream",
    ),
  );
  assert.match(refused(shortBatch)?.reason ?? "", /2 of 4 values/);
  const far = refused(table({ ts: ts(9_000_000_000_000_000_000n) }));
  assert.equal(far?.field, "ts");
  assert.match(far?.reason ?? "", /outside/);
  const day = arrow.makeData({
    type: new arrow.DateDay(),
    length: 1,
    nullCount: 0,
    data: Int32Array.of(2147483647),
  });
  assert.equal(refused(table({ date: day }))?.field, "date");
});

Deno.test("Arrow input: a batch claiming rows its columns cannot hold is refused before nulls are filled", () => {
  const s: StructType = { type: "struct", fields: [field("a", "long"), field("b", "string")] };
  const c = converter(s, "drop");
  // Only a column of type Null, which the table does not have: 5,000,000 rows in a few hundred bytes.
  const nulls = arrow.makeData({ type: new arrow.Null(), length: 5_000_000 });
  const body = arrow.tableToIPC(new arrow.Table({ other: arrow.makeVector(nulls) }), "stream");
  assert.ok(body.length < 1024);
  assert.throws(() => c.fromArrow(arrow.tableFromIPC(body)), /5000000 rows/);
});

Deno.test("property: Arrow bodies the edge accepts are accepted by the runner and written to Parquet", () => {
  const c = converter(ALL_TYPES_SCHEMA);
  const table = createArrowTable(ALL_TYPES_SCHEMA, allTypesRows(12));
  const bodies = [arrow.tableToIPC(table, "stream"), arrow.tableToIPC(table, "file")];
  let accepted = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...bodies),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (bytes, mutations) => {
        let decoded: arrow.Table;
        try {
          decoded = decodeArrowIpc(mutate(bytes, mutations));
        } catch {
          return; // 400 malformed_body
        }
        let batches: arrow.RecordBatch[];
        try {
          batches = c.fromArrow(decoded);
        } catch (e) {
          assert.ok(e instanceof SchemaViolationError, String(e)); // 422, nothing else
          return;
        }
        for (const batch of batches) {
          const wire = arrow.tableToIPC(new arrow.Table([batch]), "stream");
          const valid = validateBatch(decodeArrowIpc(wire), ALL_TYPES_SCHEMA);
          if (valid.numRows > 0) writeParquetFile(valid, { compression: "uncompressed" });
        }
        accepted++;
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(accepted > 0);
});
