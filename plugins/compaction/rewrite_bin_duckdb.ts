/**
 * The native rewrite engine of compaction: DuckDB (`@duckdb/node-api`) reads a bin's Parquet files
 * and writes the new zstd Parquet files, on all cores, outside the JavaScript heap and the event
 * loop, in bounded memory (`memory_limit`, spilling to a temp directory). It is loaded only when a
 * compaction runs (a dynamic import): the edge and every other path never load it (ADR 0043).
 *
 * It takes the bins it can rewrite exactly ({@linkcode duckdbCanRewrite}): no deletion vector (the
 * rows a vector names must be dropped by position, which the exact reader of `core/scan` does) and
 * only primitive columns (nested values and their statistics stay with the exact reader). Any other
 * bin, or a bin DuckDB fails on (a type it cannot cast, a codec it lacks), is rewritten by the
 * parquet-wasm engine of `rewrite_bin_wasm.ts`: the engine changes speed, never the rows.
 *
 * For each output file:
 *
 * 1. its input files are given to DuckDB as local paths: on local disk the table's own files, on any
 *    other storage downloads into a temp directory (`storage.get`, `maxConcurrentIo` at a time);
 * 2. `COPY (SELECT CAST(col AS type) ... FROM read_parquet([...], union_by_name)) TO tmp` writes one
 *    file in input order (`preserve_insertion_order`), columns cast to the table's types (a widened
 *    type reads as the wider one; a column missing from every input is null), zstd, row groups of
 *    {@linkcode ROW_GROUP_ROWS} rows;
 * 3. the statistics come from the new file's footer (`boundsFromFooter`: its row count, and per
 *    column the null count and the exact min and max over its row groups), without reading the file
 *    again; a column whose footer bounds are not exact (a row group of floats holding NaN, a string
 *    DuckDB truncated) gets them from one aggregate query over that column. The bounds go through
 *    `statsFromBounds`, so string prefixes, timestamp rounding, NaN and infinities follow exactly the
 *    rules of every other file we write (ADR 0046);
 * 4. the bytes are `put` (if absent) at a new path of the bin's partition.
 *
 * An output file is cut when the input bytes that went into it reach the target size, as the
 * parquet-wasm engine does, but with no row cap: a file holds whatever rows reach the target.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import {
  type ColumnBounds,
  type FileStats,
  statsFromBounds,
  statsToJson,
} from "../../core/parquet/compute_stats.ts";
import { boundsFromFooter, parquetFooterLength } from "../../core/parquet/footer_bounds.ts";
import { decimalParams } from "../../core/schema/parse_schema.ts";
import { parseDecimal } from "../../core/values/decimal_text.ts";
import type { StructField } from "../../core/schema/types.ts";
import { dataFileStoragePath } from "../../core/scan/data_file_path.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { mapBounded } from "../../core/concurrency.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { numIndexedColsOf } from "../../core/write/table_properties.ts";
import type { CompactionBin } from "../types.ts";
import {
  deleteUncommittedFiles,
  type LocalOutput,
  localOutputFile,
  putRewrittenFile,
} from "./put_rewritten_file.ts";
import type { RewriteBinOptions, RewrittenBin } from "./rewrite_bin.ts";

/** Rows per row group of the files DuckDB writes (DuckDB's default, about 1M rows per 8 groups). */
export const ROW_GROUP_ROWS = 122_880;
/** Default DuckDB `memory_limit` of a rewrite. */
export const DUCKDB_MEMORY_LIMIT_DEFAULT = "512MB";

/** Why a table's bins are not for DuckDB, or `undefined` when they are (but for deletion vectors). */
export function duckdbCanRewriteTable(
  snapshot: Pick<Snapshot, "schema" | "columnMappingMode">,
): string | undefined {
  const nested = snapshot.schema.fields.find((f) => typeof f.type !== "string");
  if (nested !== undefined) return `column ${nested.name} is nested`;
  if (snapshot.columnMappingMode !== "none") return "the table uses column mapping";
  for (const f of snapshot.schema.fields) {
    if (duckdbType(f) === undefined) return `column ${f.name} has type ${String(f.type)}`;
  }
  return undefined;
}

/** Why a bin is not for DuckDB, or `undefined` when it is. */
export function duckdbCanRewrite(snapshot: Snapshot, bin: CompactionBin): string | undefined {
  if (bin.files.some((f) => f.deletionVector)) return "a file has a deletion vector";
  return duckdbCanRewriteTable(snapshot);
}

