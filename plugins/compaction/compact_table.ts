/**
 * Compaction (Delta `OPTIMIZE`, bin-packing): rewrite many small data files of a partition into few
 * larger ones, and commit the `remove`s of the old files and the `add`s of the new ones, all with
 * `dataChange: false`, so readers and streaming consumers see the same rows.
 *
 * What it does:
 *
 * * plans bins with a planner (by default {@linkcode planCompactionBins}; a registry's
 *   `runPlanCompaction` can be passed as `planner`), restricted to `partitionFilter`;
 * * reads each file of a bin in order (row order and locality survive), drops the rows its deletion
 *   vector names, and writes new zstd Parquet files with fresh statistics that hold the data columns
 *   only (partition values stay in the path and in `partitionValues`). A file whose Arrow columns are
 *   already exactly the table's types is passed through as Arrow batches; any other file (deletion
 *   vector, widened types, INT96, nested types, missing columns) goes through the exact logical
 *   reader of `core/scan`, so decimals, timestamps and nested values keep their values;
 * * streams: at most one output file of rows (capped by the target size, counted in input bytes, and
 *   by {@linkcode OUTPUT_FILE_ROWS_MAX} rows because parquet-wasm's memory grows with what it
 *   encodes) plus `maxConcurrentIo` prefetched input files are held in memory at a time;
 * * commits with `commitActions`: concurrent appends never make it fail (Delta's conflict rules); a
 *   concurrent removal of one of its input files drops the bins holding that file (their new files
 *   are deleted, they were never committed) and the rest is committed on the newer state, within
 *   `conflictRetriesMax` rounds. With `commitIntervalBins` it commits in steps, so a long run keeps
 *   its finished work; before every commit it drops the bins whose input files are no longer all
 *   active in the newest state it knows (a remove an earlier step's commit read past);
 * * deletes its new files only when they are certainly not committed (a failure before the commit,
 *   or bins dropped by a conflict). When a commit throws, its outcome is unknown (it may have
 *   landed), so that step's new files are kept and the error is rethrown: if the commit did not
 *   land they are orphans, which vacuum removes after the retention period.
 *
 * What it does NOT do:
 *
 * * it does not delete the files it removed from the table: vacuum does, after the retention period;
 * * it does not take the maintenance lock: callers (`deno task compact`, the runner) do;
 * * it does not write checkpoints: the caller's `afterCommit` / `maybeCheckpoint` does;
 * * it does not sort or Z-order (a planner decides only which files go together);
 * * it refuses tables it cannot write (`assertWriteSupported`): column mapping `name`/`id`, and
 *   writer features it does not know. `appendOnly` tables are compacted: `dataChange: false`
 *   removes do not change data (Delta PROTOCOL, "Append-only Tables").
 *
 * ```
 * plan ─▶ for each step of bins: rewrite bins (read ▸ drop DV rows ▸ write) ─▶ commit
 *                                                 ▲                              │ concurrent remove
 *                                                 └── drop bins, delete outputs ◀┘ of an input file
 * ```
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { type Clock, systemClock } from "../../core/clock.ts";
import { InvalidArgumentError, LakestrikeError } from "../../core/errors.ts";
import {
  type Action,
  type Add,
  deletionVectorUniqueId,
  type Remove,
} from "../../core/log/actions.ts";
import { commitActions, type CommitDraft, type CommitResult } from "../../core/log/commit.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import { computeStats, statsToJson } from "../../core/parquet/compute_stats.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { readParquetFile, writeParquetFile } from "../../core/parquet/write_parquet_file.ts";
import { deltaSchemaToArrow } from "../../core/schema/delta_schema_to_arrow.ts";
import { decimalParams } from "../../core/schema/parse_schema.ts";
import type { DataType, StructField, StructType } from "../../core/schema/types.ts";
import { loadDeletionVector } from "../../core/scan/deletion_vector.ts";
import { isDecimal, type LogicalValue, rescaleDecimal } from "../../core/scan/logical_row.ts";
import { readDataFile } from "../../core/scan/read_data_file.ts";
import { dataFileStoragePath } from "../../core/scan/scan_snapshot.ts";
import { assertWriteSupported } from "../../core/snapshot/protocol.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { partitionPath } from "../../core/write/partition_path.ts";
import { numIndexedColsOf } from "../../core/write/table_properties.ts";
import type { CompactionBin } from "../types.ts";
import { planCompactionBins, targetSizeOf } from "./plan_compaction_bins.ts";

/** Rows per output file at most (TOOLCHAIN gotcha 5: parquet-wasm memory grows with its input). */
export const OUTPUT_FILE_ROWS_MAX = 100_000;
/** Default number of storage reads and writes in flight. */
export const MAX_CONCURRENT_IO_DEFAULT = 8;
/** Default rounds of "drop the bins a concurrent remove touched, commit the rest". */
export const CONFLICT_RETRIES_MAX_DEFAULT = 10;
/** Default put attempts per commit (compaction commits lose races to appenders often). */
export const COMMIT_ATTEMPTS_MAX_DEFAULT = 100;

