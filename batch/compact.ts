/**
 * `deno task compact <table-uri> [--target-size 128MiB] [--min-files N] [--strategy binpack|tiered]
 * [--partition k=v]... [--dry-run] [--json] [--commit-interval N] [--engine auto|duckdb|wasm]
 * [--threads N] [--config lakestrike.config.ts]`:
 * compact a Delta table (Delta `OPTIMIZE`, bin-packing; `--strategy tiered` plans in size tiers as
 * the runner does, ADR 0036) under the table's maintenance lock
 * (`_lakestrike/locks/compact`, see `ops/maintenance_lock.ts`).
 *
 * It runs `applyCompaction` (`ops/`), as the runner's schedule does: the plan comes from the
 * `planCompaction` hooks of the config's plugins when `--config` is given (first answer wins), then
 * from the built-in `compactionPlugin`. A progress bar is drawn only when stdout is a terminal; a
 * summary follows (files, bytes and rows before and after, time). `--dry-run` prints the plan and
 * changes nothing. The rewrite runs on DuckDB, on `--threads` cores (default all), for the bins it
 * rewrites exactly, and on parquet-wasm for the others (`--engine`, ADR 0043). Failures exit non-zero with a one-line error. It does not delete the removed
 * files: `deno task vacuum` does.
 *
 * @module
 */
import {
  type CompactionProgress,
  type CompactTableResult,
  parseByteSize,
  parsePartitionFilter,
} from "../plugins/compaction/mod.ts";
import type { PluginRegistry } from "../plugins/registry.ts";
import { applyCompaction, type ApplyCompactionOptions } from "../ops/apply_compaction.ts";
import {
  parseFlags,
  parseNonNegativeInt,
  parseTableFlags,
  runCli,
  TABLE_FLAGS,
  TABLE_FLAGS_USAGE,
  UsageError,
} from "./cli.ts";
import { preloadDuckDB } from "../plugins/compaction/mod.ts";
import { openTable } from "./open_table.ts";
import { formatBytes } from "./format_bytes.ts";

const USAGE = "usage: deno task compact <table-uri> [--target-size 128MiB] [--min-files N] " +
  "[--strategy binpack|tiered] [--partition k=v] " +
  "[--dry-run] [--json] [--commit-interval N] [--engine auto|duckdb|wasm] [--threads N] " +
  "[--config lakestrike.config.ts] " + TABLE_FLAGS_USAGE;

/**
 * The config loader (zod, the plugin registry), loaded only with `--config`. A computed specifier:
 * Deno prepares the module graph of every literal `import("...")` of a module when it loads it, run
 * or not, and this one cost every run of the command about 15 ms (ADR 0046).
 */
const CONFIG_MODULE = new URL("./config.ts", import.meta.url).href;

/** Where `main` writes, injectable for tests. */
export interface CompactIo {
  /** Writes text to stdout. */
  write(text: string): Promise<void> | void;
  /** True when stdout is a terminal (draws the progress bar). */
  isTerminal: boolean;
}

const encoder = new TextEncoder();
const defaultIo = (): CompactIo => ({
  write: async (text) => {
    await Deno.stdout.write(encoder.encode(text));
  },
  isTerminal: Deno.stdout.isTerminal(),
});

function progressBar(p: CompactionProgress): string {
  const width = 30;
  const ratio = p.filesTotal === 0 ? 1 : p.filesDone / p.filesTotal;
  const full = Math.round(ratio * width);
  return `\r[${"#".repeat(full)}${"-".repeat(width - full)}] ${p.filesDone}/${p.filesTotal} files` +
    ` ${p.binsDone}/${p.binsTotal} bins ${formatBytes(p.bytesRead)} read ${p.phase}   `;
}

function summary(result: CompactTableResult, elapsedMs: number, rowsBefore: number | undefined) {
  const m = result.metrics;
  return {
    dryRun: result.dryRun,
    versions: result.versions,
    bins: result.plan.length,
    filesBefore: result.filesBefore,
    filesAfter: result.dryRun
      ? result.filesBefore - m.numFilesRemoved + m.numBatches
      : result.filesAfter,
    filesRemoved: result.dryRun ? m.filesRemoved.totalFiles : m.numFilesRemoved,
    filesAdded: m.numFilesAdded,
    bytesRemoved: result.dryRun ? m.filesRemoved.totalSize : m.numBytesRemoved,
    bytesAdded: m.numBytesAdded,
    rowsRewritten: result.dryRun ? rowsBefore ?? null : m.numRowsWritten,
    binsDroppedByConflict: m.numBinsDroppedByConflict,
    elapsedMs: Math.round(elapsedMs),
  };
}