/** A DuckDB error: the bin goes to the parquet-wasm engine. Storage errors are not wrapped. */
export class DuckDBRewriteError extends Error {
  /** Wraps what DuckDB threw. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DuckDBRewriteError";
  }
}

/** The DuckDB type of a primitive Delta field, or `undefined`. */
function duckdbType(field: StructField): string | undefined {
  const t = field.type;
  if (typeof t !== "string") return undefined;
  switch (t) {
    case "string":
      return "VARCHAR";
    case "long":
      return "BIGINT";
    case "integer":
      return "INTEGER";
    case "short":
      return "SMALLINT";
    case "byte":
      return "TINYINT";
    case "float":
      return "FLOAT";
    case "double":
      return "DOUBLE";
    case "boolean":
      return "BOOLEAN";
    case "binary":
      return "BLOB";
    case "date":
      return "DATE";
    case "timestamp":
      return "TIMESTAMPTZ";
    case "timestamp_ntz":
      return "TIMESTAMP";
  }
  const d = decimalParams(t);
  return d === undefined ? undefined : `DECIMAL(${d.precision},${d.scale})`;
}

/** A SQL string literal. */
function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A SQL identifier. */
function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** SQL giving the min or max of a column as {@linkcode boundOf} reads it. */
function boundSql(agg: "min" | "max", field: StructField): string {
  const c = ident(field.name);
  switch (field.type) {
    case "boolean":
    case "binary":
      return "NULL"; // no min/max statistics for these (statsFromBounds' rule)
    case "float":
    case "double":
      return `${agg}(${c}) FILTER (WHERE NOT isnan(${c}))`;
    case "date":
      return `CAST(${agg}(${c}) - DATE '1970-01-01' AS INTEGER)`;
    case "timestamp":
    case "timestamp_ntz":
      return `epoch_us(${agg}(${c}))`;
  }
  if (decimalParams(field.type as string) !== undefined) return `CAST(${agg}(${c}) AS VARCHAR)`;
  return `${agg}(${c})`;
}

/** Groups of consecutive files, each cut once its input bytes reach `target`. */
function outputGroups(files: readonly Add[], target: number): Add[][] {
  const groups: Add[][] = [];
  let group: Add[] = [];
  let bytes = 0;
  for (const f of files) {
    group.push(f);
    bytes += f.size;
    if (bytes >= target) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** The DuckDB settings of a rewrite (defaults: all cores, {@linkcode DUCKDB_MEMORY_LIMIT_DEFAULT}). */
export type DuckDBEngineOptions = Pick<RewriteBinOptions, "threads" | "memoryLimit">;

/**
 * Rewrite the files of `bin` with DuckDB (see the module documentation), `ioLimit` storage reads at
 * a time. Nothing is committed.
 *
 * @throws {DuckDBRewriteError} when DuckDB fails (the caller falls back to the parquet-wasm engine);
 * the storage's error, or the signal's reason; the files written so far are deleted first
 */
export async function rewriteBinWithDuckDB(
  storage: ObjectStorage,
  snapshot: Snapshot,
  bin: CompactionBin,
  options: RewriteBinOptions,
  ioLimit: number,
): Promise<RewrittenBin> {
  const why = duckdbCanRewrite(snapshot, bin);
  if (why !== undefined) throw new InvalidArgumentError(`Cannot rewrite with DuckDB: ${why}`);
  const clock: Clock = options.clock ?? systemClock;
  const partitionColumns = snapshot.metadata.partitionColumns;
  const dataFields = snapshot.schema.fields.filter((f) => !partitionColumns.includes(f.name));
  const numIndexedCols = numIndexedColsOf(snapshot.metadata.configuration);
  const tmp = await Deno.makeTempDir({ prefix: "lakestrike-compact-" });
  const written: string[] = [];
  const out: RewrittenBin = { bin, adds: [], rowsRead: 0, rowsWritten: 0, bytesRead: 0 };
  const puts: Promise<Add>[] = [];
  const temps: string[] = [];
  let duck: DuckSession | undefined;
  const onAbort = () => duck?.interrupt();
  options.signal?.addEventListener("abort", onAbort);
  try {
    duck = await openDuckSession(options);
    const groups = outputGroups(bin.files, options.targetSizeBytes);
    for (let g = 0; g < groups.length; g++) {
      options.signal?.throwIfAborted();
      const group = groups[g]!;
      const inputs = await localInputs(storage, group, `${tmp}/in-${g}`, ioLimit);
      // On local disk DuckDB writes into the partition's directory and the file is moved into
      // place; elsewhere it writes to the temp directory and the bytes are put.
      const local = await localOutputFile(storage, partitionColumns, bin);
      const outFile = local ?? `${tmp}/out-${g}.parquet`;
      if (local !== undefined) temps.push(local);
      const { rows, stats } = await duck.copy(inputs, outFile, dataFields, numIndexedCols);
      options.signal?.throwIfAborted();
      await Deno.remove(`${tmp}/in-${g}`, { recursive: true });
      for (const f of group) {
        out.bytesRead += f.size;
        options.onFileRead?.(f);
      }
      out.rowsRead += rows;
      if (rows === 0) {
        await Deno.remove(outFile);
        continue;
      }
      out.rowsWritten += rows;
      let content: Uint8Array | LocalOutput;
      if (local !== undefined) {
        content = { file: local, size: (await Deno.stat(local)).size };
      } else {
        content = await Deno.readFile(outFile);
        await Deno.remove(outFile);
      }
      const put = putRewrittenFile(
        storage,
        partitionColumns,
        bin,
        puts.length,
        content,
        statsToJson(stats),
        clock,
        (path) => written.push(path),
      ).then((add) => {
        options.onFileWritten?.(add, rows);
        return add;
      });
      put.catch(() => {}); // awaited with the others below
      puts.push(put);
    }
    out.adds = await Promise.all(puts);
    return out;
  } catch (e) {
    await Promise.allSettled(puts);
    await deleteUncommittedFiles(storage, written);
    throw e;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    duck?.close();
    // Outputs a failure left under their temp names (a moved one is gone already).
    for (const t of temps) await Deno.remove(t).catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Local paths of `files`: on local disk the table's own files (DuckDB reads an existing file by
 * its name even when the name holds glob characters), else downloads into `dir`.
 */
async function localInputs(
  storage: ObjectStorage,
  files: readonly Add[],
  dir: string,
  ioLimit: number,
): Promise<string[]> {
  await Deno.mkdir(dir);
  return await mapBounded(files, ioLimit, async (f, i) => {
    const storagePath = dataFileStoragePath(f.path, storage.location);
    // A missing local file fails in DuckDB: the bin falls back to parquet-wasm, which reports it.
    const local = storage.localFilePath?.(storagePath);
    if (local !== undefined) return local;
    const path = `${dir}/${String(i).padStart(6, "0")}.parquet`;
    await Deno.writeFile(path, await storage.get(storagePath));
    return path;
  });
}

/** One DuckDB instance and connection for one bin. */
interface DuckSession {
  copy(
    inputs: readonly string[],
    outFile: string,
    fields: readonly StructField[],
    numIndexedCols: number,
  ): Promise<{ rows: number; stats: FileStats }>;
  interrupt(): void;
  close(): void;
}

let duckdbModule: Promise<typeof import("@duckdb/node-api")> | undefined;

/**
 * Start loading DuckDB's native module (about 100 ms) without waiting for it, so that it loads
 * while the caller reads the table; a rewrite awaits the same load. With `options`, the instance
 * of these settings is started too (its threads and temp directory, about 30 ms, off the event
 * loop), the one the rewrite then uses. Errors surface at the rewrite.
 */
export function preloadDuckDB(options?: DuckDBEngineOptions): void {
  if (duckdbModule === undefined) {
    duckdbModule = import("@duckdb/node-api");
    duckdbModule.catch(() => {}); // reported by the rewrite that awaits it
  }
  if (options !== undefined) instanceFor(options).catch(() => {}); // likewise
}

/** One DuckDB instance per (threads, memory limit), for the process's life (see below). */
const instances = new Map<string, Promise<import("@duckdb/node-api").DuckDBInstance>>();

/**
 * The process's DuckDB instance for these settings. It is never closed: closing an instance blocks
 * the event loop for tens of milliseconds (`closeSync`, measured in the runner's CPU profile while
 * it answered acks), and an idle instance holds no data. Spill files go to a directory of this
 * process under the system's temp directory.
 */
function instanceFor(options: DuckDBEngineOptions) {
  const threads = options.threads ?? navigator.hardwareConcurrency ?? 1;
  const memoryLimit = options.memoryLimit ?? DUCKDB_MEMORY_LIMIT_DEFAULT;
  const key = `${threads}|${memoryLimit}`;
  let instance = instances.get(key);
  if (instance === undefined) {
    preloadDuckDB();
    const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
    instance = duckdbModule!.then(({ DuckDBInstance }) =>
      DuckDBInstance.create(":memory:", {
        threads: String(threads),
        memory_limit: memoryLimit,
        temp_directory: `${tmp}/lakestrike-duckdb-${Deno.pid}`,
        preserve_insertion_order: "true",
        autoinstall_known_extensions: "false",
        autoload_known_extensions: "false",
      })
    );
    instances.set(key, instance);
    instance.catch(() => instances.delete(key)); // the next rewrite tries again
  }
  return instance;
}

async function openDuckSession(options: DuckDBEngineOptions): Promise<DuckSession> {
  let instance;
  try {
    instance = await instanceFor(options);
  } catch (e) {
    throw new DuckDBRewriteError(`DuckDB did not start: ${(e as Error).message}`, { cause: e });
  }
  const conn = await instance.connect();
  let interrupted = false;
  const run = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw new DuckDBRewriteError(`DuckDB failed to ${what}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  };
  return {
    async copy(inputs, outFile, fields, numIndexedCols) {
      const list = `[${inputs.map(literal).join(", ")}]`;
      const source = `read_parquet(${list}, hive_partitioning = false, union_by_name = true)`;
      const copy = (present: ReadonlySet<string> | undefined) => {
        const select = fields.map((f) => {
          const type = duckdbType(f)!;
          const there = present === undefined || present.has(f.name.toLowerCase());
          return `CAST(${there ? ident(f.name) : "NULL"} AS ${type}) AS ${ident(f.name)}`;
        }).join(", ");
        return conn.run(
          `COPY (SELECT ${select} FROM ${source}) TO ${literal(outFile)}
           (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
        );
      };
      try {
        // Usually every file holds every column: no DESCRIBE, which reads every footer once more.
        await copy(undefined);
      } catch (e) {
        if (interrupted) throw new DuckDBRewriteError("DuckDB rewrite interrupted", { cause: e });
        // A column added after some files were written is missing from them (or, with
        // union_by_name, from all): ask which columns the files hold, and read the others as null.
        const present = new Set(
          (await run(
            "describe the input",
            () => conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`),
          ))
            .getRowObjectsJS().map((r) => String(r["column_name"]).toLowerCase()),
        );
        await run("rewrite", () => copy(present));
      }
      const footer = await run("read the new file's footer", async () => {
        return boundsFromFooter(await readParquetFooter(outFile), fields);
      });
      const rows = footer.numRows;
      const indexed = numIndexedCols < 0 ? fields.length : Math.min(numIndexedCols, fields.length);
      const bounds = footer.columns.slice(0, indexed);
      // Columns whose footer bounds are not exact: one aggregate query over them.
      const missing = bounds.flatMap((b, i) => (b === undefined ? [i] : []));
      if (missing.length > 0) {
        const aggregates = missing.map((i) => {
          const f = fields[i]!;
          return `count(${ident(f.name)}) AS v${i}, ${boundSql("min", f)} AS lo${i}, ` +
            `${boundSql("max", f)} AS hi${i}`;
        });
        const row = (await run(
          "read statistics",
          () =>
            conn.runAndReadAll(
              `SELECT ${aggregates.join(", ")} FROM read_parquet(${literal(outFile)})`,
            ),
        )).getRowObjectsJS()[0]!;
        for (const i of missing) {
          const f = fields[i]!;
          const b: ColumnBounds = { nullCount: rows - Number(row[`v${i}`]) };
          const lo = boundOf(f, row[`lo${i}`]);
          const hi = boundOf(f, row[`hi${i}`]);
          if (lo !== undefined) b.min = lo;
          if (hi !== undefined) b.max = hi;
          bounds[i] = b;
        }
      }
      const stats = statsFromBounds(fields, rows, bounds as ColumnBounds[], { numIndexedCols });
      return { rows, stats };
    },
    interrupt() {
      interrupted = true;
      conn.interrupt();
    },
    close() {
      conn.closeSync();
    },
  };
}

/** A min or max DuckDB returned for `field` (see {@linkcode boundSql}), as a column bound. */
function boundOf(field: StructField, v: unknown): ColumnBounds["min"] {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number" || typeof v === "bigint") return v;
  const d = decimalParams(field.type as string);
  if (d !== undefined) {
    const unscaled = parseDecimal(String(v), d.precision, d.scale);
    if (typeof unscaled === "string") {
      throw new DuckDBRewriteError(`DuckDB returned ${String(v)} for ${field.name}: ${unscaled}`);
    }
    return BigInt(unscaled);
  }
  return String(v);
}

/** The footer of the Parquet file at `path` (its `FileMetaData`, without length and magic). */
async function readParquetFooter(path: string): Promise<Uint8Array> {
  const file = await Deno.open(path);
  try {
    const size = (await file.stat()).size;
    const readAt = async (offset: number, length: number) => {
      const bytes = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      for (let done = 0; done < length;) {
        const n = await file.read(bytes.subarray(done));
        if (n === null) {
          throw new RangeError(`Cannot read the Parquet footer of ${path}: too short`);
        }
        done += n;
      }
      return bytes;
    };
    if (size < 12) throw new RangeError(`Cannot read the Parquet footer of ${path}: too short`);
    const length = parquetFooterLength(await readAt(size - 8, 8));
    if (length > size - 12) throw new RangeError(`Cannot read the Parquet footer of ${path}`);
    return await readAt(size - 8 - length, length);
  } finally {
    file.close();
  }
}