/** A planner: the default one, or a plugin registry's `runPlanCompaction` bound to a context. */
export type CompactionPlanner = (
  snapshot: Snapshot,
) => Promise<CompactionBin[] | undefined> | CompactionBin[] | undefined;

/** Progress of a compaction, reported after every input file and every commit. */
export interface CompactionProgress {
  phase: "rewrite" | "commit" | "done";
  binsTotal: number;
  binsDone: number;
  filesTotal: number;
  filesDone: number;
  bytesRead: number;
  bytesWritten: number;
  rowsWritten: number;
}

/** Options of {@linkcode compactTable}. */
export interface CompactTableOptions {
  /** Target file size; default table property `delta.targetFileSize`, else 128 MiB. */
  targetSizeBytes?: number;
  /** Least number of files per bin for the default planner; default 5. */
  minFiles?: number;
  /** Only partitions with these values (`{date: "2024-01-02"}`). */
  partitionFilter?: Readonly<Record<string, string | null>>;
  /** Plan only: nothing is written or committed. */
  dryRun?: boolean;
  /** Commit after every this many bins; default all bins in one commit. */
  commitIntervalBins?: number;
  /** Storage reads and writes in flight; default {@linkcode MAX_CONCURRENT_IO_DEFAULT}. */
  maxConcurrentIo?: number;
  /** Rows per output file at most; default {@linkcode OUTPUT_FILE_ROWS_MAX}. */
  outputFileRowsMax?: number;
  /** Rounds of dropping conflicting bins; default {@linkcode CONFLICT_RETRIES_MAX_DEFAULT}. */
  conflictRetriesMax?: number;
  /** Put attempts of each commit; default {@linkcode COMMIT_ATTEMPTS_MAX_DEFAULT}. */
  commitAttemptsMax?: number;
  /** Source of `modificationTime`, `deletionTimestamp` and commit timestamps. */
  clock?: Clock;
  /** Cancels the run between files; uncommitted new files are deleted. */
  signal?: AbortSignal;
  /** Overrides the default planner (e.g. `(s) => registry.runPlanCompaction(s, ctx)`). */
  planner?: CompactionPlanner;
  /** Called as the run advances. */
  onProgress?: (progress: CompactionProgress) => void;
  /** How commit files are created; default put-if-absent on `storage`. */
  commitProtocol?: CommitProtocol;
}

/** Size statistics of a set of files, as delta-rs's `MetricDetails`. */
export interface FileSizeMetrics {
  avg: number;
  max: number;
  min: number;
  totalFiles: number;
  totalSize: number;
}

/** What a compaction did (for a dry run: what it would rewrite). */
export interface CompactionMetrics {
  numFilesAdded: number;
  numFilesRemoved: number;
  numBytesAdded: number;
  numBytesRemoved: number;
  filesAdded: FileSizeMetrics;
  filesRemoved: FileSizeMetrics;
  partitionsOptimized: number;
  numBatches: number;
  totalConsideredFiles: number;
  totalFilesSkipped: number;
  numRowsRead: number;
  numRowsWritten: number;
  numDeletionVectorsRemoved: number;
  numBinsDroppedByConflict: number;
  numCommits: number;
}

/** Result of {@linkcode compactTable}. */
export interface CompactTableResult {
  /** The bins that were planned (after the partition filter). */
  plan: CompactionBin[];
  /** Versions committed, in order (empty for a dry run or nothing to do). */
  versions: number[];
  /** The newest table state known at the end. */
  snapshot: Snapshot;
  metrics: CompactionMetrics;
  dryRun: boolean;
  /** Active files before and after (after: in `snapshot`). */
  filesBefore: number;
  filesAfter: number;
}