/** Entry point of `deno task compact`. */
export async function main(args: string[], io: CompactIo = defaultIo()): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    "target-size": { type: "string" },
    "min-files": { type: "string" },
    strategy: { type: "string" },
    partition: { type: "string", multiple: true },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    "commit-interval": { type: "string" },
    engine: { type: "string" },
    threads: { type: "string" },
    config: { type: "string" },
    ...TABLE_FLAGS,
  });
  if (positionals.length !== 1) {
    throw new UsageError(`Expected exactly one table URI, got ${positionals.length}`);
  }
  const options: ApplyCompactionOptions = {};
  const target = values["target-size"];
  if (target !== undefined) {
    if (typeof target !== "string") throw new UsageError("--target-size needs a value");
    const n = parseByteSize(target, "--target-size");
    if (n < 1) throw new UsageError(`Invalid value for --target-size: must be positive`);
    options.targetSizeBytes = n;
  }
  const minFiles = parseNonNegativeInt("min-files", values["min-files"]);
  if (minFiles !== undefined) {
    if (minFiles < 1) throw new UsageError("Invalid value for --min-files: must be at least 1");
    options.minFiles = minFiles;
  }
  const strategy = values["strategy"];
  if (strategy !== undefined) {
    if (strategy !== "binpack" && strategy !== "tiered") {
      throw new UsageError(
        `Invalid value for --strategy: expected binpack or tiered, got '${strategy}'`,
      );
    }
    options.strategy = strategy;
  }
  const interval = parseNonNegativeInt("commit-interval", values["commit-interval"]);
  if (interval !== undefined) {
    if (interval < 1) throw new UsageError("Invalid value for --commit-interval: must be >= 1");
    options.commitIntervalBins = interval;
  }
  const engine = values["engine"];
  if (engine !== undefined) {
    if (engine !== "auto" && engine !== "duckdb" && engine !== "wasm") {
      throw new UsageError(
        `Invalid value for --engine: expected auto, duckdb or wasm, got '${engine}'`,
      );
    }
    options.engine = engine;
  }
  const threads = parseNonNegativeInt("threads", values["threads"]);
  if (threads !== undefined) {
    if (threads < 1) throw new UsageError("Invalid value for --threads: must be at least 1");
    options.threads = threads;
  }
  const partitions = (values as Record<string, unknown>)["partition"] as string[] | undefined;
  if (partitions !== undefined && partitions.length > 0) {
    options.partitionFilter = parsePartitionFilter(partitions);
  }
  const dryRun = values["dry-run"] === true;
  options.dryRun = dryRun;
  const json = values["json"] === true;

  const started = performance.now();
  // DuckDB and its instance load while the table is read.
  if (!dryRun && options.engine !== "wasm") {
    preloadDuckDB(options.threads === undefined ? {} : { threads: options.threads });
  }
  // The table's own commit protocol (put-if-absent, S3 conditional PUT or S3 + DynamoDB).
  const { storage, protocol } = await openTable(positionals[0]!, parseTableFlags(values));
  let plugins: PluginRegistry | undefined;
  const configPath = values["config"];
  if (typeof configPath === "string") {
    const { loadPluginRegistry } = await import(CONFIG_MODULE) as typeof import("./config.ts");
    plugins = await loadPluginRegistry(configPath);
  }
  let lastDraw = 0;
  // Plans with the config's planners and the built-in one; locks, rewrites, checkpoints.
  const { compaction: result } = await applyCompaction({ storage, protocol }, {
    ...options,
    ...(plugins ? { plugins } : {}),
    onProgress: (p) => {
      if (!io.isTerminal || json) return;
      const now = performance.now();
      if (now - lastDraw < 100 && p.phase !== "done") return;
      lastDraw = now;
      void io.write(progressBar(p));
    },
  });
  const elapsedMs = performance.now() - started;
  const s = summary(result, elapsedMs, undefined);
  if (io.isTerminal && !json) await io.write("\n");
  if (json) {
    const plan = result.plan.map((b) => ({
      partitionValues: b.partitionValues,
      files: b.files.map((f) => f.path),
      bytes: b.files.reduce((a, f) => a + f.size, 0),
    }));
    await io.write(
      JSON.stringify({ ...s, ...(dryRun ? { plan } : {}), metrics: result.metrics }) + "\n",
    );
    return;
  }
  const lines: string[] = [];
  if (dryRun) {
    lines.push(`dry run: ${result.plan.length} bins would be rewritten, nothing was changed`);
    result.plan.forEach((b, i) => {
      const bytes = b.files.reduce((a, f) => a + f.size, 0);
      const where = Object.entries(b.partitionValues).map(([k, v]) => `${k}=${v ?? "null"}`)
        .join("/") || "(unpartitioned)";
      lines.push(`  bin ${i + 1}: ${where}: ${b.files.length} files, ${formatBytes(bytes)}`);
    });
  } else if (result.versions.length === 0) {
    lines.push("nothing to compact");
  } else {
    lines.push(`compacted into version ${result.versions.join(", ")}`);
  }
  lines.push(
    `files: ${s.filesBefore} -> ${s.filesAfter} (removed ${s.filesRemoved}, added ${s.filesAdded})`,
    `bytes: removed ${formatBytes(s.bytesRemoved)}, added ${formatBytes(s.bytesAdded)}`,
    `rows rewritten: ${s.rowsRewritten ?? "-"}`,
    `time: ${(elapsedMs / 1000).toFixed(2)} s`,
  );
  if (s.binsDroppedByConflict > 0) {
    lines.push(`bins dropped by concurrent removes: ${s.binsDroppedByConflict}`);
  }
  await io.write(lines.join("\n") + "\n");
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
