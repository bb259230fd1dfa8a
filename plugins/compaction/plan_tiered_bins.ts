/**
 * The tiered (LSM-style, size-tiered) compaction planner: files are sorted into size classes that
 * grow by a factor `fanout`, and a tier bin merges files of one class into one file of the next
 * class up. Small files therefore merge quickly and cheaply into medium ones, medium ones rarely
 * into full ones, and every row is rewritten at most once per class it climbs:
 * O(log_fanout(full / small)) times in all, never once per compaction run.
 *
 * A file weighs its rows (from its stats; without stats, the rows its bytes hold at
 * `target / fullRows` bytes a row), and on the row cap's scale also its bytes. A file of `fullRows`
 * rows or of the target size is full: the rewrite cannot make a bigger
 * one, so it is never planned. `fullRows` is what the rewrite engine can write
 * ({@linkcode fullRowsOf}): when DuckDB rewrites the table's bins, the rows of a target-size file at
 * the table's bytes per row (rows weigh in because merged files compress better than their inputs,
 * so bytes alone would leave an output in its inputs' tier); with parquet-wasm, its row cap
 * {@linkcode OUTPUT_FILE_ROWS_MAX} (ADR 0043). Below full, tiers are anchored at one row and grow by
 * `fanout`: tier 0 holds weights in [1, fanout), tier 1 [fanout, fanout²), ..., and the top tier,
 * `tierCount - 1`, [fanout^(tierCount - 1), fullRows) (`tierCount` is the least `n` with
 * `fanout^n >= fullRows`: 5 for 100,000 rows and a fanout of 10).
 *
 * ```
 *  weight (rows):  <10      [10,100)   [100,1e3)  [1e3,1e4)  [1e4,1e5)   >=1e5 (fullRows 100,000)
 *                  tier 0 ─▶ tier 1 ──▶ tier 2 ──▶ tier 3 ──▶ tier 4 ───▶ full (never rewritten)
 *           (one bin: consecutive files of one tier of one partition, closed as soon as its
 *            weight reaches the lower bound of the next tier: at most `fanout` files)
 * ```
 *
 * Within a partition and a tier the files are taken in `modificationTime` order (log order on ties)
 * and packed consecutively, as the bin-packing planner does, so rows written together stay
 * together. A bin is closed as soon as its weight reaches the lower bound of the next tier; the
 * open remainder waits for more files. Since every file of a tier weighs at least 1/fanout of that
 * bound, a bin holds at most `fanout` files and its output lands in the next tier (rows add up
 * exactly; bytes usually shrink a little as a merged file compresses better, which is why rows
 * weigh in). A partition where no tier can close a bin, and no read bin is due (below), is "at its
 * tiers": it holds at most `fanout - 1` files per tier and nothing is planned for it, so a quiet
 * table is never rewritten for nothing.
 *
 * Tiers alone let a partition hold up to `fanout - 1` files a tier plus what arrived since the last
 * run, which a reader of a small partition pays for: DuckDB pays for a file about what it pays for
 * 12,000 to 38,000 event rows, so 29 files of 76,000 rows read 3.4× slower than one (ADR 0051). Every
 * partition therefore has a read budget ({@linkcode readBudgetOf}: the files a reader tolerates
 * within `readAmplificationMax`, 1.3, of one file), and a partition that the tier bins leave over
 * it also gets a read bin: its smallest files across tiers, each joining only files that together
 * weigh at least half as much, so a row is rewritten by read bins at most log1.5(fullRows) times
 * ({@linkcode PartitionTiers.readBin}). A large partition's budget is larger than its tiers hold,
 * so read bins serve small partitions: the first minutes of a table or a day.
 *
 * The trigger ({@linkcode partitionsToCompact}) asks for a compaction of a partition when its
 * non-full files reach `triggerFiles` (default 50, as Databricks' auto compaction) or their bytes
 * reach `triggerBytes` (default the target size), or it has a read bin, and the plan for it is not
 * empty.
 *
 * Pure: it reads only the snapshot, never storage.
 *
 * @module
 */
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { CompactionBin } from "../types.ts";
import { checkPartitionFilter } from "./check_compaction_plan.ts";
import { matchesFilter, type PlanCompactionOptions, targetSizeOf } from "./plan_compaction_bins.ts";
import { OUTPUT_FILE_ROWS_MAX } from "./rewrite_bin.ts";
import { duckdbCanRewriteTable } from "./rewrite_bin_duckdb.ts";

