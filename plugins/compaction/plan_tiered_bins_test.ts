import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import type { Add } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { CompactionBin } from "../types.ts";
import {
  fullRowsOf,
  numRecordsOf,
  partitionsToCompact,
  planTiers,
  READ_BUDGET_FILES_MIN,
  readBudgetOf,
  tierCountOf,
  tierOf,
} from "./plan_tiered_bins.ts";

const FULL_ROWS = 100_000;
const TARGET = 1 << 30;

function snapshotOf(files: Add[]): Snapshot {
  return { files, metadata: { partitionColumns: ["p"], configuration: {} } } as unknown as Snapshot;
}

let serial = 0;
function fileOf(p: string | null, rows: number, bytes: number, time: number): Add {
  return {
    path: `f${serial++}`,
    partitionValues: { p },
    size: bytes,
    modificationTime: time,
    dataChange: true,
    stats: JSON.stringify({ numRecords: rows }),
  };
}

const opts = { fullRows: FULL_ROWS, fanout: 10, targetSizeBytes: TARGET };

/** The model of a rewrite: one output file with the rows and bytes of its inputs, written now. */
function applyPlan(files: Add[], bins: CompactionBin[], time: number): Add[] {
  const planned = new Set(bins.flatMap((b) => b.files.map((f) => f.path)));
  const outputs = bins.map((b) =>
    fileOf(
      b.partitionValues.p ?? null,
      b.files.reduce((n, f) => n + numRecordsOf(f)!, 0),
      b.files.reduce((n, f) => n + f.size, 0),
      time,
    )
  );
  return [...files.filter((f) => !planned.has(f.path)), ...outputs];
}

const fileSpec = fc.record({
  rows: fc.integer({ min: 1, max: 60_000 }),
  bytesPerRow: fc.integer({ min: 1, max: 50 }),
  p: fc.constantFrom("a", "b", null),
});

Deno.test("tiers: a one-row file is in tier 0, a full file above every tier", () => {
  equal(tierCountOf(100_000, 10), 5);
  equal(tierCountOf(2, 2), 1);
  equal(tierOf(fileOf(null, 1, 10, 0), opts), 0);
  equal(tierOf(fileOf(null, 9_999, 10, 0), opts), 3);
  equal(tierOf(fileOf(null, 10_000, 10, 0), opts), 4);
  equal(tierOf(fileOf(null, 100_000, 10, 0), opts), 5);
  // Bytes weigh in: a file of few rows but the target's size is full.
  equal(tierOf(fileOf(null, 1, TARGET, 0), opts), 5);
  throws(() => planTiers(snapshotOf([]), { fanout: 1 }), /fanout/);
  throws(
    () => planTiers(snapshotOf([]), { partitionFilter: { q: "x" } }),
    /not a partition column/,
  );
});

Deno.test("planTiers: property: every file in at most one bin, bins within one partition and one tier", () => {
  fc.assert(
    fc.property(
      fc.array(fileSpec, { maxLength: 120 }),
      fc.integer({ min: 2, max: 12 }),
      (specs, fanout) => {
        const files = specs.map((s, i) => fileOf(s.p, s.rows, s.rows * s.bytesPerRow, i % 7));
        const o = { ...opts, fanout };
        const plan = planTiers(snapshotOf(files), o);
        const readBins = new Set(plan.partitions.map((p) => p.readBin));
        const seen = new Set<string>();
        for (const bin of plan.bins) {
          const tiers = new Set(bin.files.map((f) => tierOf(f, o)));
          if (readBins.has(bin)) {
            // The smallest files across tiers, each weighing no more than those before it.
            ok(bin.files.length >= 2, "read bin size");
            let before = 0;
            for (const f of bin.files) {
              const rows = numRecordsOf(f)!;
              ok(
                before === 0 || rows <= 2 * before,
                "a read bin file outweighs the ones before it",
              );
              before += rows;
            }
            ok(before < FULL_ROWS, "a read bin weighs a full file");
          } else {
            ok(bin.files.length >= 2 && bin.files.length <= fanout, "bin size");
            equal(tiers.size, 1, "a bin mixes tiers");
          }
          ok(Math.max(...tiers) < plan.tierCount, "a full file is planned");
          for (const f of bin.files) {
            equal(f.partitionValues.p, bin.partitionValues.p, "a bin mixes partitions");
            ok(!seen.has(f.path), "a file in two bins");
            seen.add(f.path);
          }
        }
      },
    ),
  );
});

