import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createManualClock } from "../../core/clock.ts";
import type { Add } from "../../core/log/actions.ts";
import { commitActions } from "../../core/log/commit.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { readDataFile } from "../../core/scan/read_data_file.ts";
import type { StructField, StructType } from "../../core/schema/types.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createLocalStorage } from "../../core/storage/local.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { appendBatch, createTable } from "../../core/write/mod.ts";
import { rewriteBin } from "./rewrite_bin.ts";
import { duckdbCanRewrite } from "./rewrite_bin_duckdb.ts";

const f = (name: string, type: StructField["type"], nullable = true): StructField => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** Every primitive Delta type, and a partition column. */
const ALL_TYPES: StructType = {
  type: "struct",
  fields: [
    f("id", "long", false),
    f("i", "integer"),
    f("s", "short"),
    f("b", "byte"),
    f("fl", "float"),
    f("d", "double"),
    f("bool", "boolean"),
    f("bin", "binary"),
    f("day", "date"),
    f("ts", "timestamp"),
    f("ntz", "timestamp_ntz"),
    f("dec", "decimal(38,10)"),
    f("small_dec", "decimal(5,2)"),
    f("str", "string"),
    f("part", "string"),
  ],
};

const LONG_STRING = "é".repeat(40) + "😀 tail";

/** Row `n` of a table of ALL_TYPES, with edge values and nulls. */
function row(n: number): Record<string, unknown> {
  const edge = n % 7;
  return {
    id: n === 3 ? 9_007_199_254_740_993n : n === 4 ? -9_223_372_036_854_775_808n : BigInt(n),
    i: edge === 0 ? null : n === 5 ? -2_147_483_648 : n * 1000,
    s: edge === 1 ? null : n === 6 ? 32_767 : -n,
    b: edge === 2 ? null : n === 8 ? -128 : n % 100,
    fl: n === 9 ? "NaN" : n === 10 ? "Infinity" : edge === 3 ? null : n / 3,
    d: n === 11 ? "-Infinity" : n === 12 ? "NaN" : edge === 4 ? null : n * 1.5 - 7,
    bool: edge === 5 ? null : n % 2 === 0,
    bin: edge === 6 ? null : new Uint8Array([n % 256, 0, 255]),
    day: n === 13 ? "0001-01-01" : n === 14 ? "9999-12-31" : edge === 0 ? null : n * 3,
    ts: n === 15
      ? -62_135_596_800_000_000n
      : edge === 1
      ? null
      : 1_718_000_000_123_456n + BigInt(n),
    ntz: edge === 2 ? null : 1_718_000_000_000_001n * 1n + BigInt(n) * 999n,
    dec: edge === 3
      ? null
      : n === 16
      ? "-9999999999999999999999999999.9999999999"
      : `${n}.0000000001`,
    small_dec: edge === 4 ? null : `${n % 1000}.25`,
    str: edge === 5 ? null : n === 17 ? LONG_STRING : n === 18 ? "" : `s-${n}`,
    part: "p",
  };
}

async function tableOf(
  storage: ObjectStorage,
  schema: StructType,
  files: number,
  rowsPerFile: number,
  make: (n: number) => Record<string, unknown>,
  configuration: Record<string, string> = {},
): Promise<Snapshot> {
  const clock = createManualClock(1_000_000);
  let snapshot = await createTable(storage, {
    schema,
    partitionColumns: ["part"],
    clock,
    configuration,
  });
  let n = 0;
  for (let i = 0; i < files; i++) {
    const rows = Array.from({ length: rowsPerFile }, () => make(n++));
    const r = await appendBatch(storage, snapshot, createArrowTable(schema, rows), { clock });
    if (!r.ok) throw new Error(r.reason);
    snapshot = r.snapshot;
  }
  return snapshot;
}

const binOf = (snapshot: Snapshot) => ({
  partitionValues: { part: "p" },
  files: [...snapshot.files],
});

async function rowsOf(storage: ObjectStorage, snapshot: Snapshot, adds: readonly Add[]) {
  const fields = snapshot.schema.fields.filter((x) => x.name !== "part");
  const rows: unknown[] = [];
  for (const add of adds) {
    const read = await readDataFile(await storage.get(add.path), fields, { path: add.path });
    for (const r of read) rows.push(r);
  }
  return rows;
}