/** Default growth factor between two tiers. */
export const TIER_FANOUT_DEFAULT = 10;
/** Default non-full files of a partition that trigger its compaction (Databricks' auto compaction). */
export const TRIGGER_FILES_DEFAULT = 50;
/**
 * Default bound on a full read of a partition against the same rows in one file, in the readers'
 * cost model ({@linkcode readBudgetOf}): the read budget keeps it below this.
 */
export const READ_AMPLIFICATION_MAX_DEFAULT = 1.3;
/**
 * What one more file costs a reader, in rows: in the soaks (ADR 0051) DuckDB paid for a further
 * file what it paid for about 12,000 event rows at 10,000 events/s (0.51 ms, 43 ns a row) and
 * for about 38,000 at 125,000 events/s (CPU time, 1.1 ms, 29 ns a row).
 */
export const READ_FILE_COST_ROWS_DEFAULT = 20_000;
/** Files a partition may always hold before its read budget asks for a merge. */
export const READ_BUDGET_FILES_MIN = 6;

/** Options of {@linkcode planTieredBins}. */
export interface PlanTieredOptions {
  /** Target file size in bytes; default `delta.targetFileSize`, else 128 MiB. */
  targetSizeBytes?: number;
  /** Rows of a full file; default {@linkcode fullRowsOf} the snapshot. */
  fullRows?: number;
  /** Growth factor between two tiers, from 2; default {@linkcode TIER_FANOUT_DEFAULT}. */
  fanout?: number;
  /** Only partitions whose values equal all of these (as {@linkcode PlanCompactionOptions}). */
  partitionFilter?: PlanCompactionOptions["partitionFilter"];
  /**
   * The read budget's bound ({@linkcode readBudgetOf}), at least 1; default
   * {@linkcode READ_AMPLIFICATION_MAX_DEFAULT}. `Infinity` turns the read bins off.
   */
  readAmplificationMax?: number;
  /** What one more file costs a reader, in rows; default {@linkcode READ_FILE_COST_ROWS_DEFAULT}. */
  readFileCostRows?: number;
}

/** The files of one tier of one partition. */
export interface TierSummary {
  /** Tier index, 0 the smallest; `tierCount` stands for full files. */
  tier: number;
  files: number;
  bytes: number;
  /** Rows, from the stats (files without stats count 0). */
  rows: number;
  /** Bins the planner would rewrite from this tier now. */
  binsPlanned: number;
  /** Files those bins hold. */
  filesPlanned: number;
}

/** The tiers of one partition. */
export interface PartitionTiers {
  partitionValues: Record<string, string | null>;
  /** Every tier that holds a file, smallest first; the last may be the full files. */
  tiers: TierSummary[];
  /** Files below full and their bytes: what the trigger counts. */
  smallFiles: number;
  smallBytes: number;
  /** Files a full read of the partition tolerates ({@linkcode readBudgetOf} its rows). */
  readBudget: number;
  /**
   * The bin of the partition's smallest files, across tiers, that brings it back within its read
   * budget when the tier bins do not; also one of `bins`.
   */
  readBin: CompactionBin | undefined;
  /** The bins the planner would rewrite now, in tier order, the read bin last. */
  bins: CompactionBin[];
}

/** The tier layout of a table: per partition, and the figures it rests on. */
export interface TieredPlan {
  /** Tiers below full; a row is rewritten at most this many times (the write amplification bound). */
  tierCount: number;
  fanout: number;
  fullRows: number;
  targetSizeBytes: number;
  partitions: PartitionTiers[];
  /** Every bin of every partition. */
  bins: CompactionBin[];
}