interface Rewritten {
  bin: CompactionBin;
  adds: Add[];
  rowsRead: number;
  rowsWritten: number;
  bytesRead: number;
}

function sizeMetrics(sizes: readonly number[]): FileSizeMetrics {
  if (sizes.length === 0) return { avg: 0, max: 0, min: 0, totalFiles: 0, totalSize: 0 };
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    avg: total / sizes.length,
    max: Math.max(...sizes),
    min: Math.min(...sizes),
    totalFiles: sizes.length,
    totalSize: total,
  };
}

function fileKey(add: Pick<Add, "path" | "deletionVector">): string {
  return `${add.path}\u0000${deletionVectorUniqueId(add.deletionVector)}`;
}

/** Bounded parallelism: run `fn` with at most `limit` calls in flight. */
function createLimiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** A plain value `createArrowTable` accepts, from a logical value of `core/scan`. */
function toPlain(value: LogicalValue, type: DataType): unknown {
  if (value === null) return null;
  if (typeof type === "string") {
    if (isDecimal(value)) {
      const params = decimalParams(type);
      const scale = params?.scale ?? value.scale;
      const d = value.scale === scale ? value : rescaleDecimal(value, scale);
      if (d === undefined) {
        throw new LakestrikeError("SCHEMA_MISMATCH", `Cannot rescale a decimal to ${type}`);
      }
      return d.unscaled;
    }
    return value;
  }
  const list = value as LogicalValue[];
  switch (type.type) {
    case "struct": {
      const obj: Record<string, unknown> = {};
      type.fields.forEach((f, i) => {
        obj[f.name] = toPlain(list[i] ?? null, f.type);
      });
      return obj;
    }
    case "array":
      return list.map((v) => toPlain(v, type.elementType));
    case "map":
      return (value as [LogicalValue, LogicalValue][]).map((
        [k, v],
      ) => [toPlain(k, type.keyType), toPlain(v, type.valueType)]);
  }
}

function isPrimitive(type: DataType): boolean {
  return typeof type === "string";
}

/**
 * The file's rows as a table of `arrowSchema`, without copying, when every column is primitive and
 * already has exactly the target Arrow type; `undefined` otherwise.
 */
function passThrough(
  bytes: Uint8Array,
  dataSchema: StructType,
  arrowSchema: arrow.Schema,
): arrow.Table | undefined {
  if (!dataSchema.fields.every((f) => isPrimitive(f.type))) return undefined;
  let table: arrow.Table;
  try {
    table = readParquetFile(bytes);
  } catch {
    return undefined; // e.g. a codec parquet-wasm lacks (Hadoop LZ4): the exact reader decodes it
  }
  const columns: number[] = [];
  for (const f of arrowSchema.fields) {
    const i = table.schema.fields.findIndex((x) => x.name === f.name);
    if (i < 0 || String(table.schema.fields[i]!.type) !== String(f.type)) return undefined;
    if (!f.nullable && table.getChildAt(i)!.nullCount > 0) return undefined;
    columns.push(i);
  }
  const batches = table.batches.map((b) =>
    new arrow.RecordBatch(
      arrowSchema,
      arrow.makeData({
        type: new arrow.Struct(arrowSchema.fields),
        length: b.numRows,
        nullCount: 0,
        children: columns.map((i) => b.getChildAt(i)!.data[0]!),
      }),
    )
  );
  return new arrow.Table(arrowSchema, batches);
}

/** Read one logical file (minus its deletion vector) as a table of the data schema. */
async function readLogicalFile(
  storage: ObjectStorage,
  snapshot: Snapshot,
  add: Add,
  bytes: Uint8Array,
  dataSchema: StructType,
  arrowSchema: arrow.Schema,
): Promise<arrow.Table> {
  if (!add.deletionVector) {
    const fast = passThrough(bytes, dataSchema, arrowSchema);
    if (fast !== undefined) return fast;
  }
  const rows = await readDataFile(bytes, dataSchema.fields, {
    columnMappingMode: snapshot.columnMappingMode,
    path: add.path,
  });
  const deleted = add.deletionVector
    ? new Set(await loadDeletionVector(storage, add.deletionVector))
    : undefined;
  const records: Record<string, unknown>[] = [];
  for (let r = 0; r < rows.length; r++) {
    if (deleted?.has(r)) continue;
    const row = rows[r]!;
    const rec: Record<string, unknown> = {};
    dataSchema.fields.forEach((f: StructField, i) => {
      rec[f.name] = toPlain(row[i] ?? null, f.type);
    });
    records.push(rec);
  }
  return createArrowTable(dataSchema, records);
}