for (const backend of ["local", "memory"] as const) {
  Deno.test(`rewriteBin duckdb (${backend}): the rows and statistics of the parquet-wasm engine, for every primitive type`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const storage = backend === "local" ? createLocalStorage(dir) : createMemoryStorage();
      // Indexed columns cut at 12: the last three get no statistics, as computeStats decides.
      const snapshot = await tableOf(storage, ALL_TYPES, 6, 4, row, {
        "delta.dataSkippingNumIndexedCols": "12",
      });
      equal(duckdbCanRewrite(snapshot, binOf(snapshot)), undefined);
      const opts = { targetSizeBytes: 1 << 30 };
      const viaWasm = await rewriteBin(storage, snapshot, binOf(snapshot), {
        ...opts,
        engine: "wasm",
      });
      const viaDuck = await rewriteBin(storage, snapshot, binOf(snapshot), {
        ...opts,
        engine: "duckdb",
      });
      equal(viaDuck.adds.length, 1);
      equal(viaDuck.rowsWritten, 24);
      deepEqual(
        JSON.parse(viaDuck.adds[0]!.stats!),
        JSON.parse(viaWasm.adds[0]!.stats!),
        "the same statistics",
      );
      deepEqual(
        await rowsOf(storage, snapshot, viaDuck.adds),
        await rowsOf(storage, snapshot, viaWasm.adds),
        "the same rows in the same order",
      );
      ok(viaDuck.adds[0]!.path.startsWith("part=p/part-00000-"), viaDuck.adds[0]!.path);
      equal(viaDuck.adds[0]!.dataChange, false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("rewriteBin duckdb: statistics the footer does not state exactly (strings DuckDB truncates, floats with NaN, all null) equal the parquet-wasm engine's", async () => {
  const storage = createMemoryStorage();
  const schema: StructType = {
    type: "struct",
    fields: [
      f("id", "long", false),
      f("huge", "string"),
      f("nan", "double"),
      f("fl", "float"),
      f("none", "date"),
      f("part", "string"),
    ],
  };
  // Past 256 bytes DuckDB's footer keeps a prefix, its max with the last byte raised ("b😀😀…" has
  // the max "c"), flagged inexact; past 10,000 bytes, no bound at all.
  const huge = (n: number) =>
    String.fromCodePoint(0x61 + (n % 3)) + "😀".repeat(n === 8 ? 3_000 : 100 + n);
  const snapshot = await tableOf(storage, schema, 3, 3, (n) => ({
    id: BigInt(n),
    huge: n === 4 ? null : huge(n),
    nan: n % 2 === 0 ? "NaN" : n - 4.5,
    fl: n === 7 ? "NaN" : n === 2 ? "-Infinity" : n / 8,
    none: null,
    part: "p",
  }), { "delta.dataSkippingNumIndexedCols": "-1" });
  const opts = { targetSizeBytes: 1 << 30 };
  const viaWasm = await rewriteBin(storage, snapshot, binOf(snapshot), { ...opts, engine: "wasm" });
  const viaDuck = await rewriteBin(storage, snapshot, binOf(snapshot), {
    ...opts,
    engine: "duckdb",
  });
  const stats = JSON.parse(viaDuck.adds[0]!.stats!);
  deepEqual(stats, JSON.parse(viaWasm.adds[0]!.stats!));
  equal(stats.maxValues.huge, "c" + "😀".repeat(31) + "\u{10FFFF}");
  equal(stats.minValues.huge, "a" + "😀".repeat(31));
  deepEqual(stats.nullCount, { id: 0, huge: 1, nan: 0, fl: 0, none: 9 });
});

const EVENTS: StructType = {
  type: "struct",
  fields: [f("id", "long", false), f("payload", "string"), f("part", "string")],
};
const event = (n: number) => ({ id: BigInt(n), payload: `payload-${n % 97}`, part: "p" });

Deno.test("rewriteBin duckdb: many small files under the target become one file, past any row cap", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    const snapshot = await tableOf(storage, EVENTS, 30, 5_000, event);
    const out = await rewriteBin(storage, snapshot, binOf(snapshot), {
      targetSizeBytes: 128 << 20,
      engine: "duckdb",
    });
    equal(out.adds.length, 1);
    equal(JSON.parse(out.adds[0]!.stats!).numRecords, 150_000);
    const ids = (await rowsOf(storage, snapshot, out.adds)).map((r) => (r as unknown[])[0]);
    deepEqual(ids, Array.from({ length: 150_000 }, (_, i) => BigInt(i)), "in order");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rewriteBin duckdb: over the target, files of about the target size (counted in input bytes)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    const snapshot = await tableOf(storage, EVENTS, 30, 1_000, event);
    const total = snapshot.files.reduce((n, x) => n + x.size, 0);
    const target = Math.ceil(total / 3);
    const out = await rewriteBin(storage, snapshot, binOf(snapshot), {
      targetSizeBytes: target,
      engine: "duckdb",
    });
    equal(out.adds.length, 3);
    equal(out.rowsWritten, 30_000);
    for (const add of out.adds) {
      // Bigger files compress better: an output is at most its inputs' size, and not tiny.
      ok(add.size <= target * 1.1 && add.size > target / 4, `${add.size} vs target ${target}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rewriteBin duckdb: a column added after some files were written reads as null in them", async () => {
  const storage = createMemoryStorage();
  const narrow: StructType = {
    type: "struct",
    fields: [f("id", "long", false), f("part", "string")],
  };
  let snapshot = await tableOf(storage, narrow, 2, 3, (n) => ({ id: BigInt(n), part: "p" }));
  const wide: StructType = {
    type: "struct",
    fields: [f("id", "long", false), f("extra", "timestamp"), f("part", "string")],
  };
  const r = await commitActions(storage, snapshot, {
    operation: "ADD COLUMNS",
    actions: [{ metaData: { ...snapshot.metadata, schemaString: JSON.stringify(wide) } }],
  });
  if (!r.ok) throw new Error(r.reason);
  snapshot = await loadSnapshot(storage, {});
  const a = await appendBatch(
    storage,
    snapshot,
    createArrowTable(wide, [{ id: 6n, extra: 1_000_000n, part: "p" }]),
  );
  if (!a.ok) throw new Error(a.reason);
  snapshot = a.snapshot;
  const out = await rewriteBin(storage, snapshot, binOf(snapshot), {
    targetSizeBytes: 1 << 30,
    engine: "duckdb",
  });
  deepEqual(await rowsOf(storage, snapshot, out.adds), [
    ...[0n, 1n, 2n, 3n, 4n, 5n].map((id) => [id, null]),
    [6n, 1_000_000n],
  ]);
  deepEqual(JSON.parse(out.adds[0]!.stats!).nullCount, { id: 0, extra: 6 });
});

Deno.test("rewriteBin: bins DuckDB cannot rewrite exactly go to parquet-wasm, or are refused with engine duckdb", async () => {
  const nested: StructType = {
    type: "struct",
    fields: [
      f("id", "long", false),
      f("tags", { type: "array", elementType: "string", containsNull: true }),
      f("part", "string"),
    ],
  };
  const storage = createMemoryStorage();
  const snapshot = await tableOf(storage, nested, 3, 2, (n) => ({
    id: BigInt(n),
    tags: [`t${n}`],
    part: "p",
  }));
  equal(duckdbCanRewrite(snapshot, binOf(snapshot)), "column tags is nested");
  const out = await rewriteBin(storage, snapshot, binOf(snapshot), { targetSizeBytes: 1 << 30 });
  equal(out.rowsWritten, 6);
  await rejects(
    rewriteBin(storage, snapshot, binOf(snapshot), { targetSizeBytes: 1 << 30, engine: "duckdb" }),
    /Cannot rewrite with DuckDB: column tags is nested/,
  );
  const withDv = {
    partitionValues: { part: "p" },
    files: [{
      ...snapshot.files[0]!,
      deletionVector: {
        storageType: "i" as const,
        pathOrInlineDv: "x",
        sizeInBytes: 1,
        cardinality: 1,
      },
    }],
  };
  equal(duckdbCanRewrite(snapshot, withDv), "a file has a deletion vector");
});

Deno.test("rewriteBin: the engine option is checked", async () => {
  const storage = createMemoryStorage();
  const snapshot = await tableOf(storage, EVENTS, 1, 1, event);
  await rejects(
    rewriteBin(storage, snapshot, binOf(snapshot), {
      targetSizeBytes: 1,
      engine: "spark" as "wasm",
    }),
    /engine must be auto, duckdb or wasm, got "spark"/,
  );
});

Deno.test("rewriteBin duckdb: file names DuckDB would read as globs or quotes are read as names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await tableOf(storage, EVENTS, 2, 3, event);
    // Another writer's names: glob characters and a quote (files of the same content as ours).
    const renamed = snapshot.files.map((add, i) => ({
      ...add,
      path: `part=p/odd-[${i}]-*?-'{a,b}.parquet`,
    }));
    for (let i = 0; i < renamed.length; i++) {
      await storage.put(renamed[i]!.path, await storage.get(snapshot.files[i]!.path));
    }
    const r = await commitActions(storage, snapshot, {
      operation: "RENAME",
      actions: [
        ...snapshot.files.map((add) => ({
          remove: { path: add.path, deletionTimestamp: 1, dataChange: false },
        })),
        ...renamed.map((add) => ({ add: { ...add, dataChange: false } })),
      ],
    });
    if (!r.ok) throw new Error(r.reason);
    snapshot = await loadSnapshot(storage, {});
    const out = await rewriteBin(storage, snapshot, binOf(snapshot), {
      targetSizeBytes: 1 << 30,
      engine: "duckdb",
    });
    const ids = (await rowsOf(storage, snapshot, out.adds)).map((row) => (row as unknown[])[0]);
    deepEqual(ids, [0n, 1n, 2n, 3n, 4n, 5n]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