/** Rows of a file from its stats, or `undefined` when it has none. */
export function numRecordsOf(add: Add): number | undefined {
  const parsed = add.statsParsed?.["numRecords"];
  if (typeof parsed === "number") return parsed;
  if (typeof parsed === "bigint") return Number(parsed);
  if (!add.stats) return undefined;
  try {
    const n = JSON.parse(add.stats)?.numRecords;
    return typeof n === "number" ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tiers below full for a full file of `fullRows` rows: the least `n` with `fanout^n >= fullRows`,
 * so a one-row file lands in tier 0. At least 1.
 */
export function tierCountOf(fullRows: number, fanout: number): number {
  let n = 1;
  while (fanout ** n < fullRows) n++;
  return n;
}

/** The scale of the tiers: a full file, the growth factor, and how many tiers lie below full. */
interface Scale {
  fullRows: number;
  target: number;
  fanout: number;
  tierCount: number;
  /**
   * Bytes weigh below full too (the row cap's scale, where a wide row reaches the target before
   * the cap). Not on DuckDB's scale: `fullRows` already converts the target to rows at the table's
   * bytes per row, and a small file's fixed overhead would make it weigh more rows than it holds.
   */
  bytesWeigh: boolean;
}

/**
 * True when a file (or a bin) of `rows` rows (from its stats; see {@linkcode rowsOf}) and `bytes`
 * bytes reaches the lower bound of the tier `d` levels below full, or the target size (a bin never
 * grows past it): full itself for `d = 0` (`fullRows` rows or the target's bytes), else
 * `fanout^(tierCount - d)` rows, or on the row cap's scale the bytes that many rows take at
 * `target / fullRows` bytes a row. The bounds are anchored at one row, so the small tiers are the
 * same whatever `fullRows` is (tier 0 holds 1 to `fanout - 1` rows, tier 1 up to `fanout² - 1`,
 * ...), and only the top tier, below full, grows with it.
 */
function weighsAtLeast(s: Scale, rows: number, bytes: number, d: number): boolean {
  if (bytes >= s.target) return true;
  const bound = d === 0 ? s.fullRows : s.fanout ** (s.tierCount - d);
  return rows >= bound || (s.bytesWeigh && bytes * s.fullRows >= bound * s.target);
}

/** A file's rows from its stats; without stats, the rows its bytes hold at full's scale. */
function rowsOf(s: Scale, add: Add): number {
  return numRecordsOf(add) ?? Math.floor(add.size * (s.fullRows / s.target));
}

/** The tier of a file of `rows` rows and `bytes` bytes; `tierCount` when it is full. */
function tierOfWeight(s: Scale, rows: number, bytes: number): number {
  if (weighsAtLeast(s, rows, bytes, 0)) return s.tierCount;
  for (let d = 1; d < s.tierCount; d++) {
    if (weighsAtLeast(s, rows, bytes, d)) return s.tierCount - d;
  }
  return 0;
}

/** The table's files as the planners see them; the schema, when given, tells the rewrite engine. */
export type TieredSnapshot =
  & Pick<Snapshot, "files" | "metadata">
  & Partial<Pick<Snapshot, "schema" | "columnMappingMode">>;

/** Most rows of a full file the estimate gives (keeps the tier count small). */
const FULL_ROWS_MAX = 2 ** 40;

/**
 * Rows of a full file, when the caller does not say: the rows of `target` bytes at the table's
 * average bytes per row when DuckDB rewrites the table's bins (its files are cut at the target size
 * only), else {@linkcode OUTPUT_FILE_ROWS_MAX} (the parquet-wasm engine's row cap). Never less than
 * that cap: a table of wide rows keeps the old scale.
 */
export function fullRowsOf(snapshot: TieredSnapshot, target: number): number {
  if (snapshot.schema === undefined || snapshot.columnMappingMode === undefined) {
    return OUTPUT_FILE_ROWS_MAX;
  }
  if (duckdbCanRewriteTable(snapshot as Pick<Snapshot, "schema" | "columnMappingMode">)) {
    return OUTPUT_FILE_ROWS_MAX;
  }
  let rows = 0;
  let bytes = 0;
  for (const add of snapshot.files) {
    const n = numRecordsOf(add);
    if (n === undefined || n === 0) continue;
    rows += n;
    bytes += add.size;
  }
  if (rows === 0 || bytes === 0) return OUTPUT_FILE_ROWS_MAX;
  const estimate = Math.floor(target * (rows / bytes));
  return Math.min(FULL_ROWS_MAX, Math.max(OUTPUT_FILE_ROWS_MAX, estimate));
}

function scaleOf(
  snapshot: TieredSnapshot,
  options: PlanTieredOptions,
): Scale {
  const target = targetSizeOf(snapshot.metadata.configuration, options.targetSizeBytes);
  const fullRows = options.fullRows ?? fullRowsOf(snapshot, target);
  const bytesWeigh = options.fullRows !== undefined || fullRows === OUTPUT_FILE_ROWS_MAX;
  const fanout = options.fanout ?? TIER_FANOUT_DEFAULT;
  if (!Number.isSafeInteger(fullRows) || fullRows < 1) {
    throw new InvalidArgumentError(`Cannot compact: fullRows must be >= 1, got ${fullRows}`);
  }
  if (!Number.isSafeInteger(fanout) || fanout < 2 || fanout > 1000) {
    throw new InvalidArgumentError(
      `Cannot compact: the tier fanout must be an integer from 2 to 1000, got ${fanout}`,
    );
  }
  return { fullRows, target, fanout, tierCount: tierCountOf(fullRows, fanout), bytesWeigh };
}

/** The read budget's options of a planner call. */
export type ReadBudgetOptions = Pick<
  PlanTieredOptions,
  "readAmplificationMax" | "readFileCostRows"
>;

/**
 * Check the read budget's options: `readAmplificationMax` a number of at least 1 (`Infinity`
 * allowed), `readFileCostRows` a positive finite number.
 *
 * @throws {InvalidArgumentError} naming the option and the value
 */
export function checkReadBudgetOptions(options: ReadBudgetOptions): void {
  const max = options.readAmplificationMax;
  if (max !== undefined && !(typeof max === "number" && max >= 1)) {
    throw new InvalidArgumentError(
      `Cannot compact: readAmplificationMax must be a number >= 1, got ${max}`,
    );
  }
  const cost = options.readFileCostRows;
  if (cost !== undefined && !(Number.isFinite(cost) && cost > 0)) {
    throw new InvalidArgumentError(
      `Cannot compact: readFileCostRows must be a positive number, got ${cost}`,
    );
  }
}

/**
 * The files a full read of a partition of `rows` rows tolerates: the most `n` for which a reader
 * that pays `fileCostRows` rows' worth for every file reads it within `readAmplificationMax` of
 * the same rows in one file, `(n × fileCostRows + rows) / (fileCostRows + rows) ≤ max`, so
 * `n ≤ max + (max - 1) × rows / fileCostRows`; never fewer than {@linkcode READ_BUDGET_FILES_MIN}.
 * With the defaults: 6 files below 380,000 rows, 16 at a million, 151 at ten million.
 *
 * @example
 * ```ts
 * import { readBudgetOf } from "./plan_tiered_bins.ts";
 * if (readBudgetOf(1_000_000) !== 16) throw new Error();
 * ```
 */
export function readBudgetOf(rows: number, options: ReadBudgetOptions = {}): number {
  checkReadBudgetOptions(options);
  const max = options.readAmplificationMax ?? READ_AMPLIFICATION_MAX_DEFAULT;
  const cost = options.readFileCostRows ?? READ_FILE_COST_ROWS_DEFAULT;
  if (max === Infinity) return Infinity;
  return Math.max(READ_BUDGET_FILES_MIN, Math.floor(max + (max - 1) * rows / cost));
}

/**
 * The tier of `add` (0 the smallest, `tierCount` for a full file) on a table whose files are full
 * at `fullRows` rows or `targetSizeBytes` bytes.
 *
 * @example
 * ```ts
 * import { tierOf } from "./plan_tiered_bins.ts";
 * const add = { path: "a", partitionValues: {}, size: 1000, modificationTime: 0, dataChange: true,
 *   stats: JSON.stringify({ numRecords: 400 }) };
 * // 400 rows of 100,000: in [1/1000, 1/100), tier 2 of 5.
 * if (tierOf(add, { fullRows: 100_000, fanout: 10, targetSizeBytes: 1 << 30 }) !== 2) throw new Error();
 * ```
 */
export function tierOf(
  add: Add,
  options: { fullRows: number; fanout: number; targetSizeBytes: number },
): number {
  const s: Scale = {
    fullRows: options.fullRows,
    target: options.targetSizeBytes,
    fanout: options.fanout,
    tierCount: tierCountOf(options.fullRows, options.fanout),
    bytesWeigh: true,
  };
  return tierOfWeight(s, rowsOf(s, add), add.size);
}

/**
 * The tiers of every partition of `snapshot` and the bins the planner would rewrite now (see the
 * module documentation). Partitions come in the order their first file appears, each with its bins
 * in tier order, smallest first; the plan's `bins` take one bin of each (partition, tier) in turn,
 * the largest tiers first, so the first bins of a run serve every partition and every tier.
 *
 * @throws {InvalidArgumentError} for a fanout outside 2 to 1000, a `fullRows` below 1, or a
 * partition filter on a column that is not a partition column
 *
 * @example
 * ```ts
 * import type { Snapshot } from "../../core/snapshot/snapshot.ts";
 * import { planTiers } from "./plan_tiered_bins.ts";
 * const file = (i: number, rows: number) => ({ path: `f${i}`, partitionValues: {}, size: rows * 10,
 *   modificationTime: i, dataChange: true, stats: JSON.stringify({ numRecords: rows }) });
 * // Twelve files of 300 rows (tier 2 of 5 for 100,000-row files): 300 × 4 reaches 1,000 rows,
 * // the lower bound of tier 3, so three bins of four files; nothing is left.
 * const files = Array.from({ length: 12 }, (_, i) => file(i, 300));
 * const snapshot = { files, metadata: { partitionColumns: [], configuration: {} } } as unknown as Snapshot;
 * const plan = planTiers(snapshot);
 * if (plan.bins.length !== 3 || plan.tierCount !== 5) throw new Error("unexpected plan");
 * ```
 */
export function planTiers(
  snapshot: TieredSnapshot,
  options: PlanTieredOptions = {},
): TieredPlan {
  const s = scaleOf(snapshot, options);
  checkReadBudgetOptions(options);
  checkPartitionFilter(snapshot, options.partitionFilter);
  const partitionColumns = snapshot.metadata.partitionColumns;
  type Entry = { add: Add; rows: number; weight: number; tier: number };
  const byPartition = new Map<string, { values: Record<string, string | null>; files: Entry[] }>();
  for (const add of snapshot.files) {
    if (!matchesFilter(add, partitionColumns, options.partitionFilter)) continue;
    const values: Record<string, string | null> = {};
    for (const c of partitionColumns) values[c] = add.partitionValues[c] ?? null;
    const key = JSON.stringify(partitionColumns.map((c) => values[c]));
    let p = byPartition.get(key);
    if (p === undefined) byPartition.set(key, p = { values, files: [] });
    const rows = numRecordsOf(add) ?? 0;
    const weight = rowsOf(s, add);
    p.files.push({ add, rows, weight, tier: tierOfWeight(s, weight, add.size) });
  }
  const partitions: PartitionTiers[] = [];
  for (const { values, files } of byPartition.values()) {
    const tiers: TierSummary[] = [];
    const bins: CompactionBin[] = [];
    let smallFiles = 0;
    let smallBytes = 0;
    for (let tier = 0; tier <= s.tierCount; tier++) {
      // Array.prototype.sort is stable: equal modification times keep log order.
      const inTier = files.filter((e) => e.tier === tier)
        .sort((a, b) => a.add.modificationTime - b.add.modificationTime);
      if (inTier.length === 0) continue;
      const summary: TierSummary = {
        tier,
        files: inTier.length,
        bytes: inTier.reduce((n, e) => n + e.add.size, 0),
        rows: inTier.reduce((n, e) => n + e.rows, 0),
        binsPlanned: 0,
        filesPlanned: 0,
      };
      tiers.push(summary);
      if (tier === s.tierCount) continue; // full files are never rewritten
      smallFiles += summary.files;
      smallBytes += summary.bytes;
      // Close a bin as soon as it weighs the lower bound of the next tier up.
      const up = s.tierCount - tier - 1;
      let current: Add[] = [];
      let rows = 0;
      let bytes = 0;
      for (const e of inTier) {
        current.push(e.add);
        rows += e.weight;
        bytes += e.add.size;
        if (current.length >= 2 && weighsAtLeast(s, rows, bytes, up)) {
          bins.push({ partitionValues: values, files: current });
          summary.binsPlanned++;
          summary.filesPlanned += current.length;
          current = [];
          rows = 0;
          bytes = 0;
        }
      }
    }
    const readBudget = readBudgetOf(files.reduce((n, e) => n + e.weight, 0), options);
    const readBin = planReadBin(s, values, files, bins, readBudget);
    if (readBin !== undefined) bins.push(readBin);
    partitions.push({
      partitionValues: values,
      tiers,
      smallFiles,
      smallBytes,
      readBudget,
      readBin,
      bins,
    });
  }
  return {
    tierCount: s.tierCount,
    fanout: s.fanout,
    fullRows: s.fullRows,
    targetSizeBytes: s.target,
    partitions,
    // Read bins first: each takes the most files off a partition for the rows it rewrites, and a
    // job commits its first bins first.
    bins: [
      ...partitions.flatMap((p) => p.readBin === undefined ? [] : [p.readBin]),
      ...interleave(
        partitions.flatMap((p) => groupByTier(p.bins.filter((b) => b !== p.readBin), s)),
      ),
    ],
  };
}

/**
 * The read bin of a partition (see {@linkcode PartitionTiers.readBin}), or `undefined`: when the
 * partition would still hold more files than its read budget after its tier bins, its smallest
 * files outside them (by weight, then age; a file too small for the next one to join is passed
 * over), as many as bring it down to half its budget, merged
 * the way RocksDB's universal compaction bounds read amplification. A file joins only while it
 * weighs at most twice the files before it together, so every row in the bin lands in a file at
 * least 1.5 times the size of the one it left: a row is rewritten by read bins at most
 * log1.5(fullRows) times, and a partition that a trickle of one-row files keeps over its budget
 * pays for a counter of that base, not for a rewrite of the partition at every commit. The bin
 * stops before it weighs a full file.
 */
function planReadBin(
  s: Scale,
  partitionValues: Record<string, string | null>,
  files: readonly { add: Add; weight: number; tier: number }[],
  tierBins: readonly CompactionBin[],
  readBudget: number,
): CompactionBin | undefined {
  const after = files.length - tierBins.reduce((n, b) => n + b.files.length - 1, 0);
  if (after <= readBudget) return undefined;
  const planned = new Set(tierBins.flatMap((b) => b.files));
  const candidates = files.filter((e) => e.tier < s.tierCount && !planned.has(e.add))
    .sort((a, b) => a.weight - b.weight || a.add.modificationTime - b.add.modificationTime);
  const take = after - Math.ceil(readBudget / 2) + 1;
  // From the smallest file on; a file too small to be joined by the next one is passed over.
  for (let start = 0; start < candidates.length - 1; start++) {
    const chosen: Add[] = [];
    let rows = 0;
    let bytes = 0;
    for (const e of candidates.slice(start)) {
      if (chosen.length >= take) break;
      if (chosen.length > 0 && e.weight > READ_BIN_GROWTH * rows) break;
      if (weighsAtLeast(s, rows + e.weight, bytes + e.add.size, 0)) break;
      chosen.push(e.add);
      rows += e.weight;
      bytes += e.add.size;
    }
    if (chosen.length >= 2) return { partitionValues, files: chosen };
  }
  return undefined;
}

/**
 * A file joins a read bin while it weighs at most this many times the files before it together:
 * every row of the bin lands in a file at least 1 + 1/2 times the size of the one it left.
 */
const READ_BIN_GROWTH = 2;

/** The bins of one partition, grouped by tier, the largest tier first. */
function groupByTier(bins: readonly CompactionBin[], s: Scale): CompactionBin[][] {
  const groups = new Map<number, CompactionBin[]>();
  for (const bin of bins) {
    const f = bin.files[0]!;
    const tier = tierOfWeight(s, rowsOf(s, f), f.size);
    let g = groups.get(tier);
    if (g === undefined) groups.set(tier, g = []);
    g.push(bin);
  }
  return [...groups].sort((a, b) => b[0] - a[0]).map(([, g]) => g);
}

/**
 * One bin of each group in turn (round robin), so a run that rewrites only its first bins
 * (`binsPerRunMax`) serves every partition and every tier, and a flood of new small files cannot
 * starve the merges of the tiers above them.
 */
function interleave(groups: readonly CompactionBin[][]): CompactionBin[] {
  const out: CompactionBin[] = [];
  for (let i = 0; out.length < groups.reduce((n, g) => n + g.length, 0); i++) {
    for (const g of groups) if (i < g.length) out.push(g[i]!);
  }
  return out;
}

/**
 * The bins of the tiered plan of `snapshot` ({@linkcode planTiers}`(...).bins`): what the built-in
 * `compactionPlugin` answers with its default strategy.
 */
export function planTieredBins(
  snapshot: Pick<Snapshot, "files" | "metadata">,
  options: PlanTieredOptions = {},
): CompactionBin[] {
  return planTiers(snapshot, options).bins;
}

/** Options of {@linkcode partitionsToCompact}: the planner's plus the trigger's thresholds. */
export interface TriggerOptions extends PlanTieredOptions {
  /** Non-full files of a partition that trigger it; default {@linkcode TRIGGER_FILES_DEFAULT}. */
  triggerFiles?: number;
  /** Bytes of non-full files of a partition that trigger it; default the target size. */
  triggerBytes?: number;
}

/**
 * The partitions of `snapshot` whose non-full files reach `triggerFiles` or `triggerBytes`, or
 * whose files exceed their read budget, and for which the tiered plan is not empty
 * ({@linkcode isDue}): the ones the runner compacts after a commit. Pure; cheap
 * enough to run after every commit (one pass over the active files).
 *
 * @example
 * ```ts
 * import type { Snapshot } from "../../core/snapshot/snapshot.ts";
 * import { partitionsToCompact } from "./plan_tiered_bins.ts";
 * const file = (i: number, date: string) => ({ path: `f${i}`, partitionValues: { date }, size: 4000,
 *   modificationTime: i, dataChange: true, stats: JSON.stringify({ numRecords: 400 }) });
 * const files = [
 *   ...Array.from({ length: 50 }, (_, i) => file(i, "d1")),
 *   ...Array.from({ length: 49 }, (_, i) => file(100 + i, "d2")),
 * ];
 * const snapshot = { files, metadata: { partitionColumns: ["date"], configuration: {} } } as unknown as Snapshot;
 * const due = partitionsToCompact(snapshot);
 * if (due.length !== 1 || due[0]!.partitionValues.date !== "d1") throw new Error("wrong partitions");
 * ```
 */
export function partitionsToCompact(
  snapshot: Pick<Snapshot, "files" | "metadata">,
  options: TriggerOptions = {},
): PartitionTiers[] {
  const plan = planTiers(snapshot, options);
  return plan.partitions.filter((p) => isDue(p, plan, options));
}

/**
 * Whether the trigger compacts partition `p` of `plan`: it has bins, and its small files reach
 * `triggerFiles` or their bytes `triggerBytes`, or it holds more files than its read budget.
 */
export function isDue(
  p: PartitionTiers,
  plan: Pick<TieredPlan, "targetSizeBytes">,
  options: Pick<TriggerOptions, "triggerFiles" | "triggerBytes"> = {},
): boolean {
  const files = options.triggerFiles ?? TRIGGER_FILES_DEFAULT;
  const bytes = options.triggerBytes ?? plan.targetSizeBytes;
  return p.bins.length > 0 &&
    (p.smallFiles >= files || p.smallBytes >= bytes || p.readBin !== undefined);
}