Deno.test("planTiers: property: a partition compacted to its tiers gets no plan, at most fanout - 1 files a tier", () => {
  fc.assert(
    fc.property(fc.array(fileSpec, { maxLength: 150 }), (specs) => {
      let files = specs.map((s, i) => fileOf(s.p, s.rows, s.rows * s.bytesPerRow, i));
      let time = specs.length;
      for (let round = 0; round < 20; round++) {
        const bins = planTiers(snapshotOf(files), opts).bins;
        if (bins.length === 0) break;
        files = applyPlan(files, bins, time++);
      }
      const plan = planTiers(snapshotOf(files), opts);
      deepEqual(plan.bins, [], "rounds did not settle");
      for (const p of plan.partitions) {
        for (const t of p.tiers) if (t.tier < plan.tierCount) ok(t.files <= 9, `tier ${t.tier}`);
      }
      // A settled table is not a trigger, whatever the thresholds.
      deepEqual(partitionsToCompact(snapshotOf(files), { ...opts, triggerFiles: 1 }), []);
    }),
  );
});

Deno.test("planTiers: property: write amplification is at most the tier count, plus log1.5(fullRows) with read bins", () => {
  fc.assert(
    fc.property(
      fc.array(fileSpec, { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 2, max: 10 }),
      fc.boolean(),
      (specs, fanout, readBins) => {
        const o = { ...opts, fanout, ...(readBins ? {} : { readAmplificationMax: Infinity }) };
        let files: Add[] = [];
        let ingested = 0;
        let rewritten = 0;
        let time = 0;
        // Ingest one file at a time; compact whatever the planner plans after each commit.
        for (const s of specs) {
          files.push(fileOf(s.p, s.rows, s.rows * s.bytesPerRow, time++));
          ingested += s.rows;
          const bins = planTiers(snapshotOf(files), o).bins;
          rewritten += bins.reduce(
            (n, b) => n + b.files.reduce((m, f) => m + numRecordsOf(f)!, 0),
            0,
          );
          files = applyPlan(files, bins, time++);
        }
        // A tier bin lifts a row one tier at least; a read bin makes its file 1.5 times bigger.
        const bound = tierCountOf(FULL_ROWS, fanout) +
          (readBins ? Math.log(FULL_ROWS) / Math.log(1.5) : 0);
        ok(rewritten / ingested <= bound, `${rewritten / ingested} > ${bound}`);
      },
    ),
  );
});

Deno.test("planTiers: property: the first bins serve every (partition, tier) that has one", () => {
  fc.assert(
    fc.property(fc.array(fileSpec, { maxLength: 200 }), (specs) => {
      const files = specs.map((s, i) => fileOf(s.p, s.rows, s.rows * s.bytesPerRow, i));
      const plan = planTiers(snapshotOf(files), opts);
      // Read bins come first, then the tier bins take turns.
      const readBins = plan.partitions.flatMap((p) => p.readBin ? [p.readBin] : []);
      deepEqual(plan.bins.slice(0, readBins.length), readBins);
      const tierBins = plan.bins.slice(readBins.length);
      const key = (b: CompactionBin) => `${b.partitionValues.p}/${tierOf(b.files[0]!, opts)}`;
      const groups = new Set(tierBins.map(key));
      equal(new Set(tierBins.slice(0, groups.size).map(key)).size, groups.size);
      equal(plan.bins.length, plan.partitions.reduce((n, p) => n + p.bins.length, 0));
    }),
  );
});

