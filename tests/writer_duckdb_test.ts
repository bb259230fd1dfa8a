/**
 * Every Parquet file the append writer produces is read by DuckDB (an independent reader) with the
 * same rows as our scan, and DuckDB's min / max / null counts agree with the `stats` we committed.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { createArrowTable } from "../core/parquet/mod.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "ts", type: "timestamp", nullable: true, metadata: {} },
    { name: "device_id", type: "string", nullable: true, metadata: {} },
    { name: "value_i", type: "integer", nullable: true, metadata: {} },
    { name: "value_l", type: "long", nullable: true, metadata: {} },
    { name: "value_d", type: "double", nullable: true, metadata: {} },
    { name: "amount", type: "decimal(12,3)", nullable: true, metadata: {} },
    { name: "payload", type: "string", nullable: true, metadata: {} },
    { name: "date", type: "date", nullable: true, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
  ],
};

function rows(n: number, seed: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7919 + seed * 104729) % 1000;
    out.push({
      ts: k % 13 === 0 ? null : 1_700_000_000_000_000n + BigInt(k) * 1_234_567n,
      device_id: k % 11 === 0 ? null : `device-${k % 17}-${"é😀".repeat(k % 3)}`,
      value_i: k % 7 === 0 ? null : k - 500,
      value_l: BigInt(k) * 9_007_199_254n,
      value_d: k % 5 === 0 ? null : k / 3,
      amount: `${k}.${String(k % 1000).padStart(3, "0")}`,
      payload: "x".repeat(k % 50),
      date: ["2024-01-01", "2024-01-02", null][k % 3],
      region: ["eu", "us/west", "a b=c", null][k % 4],
    });
  }
  return out;
}

Deno.test("writer files are read by DuckDB with our rows and our stats", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-duckdb-" });
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createTable(storage, {
      schema: SCHEMA,
      partitionColumns: ["date", "region"],
    });
    for (let b = 0; b < 3; b++) {
      const result = await appendBatch(storage, snapshot, createArrowTable(SCHEMA, rows(400, b)));
      ok(result.ok);
      snapshot = result.snapshot;
    }
    snapshot = await loadSnapshot(storage);
    ok(snapshot.files.length >= 12, `expected one file per partition per batch`);

    for (const add of snapshot.files) {
      const file = `${dir}/${add.path}`;
      // Our scan of this one file, data columns only, keyed by name.
      const dataFields = SCHEMA.fields.filter((f) => !["date", "region"].includes(f.name));
      const ours: string[] = [];
      for await (const batch of scanSnapshot(storage, { ...snapshot, files: [add] })) {
        for (const row of batch) {
          ours.push(JSON.stringify(dataFields.map((f) => {
            const v = row[SCHEMA.fields.indexOf(f)];
            if (v === null || v === undefined) return null;
            if (typeof v === "object" && "unscaled" in (v as object)) {
              const d = v as { unscaled: bigint; scale: number };
              const s = (d.unscaled < 0n ? -d.unscaled : d.unscaled).toString().padStart(4, "0");
              return `${d.unscaled < 0n ? "-" : ""}${s.slice(0, -3)}.${s.slice(-3)}`;
            }
            return String(v);
          })));
        }
      }
      const reader = await conn.runAndReadAll(
        `SELECT epoch_us(ts)::VARCHAR, device_id, value_i::VARCHAR, value_l::VARCHAR,
                value_d::VARCHAR, amount::VARCHAR, payload FROM read_parquet('${file}')`,
      );
      const theirs = reader.getRows().map((r) =>
        JSON.stringify(r.map((v, i) => {
          if (v === null) return null;
          // DuckDB prints doubles its own way; compare numerically through JS.
          return i === 4 ? String(Number(v)) : String(v);
        }))
      );
      deepEqual(theirs.sort(), ours.sort(), `rows of ${add.path}`);

      const stats = JSON.parse(add.stats!);
      equal(stats.numRecords, theirs.length);
      const agg = await conn.runAndReadAll(
        `SELECT min(value_i), max(value_i), count(*) - count(value_i),
                min(value_l)::VARCHAR, max(value_l)::VARCHAR,
                min(value_d), max(value_d), count(*) - count(value_d),
                count(*) - count(device_id), min(amount)::DOUBLE, max(amount)::DOUBLE,
                epoch_ms(min(ts)), epoch_ms(max(ts)), count(*) - count(ts)
         FROM read_parquet('${file}')`,
      );
      const [
        minI,
        maxI,
        nullI,
        minL,
        maxL,
        minD,
        maxD,
        nullD,
        nullS,
        minA,
        maxA,
        minT,
        maxT,
        nullT,
      ] = agg.getRows()[0]!;
      equal(stats.minValues.value_i ?? null, minI);
      equal(stats.maxValues.value_i ?? null, maxI);
      equal(stats.nullCount.value_i, Number(nullI));
      equal(String(stats.minValues.value_l), minL);
      equal(String(stats.maxValues.value_l), maxL);
      equal(stats.minValues.value_d ?? null, minD);
      equal(stats.maxValues.value_d ?? null, maxD);
      equal(stats.nullCount.value_d, Number(nullD));
      equal(stats.nullCount.device_id, Number(nullS));
      equal(stats.minValues.amount, minA);
      equal(stats.maxValues.amount, maxA);
      equal(stats.nullCount.ts, Number(nullT));
      if (minT !== null) {
        // Stats timestamps have millisecond precision: min truncated down, max rounded up.
        equal(Date.parse(stats.minValues.ts), Number(minT));
        ok(Date.parse(stats.maxValues.ts) >= Number(maxT));
        ok(Date.parse(stats.maxValues.ts) - Number(maxT) <= 1);
      }
      // String bounds are true bounds in UTF-8 byte order.
      const strs = await conn.runAndReadAll(
        `SELECT device_id FROM read_parquet('${file}') WHERE device_id IS NOT NULL`,
      );
      const enc = new TextEncoder();
      const cmp = (a: string, b: string) => {
        const x = enc.encode(a), y = enc.encode(b);
        for (let i = 0; i < Math.min(x.length, y.length); i++) {
          if (x[i] !== y[i]) return x[i]! - y[i]!;
        }
        return x.length - y.length;
      };
      for (const [s] of strs.getRows()) {
        ok(cmp(stats.minValues.device_id, String(s)) <= 0);
        ok(cmp(stats.maxValues.device_id, String(s)) >= 0);
      }
    }
  } finally {
    conn.closeSync();
    await Deno.remove(dir, { recursive: true });
  }
});