/**
 * Compact the table whose state is `snapshot` (see the module documentation).
 *
 * @throws {UnsupportedFeatureError} when the table cannot be written by lakestrike
 * @throws {LakestrikeError} `COMMIT_FAILED` when a concurrent metadata or protocol change stops the
 * commit, or the retry budgets run out (uncommitted new files are deleted first)
 * @throws the storage's or commit protocol's error when a commit throws: its outcome is unknown, so
 * the new files of that step are kept (vacuum removes them if the commit did not land)
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { compactTable } from "./compact_table.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema });
 * for (let i = 0; i < 3; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 * }
 * const result = await compactTable(storage, snapshot, { minFiles: 2 });
 * if (result.filesAfter !== 1 || result.metrics.numFilesRemoved !== 3) throw new Error("not compacted");
 * ```
 */
export async function compactTable(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: CompactTableOptions = {},
): Promise<CompactTableResult> {
  assertWriteSupported(snapshot.protocol, snapshot.metadata);
  const clock = options.clock ?? systemClock;
  const target = targetSizeOf(snapshot.metadata.configuration, options.targetSizeBytes);
  const ioLimit = options.maxConcurrentIo ?? MAX_CONCURRENT_IO_DEFAULT;
  const rowsMax = options.outputFileRowsMax ?? OUTPUT_FILE_ROWS_MAX;
  const interval = options.commitIntervalBins ?? Infinity;
  for (
    const [name, v] of [
      ["maxConcurrentIo", ioLimit],
      ["outputFileRowsMax", rowsMax],
      ["commitIntervalBins", interval],
    ] as const
  ) {
    if (!(v === Infinity || (Number.isSafeInteger(v) && v >= 1))) {
      throw new InvalidArgumentError(
        `Cannot compact: ${name} must be a positive integer, got ${v}`,
      );
    }
  }
  const partitionColumns = snapshot.metadata.partitionColumns;
  if (options.partitionFilter !== undefined) {
    for (const column of Object.keys(options.partitionFilter)) {
      if (!partitionColumns.includes(column)) {
        throw new InvalidArgumentError(
          `Cannot compact: '${column}' is not a partition column (${
            partitionColumns.join(", ") || "the table is not partitioned"
          })`,
        );
      }
    }
  }
  const planned = options.planner
    ? (await options.planner(snapshot)) ?? []
    : planCompactionBins(snapshot, {
      targetSizeBytes: target,
      ...(options.minFiles === undefined ? {} : { minFiles: options.minFiles }),
      ...(options.partitionFilter === undefined
        ? {}
        : { partitionFilter: options.partitionFilter }),
    });
  // A plugin planner knows nothing of the filter: keep only the bins it selects.
  const filter = options.partitionFilter;
  const plan = filter === undefined
    ? planned
    : planned.filter((bin) =>
      planCompactionBins({ files: bin.files, metadata: snapshot.metadata }, {
        targetSizeBytes: Number.MAX_SAFE_INTEGER,
        minFiles: 1,
        partitionFilter: filter,
      }).flatMap((b) => b.files).length === bin.files.length
    );
  const active = new Set(snapshot.files.map(fileKey));
  // Check the plan (a planner may be anyone's code): a wrong partition would move rows.
  const inPlan = new Set<string>();
  for (const bin of plan) {
    for (const f of bin.files) {
      if (!active.has(fileKey(f))) {
        throw new InvalidArgumentError(`Cannot compact: planned file ${f.path} is not active`);
      }
      if (inPlan.has(fileKey(f))) {
        throw new InvalidArgumentError(`Cannot compact: file ${f.path} is in more than one bin`);
      }
      inPlan.add(fileKey(f));
      for (const c of partitionColumns) {
        if ((f.partitionValues[c] ?? null) !== (bin.partitionValues[c] ?? null)) {
          throw new InvalidArgumentError(
            `Cannot compact: file ${f.path} is not in the partition of its bin (${c})`,
          );
        }
      }
    }
  }
  const inputs = plan.flatMap((b) => b.files);
  const metrics: CompactionMetrics = {
    numFilesAdded: 0,
    numFilesRemoved: 0,
    numBytesAdded: 0,
    numBytesRemoved: 0,
    filesAdded: sizeMetrics([]),
    filesRemoved: sizeMetrics(inputs.map((f) => f.size)),
    partitionsOptimized: new Set(plan.map((b) => JSON.stringify(b.partitionValues))).size,
    numBatches: plan.length,
    totalConsideredFiles: snapshot.files.length,
    totalFilesSkipped: snapshot.files.length - inputs.length,
    numRowsRead: 0,
    numRowsWritten: 0,
    numDeletionVectorsRemoved: 0,
    numBinsDroppedByConflict: 0,
    numCommits: 0,
  };
  const filesBefore = snapshot.files.length;
  const dryRun = options.dryRun ?? false;
  if (dryRun || plan.length === 0) {
    return {
      plan,
      versions: [],
      snapshot,
      metrics,
      dryRun,
      filesBefore,
      filesAfter: filesBefore,
    };
  }

  const dataSchema: StructType = {
    type: "struct",
    fields: snapshot.schema.fields.filter((f) => !partitionColumns.includes(f.name)),
  };
  const arrowSchema = deltaSchemaToArrow(dataSchema);
  const numIndexedCols = numIndexedColsOf(snapshot.metadata.configuration);
  const limit = createLimiter(ioLimit);
  const progress: CompactionProgress = {
    phase: "rewrite",
    binsTotal: plan.length,
    binsDone: 0,
    filesTotal: inputs.length,
    filesDone: 0,
    bytesRead: 0,
    bytesWritten: 0,
    rowsWritten: 0,
  };
  const report = () => options.onProgress?.({ ...progress });
  const written: string[] = []; // new files not yet committed

  const writeOutput = async (
    bin: CompactionBin,
    pending: arrow.Table[],
    index: number,
  ): Promise<Add> => {
    const table = new arrow.Table(arrowSchema, pending.flatMap((t) => t.batches));
    const bytes = writeParquetFile(table, { compression: "zstd", createdBy: "lakestrike/0.1.0" });
    const stats = statsToJson(computeStats(table, dataSchema, { numIndexedCols }));
    const path = partitionPath(partitionColumns, bin.partitionValues) +
      `part-${String(index).padStart(5, "0")}-${crypto.randomUUID()}-c000.zstd.parquet`;
    written.push(path);
    const put = await limit(() => storage.put(path, bytes, { ifAbsent: true }));
    if (!put.ok) {
      throw new InvalidArgumentError(`Cannot write data file ${path}: it already exists`);
    }
    progress.bytesWritten += bytes.length;
    progress.rowsWritten += table.numRows;
    return {
      path,
      partitionValues: { ...bin.partitionValues },
      size: bytes.length,
      modificationTime: clock.nowMs(),
      dataChange: false,
      stats,
    };
  };

  const rewriteBin = async (bin: CompactionBin): Promise<Rewritten> => {
    // Prefetch up to `ioLimit` files ahead; decode strictly in order.
    const reads = new Map<number, Promise<Uint8Array>>();
    let next = 0;
    const fill = () => {
      while (next < bin.files.length && reads.size < ioLimit) {
        const f = bin.files[next]!;
        reads.set(
          next++,
          limit(() => storage.get(dataFileStoragePath(f.path, storage.location))),
        );
      }
    };
    const out: Rewritten = { bin, adds: [], rowsRead: 0, rowsWritten: 0, bytesRead: 0 };
    const puts: Promise<Add>[] = [];
    let pending: arrow.Table[] = [];
    let pendingRows = 0;
    let pendingBytes = 0;
    const flush = () => {
      if (pendingRows === 0) return;
      puts.push(writeOutput(bin, pending, puts.length));
      out.rowsWritten += pendingRows;
      pending = [];
      pendingRows = 0;
      pendingBytes = 0;
    };
    try {
      for (let i = 0; i < bin.files.length; i++) {
        options.signal?.throwIfAborted();
        fill();
        const add = bin.files[i]!;
        const bytes = await reads.get(i)!;
        reads.delete(i);
        const table = await readLogicalFile(storage, snapshot, add, bytes, dataSchema, arrowSchema);
        out.rowsRead += table.numRows;
        out.bytesRead += add.size;
        progress.bytesRead += add.size;
        // Split a file that alone exceeds the row cap; otherwise flush before overflowing.
        for (let start = 0; start < table.numRows;) {
          const take = Math.min(rowsMax - pendingRows, table.numRows - start);
          pending.push(
            start === 0 && take === table.numRows ? table : table.slice(start, start + take),
          );
          pendingRows += take;
          start += take;
          if (pendingRows >= rowsMax) flush();
        }
        pendingBytes += add.size;
        if (pendingBytes >= target) flush();
        progress.filesDone++;
        report();
      }
      flush();
      out.adds = await Promise.all(puts);
    } catch (e) {
      await Promise.allSettled([...puts, ...reads.values()]);
      throw e;
    }
    return out;
  };

  let current = snapshot;
  const versions: number[] = [];
  const addedSizes: number[] = [];
  const removedSizes: number[] = [];
  let rowsRead = 0;
  const cleanup = async (paths: string[]) => {
    if (paths.length === 0) return;
    await storage.delete(paths).catch(() => {}); // best effort: vacuum removes orphans anyway
  };
  /** Stop tracking `paths` as new files to delete on failure. */
  const forget = (paths: readonly string[]) => {
    const gone = new Set(paths);
    written.splice(0, written.length, ...written.filter((p) => !gone.has(p)));
  };
  const conflictRetriesMax = options.conflictRetriesMax ?? CONFLICT_RETRIES_MAX_DEFAULT;
  try {
    for (let s = 0; s < plan.length; s += interval) {
      const step = plan.slice(s, Math.min(plan.length, s + interval));
      let done: Rewritten[] = [];
      for (const bin of step) {
        done.push(await rewriteBin(bin));
        progress.binsDone++;
        report();
      }
      for (let round = 0;; round++) {
        // Drop the bins whose input files are no longer all active in `current`. Bins were planned
        // on `snapshot`, and `commitActions` only checks the commits after `current.version`: a
        // remove that landed in between (seen by an earlier step's or round's commit) would
        // otherwise be undone, re-adding deleted rows or duplicating rewritten ones.
        const stillActive = new Set(current.files.map(fileKey));
        const keep: Rewritten[] = [];
        for (const r of done) {
          if (r.bin.files.every((f) => stillActive.has(fileKey(f)))) {
            keep.push(r);
          } else {
            metrics.numBinsDroppedByConflict++;
            const paths = r.adds.map((a) => a.path);
            await cleanup(paths); // never committed
            forget(paths);
          }
        }
        done = keep;
        if (done.length === 0) break;
        const now = clock.nowMs();
        const actions: Action[] = [];
        for (const r of done) {
          for (const add of r.adds) actions.push({ add });
        }
        for (const r of done) {
          for (const f of r.bin.files) actions.push({ remove: removeOf(f, now) });
        }
        const draft: CommitDraft = {
          operation: "OPTIMIZE",
          operationParameters: operationParameters(options.partitionFilter, target),
          commitInfo: { operationMetrics: operationMetrics(done) },
          actions,
        };
        progress.phase = "commit";
        report();
        let result: CommitResult;
        try {
          result = await commitActions(storage, current, draft, {
            clock,
            maxAttempts: options.commitAttemptsMax ?? COMMIT_ATTEMPTS_MAX_DEFAULT,
            ...(options.commitProtocol ? { protocol: options.commitProtocol } : {}),
          });
        } catch (e) {
          // The outcome is unknown (a put that failed may have landed, a commit store may say
          // "outcome is unknown"): the table may now reference these files, so they are never
          // deleted here. If the commit did not land they are orphans, which vacuum removes.
          forget(done.flatMap((r) => r.adds.map((a) => a.path)));
          throw e;
        }
        current = result.snapshot;
        if (result.ok) {
          versions.push(result.version);
          metrics.numCommits++;
          forget(done.flatMap((r) => r.adds.map((a) => a.path)));
          for (const r of done) {
            for (const a of r.adds) addedSizes.push(a.size);
            for (const f of r.bin.files) {
              removedSizes.push(f.size);
              if (f.deletionVector) metrics.numDeletionVectorsRemoved++;
            }
            rowsRead += r.rowsRead;
            metrics.numRowsWritten += r.rowsWritten;
          }
          break;
        }
        if (result.kind !== "concurrent_delete_delete" && result.kind !== "max_attempts") {
          throw new LakestrikeError("COMMIT_FAILED", `Cannot commit compaction: ${result.reason}`);
        }
        if (round >= conflictRetriesMax) {
          throw new LakestrikeError(
            "COMMIT_FAILED",
            `Cannot commit compaction: gave up after ${round + 1} rounds (${result.reason})`,
          );
        }
        // The next round drops the bins whose input files a concurrent commit removed.
      }
    }
  } catch (e) {
    await cleanup(written);
    throw e;
  }
  progress.phase = "done";
  report();
  metrics.numFilesAdded = addedSizes.length;
  metrics.numFilesRemoved = removedSizes.length;
  metrics.numBytesAdded = addedSizes.reduce((a, b) => a + b, 0);
  metrics.numBytesRemoved = removedSizes.reduce((a, b) => a + b, 0);
  metrics.filesAdded = sizeMetrics(addedSizes);
  metrics.filesRemoved = sizeMetrics(removedSizes);
  metrics.numRowsRead = rowsRead;
  return {
    plan,
    versions,
    snapshot: current,
    metrics,
    dryRun,
    filesBefore,
    filesAfter: current.files.length,
  };
}