Deno.test("partitionsToCompact: files or bytes reach the threshold, and the plan is not empty", () => {
  const files = [
    ...Array.from({ length: 50 }, (_, i) => fileOf("a", 400, 4_000, i)),
    ...Array.from({ length: 49 }, (_, i) => fileOf("b", 400, 4_000, i)),
    ...Array.from({ length: 4 }, (_, i) => fileOf("c", 400, 1_000_000, i)),
  ];
  const s = snapshotOf(files);
  deepEqual(partitionsToCompact(s).map((p) => p.partitionValues.p), ["a"]);
  deepEqual(
    partitionsToCompact(s, { triggerFiles: 49 }).map((p) => p.partitionValues.p),
    ["a", "b"],
  );
  // Partition c: 4 MB of small files reach a 2 MB byte threshold (rows 400 of 100,000 each, but
  // 1 MB of a 4 MB target weighs a quarter: tier 4 of 5, and four files make a full one).
  deepEqual(
    partitionsToCompact(s, { triggerBytes: 2_000_000, targetSizeBytes: 4_000_000 })
      .map((p) => p.partitionValues.p),
    ["a", "c"],
  );
  // Three such files are a trigger by bytes, but weigh less than a full file: no plan, no trigger.
  const three = snapshotOf(files.filter((f) => f.partitionValues.p === "c").slice(0, 3));
  deepEqual(
    partitionsToCompact(three, { triggerBytes: 2_000_000, targetSizeBytes: 4_000_000 }),
    [],
  );
  deepEqual(partitionsToCompact(s, { partitionFilter: { p: "b" }, triggerFiles: 10 }).length, 1);
});

Deno.test("fullRowsOf: DuckDB's scale (rows of a target-size file) when it rewrites the table, else the row cap", () => {
  const primitive = {
    type: "struct" as const,
    fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
  };
  const nested = {
    type: "struct" as const,
    fields: [{
      name: "tags",
      type: { type: "array" as const, elementType: "string" as const, containsNull: true },
      nullable: true,
      metadata: {},
    }],
  };
  // 10 bytes a row: a 1 GiB target holds 107,374,182 rows.
  const files = [fileOf("a", 1_000, 10_000, 1), fileOf("a", 3_000, 30_000, 2)];
  const table = (schema: unknown, mode = "none") =>
    ({ ...snapshotOf(files), schema, columnMappingMode: mode }) as unknown as Snapshot;
  equal(fullRowsOf(table(primitive), TARGET), Math.floor(TARGET / 10));
  equal(fullRowsOf(table(nested), TARGET), FULL_ROWS, "parquet-wasm rewrites nested tables");
  equal(fullRowsOf(table(primitive, "name"), TARGET), FULL_ROWS, "and column-mapped ones");
  equal(fullRowsOf(snapshotOf(files), TARGET), FULL_ROWS, "no schema given: the row cap");
  // Wide rows never make the scale smaller than the row cap.
  equal(fullRowsOf(table(primitive), 1_000), FULL_ROWS);
  // On DuckDB's scale a file of 100,000 rows is not full: it is planned with its tier.
  const big = Array.from({ length: 10 }, (_, i) => fileOf("a", 100_000, 1_000_000, 10 + i));
  const duck = { ...table(primitive), files: big } as unknown as Snapshot;
  ok(planTiers(duck, { targetSizeBytes: TARGET }).bins.length > 0);
  equal(planTiers(snapshotOf(big), { targetSizeBytes: TARGET }).bins.length, 0);
});

Deno.test("readBudgetOf: files a reader tolerates within the bound, never fewer than the minimum", () => {
  equal(readBudgetOf(0), READ_BUDGET_FILES_MIN);
  equal(readBudgetOf(370_000), 6);
  equal(readBudgetOf(380_000), 7);
  equal(readBudgetOf(1_000_000), 16);
  equal(readBudgetOf(10_000_000), 151);
  equal(readBudgetOf(1_000_000, { readAmplificationMax: 2, readFileCostRows: 1_000 }), 1_002);
  equal(readBudgetOf(5, { readAmplificationMax: Infinity }), Infinity);
  throws(() => planTiers(snapshotOf([]), { readAmplificationMax: 0.5 }), /readAmplificationMax/);
  throws(() => planTiers(snapshotOf([]), { readFileCostRows: 0 }), /readFileCostRows/);
  throws(() => readBudgetOf(1, { readAmplificationMax: Number.NaN }), /readAmplificationMax/);
  throws(() => readBudgetOf(1, { readFileCostRows: Infinity }), /readFileCostRows/);
});