/** The `remove` of a compacted file (Delta PROTOCOL, "Add File and Remove File"). */
function removeOf(f: Add, deletionTimestamp: number): Remove {
  const remove: Remove = {
    path: f.path,
    deletionTimestamp,
    dataChange: false,
    extendedFileMetadata: true,
    partitionValues: f.partitionValues,
    size: f.size,
  };
  if (f.stats != null) remove.stats = f.stats;
  if (f.tags != null) remove.tags = f.tags;
  if (f.deletionVector != null) remove.deletionVector = f.deletionVector;
  if (f.baseRowId != null) remove.baseRowId = f.baseRowId;
  if (f.defaultRowCommitVersion != null) remove.defaultRowCommitVersion = f.defaultRowCommitVersion;
  return remove;
}

/** `operationParameters` as Spark's OPTIMIZE records them (predicate list, zOrderBy) + targetSize. */
function operationParameters(
  filter: Readonly<Record<string, string | null>> | undefined,
  target: number,
): Record<string, unknown> {
  const predicate = Object.entries(filter ?? {}).map(([k, v]) =>
    v === null ? `${k} IS NULL` : `${k} = '${v.replaceAll("'", "''")}'`
  );
  return {
    predicate: JSON.stringify(predicate),
    zOrderBy: "[]",
    auto: false,
    targetSize: String(target),
  };
}

/**
 * `operationMetrics` of one commit: Spark's names (`numRemovedFiles`, `numAddedFiles`,
 * `numRemovedBytes`, `numAddedBytes`, `numDeletionVectorsRemoved`, as strings like Spark) and
 * delta-rs's (`numFilesAdded`, `numFilesRemoved`, `filesAdded`/`filesRemoved` as JSON of
 * `{avg,max,min,totalFiles,totalSize}`, `partitionsOptimized`, `numBatches`, ...).
 */
function operationMetrics(done: readonly Rewritten[]): Record<string, unknown> {
  const added = done.flatMap((r) => r.adds.map((a) => a.size));
  const removed = done.flatMap((r) => r.bin.files.map((f) => f.size));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const dvs = done.flatMap((r) => r.bin.files).filter((f) => f.deletionVector).length;
  return {
    numRemovedFiles: String(removed.length),
    numAddedFiles: String(added.length),
    numRemovedBytes: String(sum(removed)),
    numAddedBytes: String(sum(added)),
    numDeletionVectorsRemoved: String(dvs),
    numFilesAdded: added.length,
    numFilesRemoved: removed.length,
    filesAdded: JSON.stringify(sizeMetrics(added)),
    filesRemoved: JSON.stringify(sizeMetrics(removed)),
    partitionsOptimized: new Set(done.map((r) => JSON.stringify(r.bin.partitionValues))).size,
    numBatches: done.length,
    numRowsWritten: sum(done.map((r) => r.rowsWritten)),
    preserveInsertionOrder: true,
  };
}