Deno.test("planTiers: a partition over its read budget merges its smallest files across tiers", () => {
  // Five files of 1,000 rows (tier 3, five short of a bin) and three of 100 (tier 2, 300 rows of
  // the 1,000 that close a bin): no tier bin, but 8 files of 5,300 rows exceed the budget of 6.
  const files = [
    ...Array.from({ length: 5 }, (_, i) => fileOf("a", 1_000, 10_000, i)),
    ...Array.from({ length: 3 }, (_, i) => fileOf("a", 100, 1_000, 20 + i)),
  ];
  const plan = planTiers(snapshotOf(files), opts);
  const [p] = plan.partitions;
  equal(p!.readBudget, 6);
  // The three smallest; a 1,000-row file outweighs their 300 rows and stays.
  deepEqual(p!.readBin?.files.map((f) => numRecordsOf(f)), [100, 100, 100]);
  deepEqual(plan.bins, [p!.readBin]);
  // Due with far fewer small files than the trigger's 50.
  deepEqual(partitionsToCompact(snapshotOf(files)).map((d) => d.partitionValues.p), ["a"]);
  // Within the budget (6 files), or with the read bins off: nothing planned, nothing due.
  const six = files.slice(0, 6);
  deepEqual(planTiers(snapshotOf(six), opts).bins, []);
  deepEqual(partitionsToCompact(snapshotOf(six)), []);
  deepEqual(planTiers(snapshotOf(files), { ...opts, readAmplificationMax: Infinity }).bins, []);
  deepEqual(partitionsToCompact(snapshotOf(files), { readAmplificationMax: Infinity }), []);
  // A file the next one outweighs more than twice is passed over: with one file of 100 rows and
  // six of 1,000 (7 files, budget 6), five of the 1,000-row files merge and the 100 stays.
  const lone = [...files.slice(0, 6), fileOf("a", 1_000, 10_000, 30)];
  deepEqual(
    planTiers(snapshotOf(lone), opts).partitions[0]!.readBin?.files.map((f) => numRecordsOf(f)),
    [1_000, 1_000, 1_000, 1_000, 1_000],
  );
});

Deno.test("planTiers: property: steady ingest, compacted until settled, stays within the read budget or holds a staircase of files", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6_000 }),
      fc.integer({ min: 1, max: 400 }),
      (rows, commits) => {
        let files: Add[] = [];
        let time = 0;
        for (let i = 0; i < commits; i++) {
          files.push(fileOf("a", rows, rows * 10, time++));
          // Compact until the plan is empty, as the trigger does after each compaction commit:
          // a tier bin's output is not a read bin's candidate in the plan that makes it.
          for (let round = 0; round < 20; round++) {
            const bins = planTiers(snapshotOf(files), opts).bins;
            if (bins.length === 0) break;
            files = applyPlan(files, bins, time++);
          }
          deepEqual(planTiers(snapshotOf(files), opts).bins, [], "rounds did not settle");
          const rowsNow = files.reduce((n, f) => n + numRecordsOf(f)!, 0);
          if (files.length <= readBudgetOf(rowsNow)) continue;
          // Over it only when no read bin is left: each small file outweighs twice the one below.
          const small = files.map((f) => numRecordsOf(f)!).filter((n) => n < FULL_ROWS)
            .sort((a, b) => a - b);
          for (let k = 1; k < small.length; k++) {
            ok(small[k]! > 2 * small[k - 1]!, `${files.length} files, ${rowsNow} rows: ${small}`);
          }
        }
      },
    ),
  );
});
