/**
 * `deno task vacuum <table-uri> [--retention-hours H] [--no-enforce-retention] [--lite] [--logs]
 * [--dry-run] [--json] [--config lakestrike.config.ts]`: delete files the table no longer
 * references once they are older than the retention (see `plugins/vacuum`), and with `--logs` also
 * expired log files (see `core/log/log_cleanup.ts`). `--dry-run` lists the files and bytes it would
 * delete and changes nothing. A progress bar when stdout is a terminal (as `deno task compact`;
 * none with `--json`), a summary at the end, a one-line error and a non-zero exit on failure.
 *
 * It runs `applyVacuum` (`ops/`), as the runner's scheduled vacuum does: under the table's vacuum
 * lock (`_lakestrike/locks/vacuum`; a dry run takes none), and with `--config` the config's plugins
 * run there too: `planDataRetention` hooks first (their removes are committed, or only listed on a
 * dry run), then `retentionHorizon` and `filterVacuumCandidates` (they can only keep more).
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import type { CleanupExpiredLogsResult } from "../core/log/log_cleanup.ts";
import type { PluginRegistry } from "../plugins/registry.ts";
import type { VacuumProgress, VacuumResult } from "../plugins/vacuum/mod.ts";
import { applyVacuum, type DataRetentionReport } from "../ops/mod.ts";
import {
  parseFlags,
  parseTableFlags,
  runCli,
  TABLE_FLAGS,
  TABLE_FLAGS_USAGE,
  UsageError,
} from "./cli.ts";
import { openTable, type OpenTableOptions } from "./open_table.ts";
import { formatBytes } from "./format_bytes.ts";

const USAGE =
  "usage: deno task vacuum <table-uri> [--retention-hours H] [--no-enforce-retention] [--lite] [--logs] [--dry-run] [--json] [--config lakestrike.config.ts]\n" +
  `  ${TABLE_FLAGS_USAGE}`;

/** Parsed command line of the vacuum command. */
export interface VacuumArgs {
  uri: string;
  retentionHours?: number;
  enforceRetention: boolean;
  lite: boolean;
  logs: boolean;
  dryRun: boolean;
  json: boolean;
  table: OpenTableOptions;
  /** Config file whose plugins' vacuum hooks run (`--config`). */
  config?: string;
}

/**
 * Parse the command line.
 *
 * @example
 * ```ts
 * import { parseVacuumArgs } from "./vacuum.ts";
 * const a = parseVacuumArgs(["/data/t", "--retention-hours", "24", "--no-enforce-retention", "--dry-run"]);
 * if (a.retentionHours !== 24 || a.enforceRetention || !a.dryRun) throw new Error("bad parse");
 * ```
 */
export function parseVacuumArgs(args: string[]): VacuumArgs {
  const { values, positionals } = parseFlags(args, {
    "retention-hours": { type: "string" },
    "no-enforce-retention": { type: "boolean" },
    lite: { type: "boolean" },
    logs: { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    config: { type: "string" },
    ...TABLE_FLAGS,
  });
  if (positionals.length !== 1) {
    throw new UsageError(`expected one table URI, got ${positionals.length}`);
  }
  const out: VacuumArgs = {
    uri: positionals[0]!,
    enforceRetention: !values["no-enforce-retention"],
    lite: values.lite === true,
    logs: values.logs === true,
    dryRun: values["dry-run"] === true,
    json: values.json === true,
    table: parseTableFlags(values),
  };
  const config = values["config"];
  if (config !== undefined) {
    if (typeof config !== "string" || config === "") throw new UsageError("--config needs a path");
    out.config = config;
  }
  const h = values["retention-hours"];
  if (h !== undefined) {
    if (typeof h !== "string" || !/^\d+(\.\d+)?$/.test(h)) {
      throw new UsageError(`Invalid value for --retention-hours: expected hours >= 0, got '${h}'`);
    }
    out.retentionHours = Number(h);
  }
  return out;
}

/**
 * What one run did: the data retention (when the config has `planDataRetention` plugins), the
 * vacuum and, with `--logs`, the log cleanup.
 */
export interface VacuumRunReport {
  retention?: DataRetentionReport;
  vacuum: VacuumResult;
  logs?: CleanupExpiredLogsResult;
}

/** Run the command on parsed arguments (`applyVacuum` on the opened table); prints nothing. */
export async function runVacuum(
  args: VacuumArgs,
  options: { clock?: Clock; onProgress?: (p: VacuumProgress) => void } = {},
): Promise<VacuumRunReport> {
  const { storage, protocol } = await openTable(args.uri, args.table);
  let plugins: PluginRegistry | undefined;
  if (args.config !== undefined) {
    const { loadPluginRegistry } = await import("./config.ts");
    plugins = await loadPluginRegistry(args.config);
  }
  return await applyVacuum({ storage, protocol }, {
    ...(plugins ? { plugins } : {}),
    retentionHours: args.retentionHours,
    enforceRetention: args.enforceRetention,
    mode: args.lite ? "lite" : "full",
    dryRun: args.dryRun,
    logs: args.logs,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** The human summary printed at the end. */
export function formatVacuumReport(report: VacuumRunReport): string {
  const v = report.vacuum;
  const verb = v.dryRun ? "Would delete" : "Deleted";
  const lines: string[] = [];
  const r = report.retention;
  if (r) {
    if (v.dryRun) { for (const f of r.files) lines.push(`expired\t${f.path}\t${f.size}`); }
    lines.push(
      r.skipped
        ? `Data retention: nothing removed (${r.skipped})`
        : `Data retention: ${
          v.dryRun ? "would remove" : "removed"
        } ${r.files.length} expired files${
          r.version === undefined ? "" : ` in version ${r.version}`
        }`,
    );
  }
  if (v.dryRun) { for (const f of v.files) lines.push(`${f.path}\t${f.size}`); }
  lines.push(
    `${verb} ${v.files.length} files (${
      formatBytes(v.bytes)
    }) at version ${v.version}, ${v.mode} mode, ` +
      `retention ${v.retentionMs / 3_600_000} h (horizon ${
        new Date(v.horizonMs).toISOString()
      }), ` +
      `${v.filesListed} objects listed, ${v.filesSpared} spared by plugins`,
  );
  if (report.logs) {
    const l = report.logs;
    if (v.dryRun) { for (const p of l.files) lines.push(p); }
    lines.push(
      l.skipped
        ? `Log cleanup: nothing deleted (${l.skipped})`
        : `Log cleanup: ${verb.toLowerCase()} ${l.files.length} log files (${
          formatBytes(l.bytes)
        }) below checkpoint ${l.checkpointVersion}`,
    );
  }
  return lines.join("\n");
}

/** Where `main` writes, injectable for tests (as `deno task compact`'s `CompactIo`). */
export interface VacuumIo {
  /** Writes text to stdout. */
  write(text: string): Promise<void> | void;
  /** True when stdout is a terminal (draws the progress bar). */
  isTerminal: boolean;
}

const encoder = new TextEncoder();
const defaultIo = (): VacuumIo => ({
  write: async (text) => {
    await Deno.stdout.write(encoder.encode(text));
  },
  isTerminal: Deno.stdout.isTerminal(),
});

/**
 * One frame of the progress bar: a count while listing, a bar while deleting. It starts with `\r`
 * and ends with spaces, so each frame overwrites the last on a terminal.
 *
 * @example
 * ```ts
 * import { vacuumProgressBar } from "./vacuum.ts";
 * const frame = vacuumProgressBar({ phase: "delete", done: 5, total: 10 });
 * if (!frame.includes("[###############---------------] 5/10 files deleting")) throw new Error(frame);
 * ```
 */
export function vacuumProgressBar(p: VacuumProgress): string {
  if (p.phase === "list") return `\rlisting ${p.done} objects   `;
  const width = 30;
  const total = p.total ?? p.done;
  const full = total === 0 ? width : Math.round((p.done / total) * width);
  return `\r[${"#".repeat(full)}${"-".repeat(width - full)}] ${p.done}/${total} files deleting   `;
}

/**
 * Entry point: parse `args`, run, print the summary (or JSON). The progress bar is drawn only when
 * stdout is a terminal and `--json` is not given, at most every 100 ms plus the last frame.
 */
export async function main(args: string[] = Deno.args, io: VacuumIo = defaultIo()): Promise<void> {
  const parsed = parseVacuumArgs(args);
  const draw = io.isTerminal && !parsed.json;
  let lastDraw = 0;
  let drawn = false;
  const report = await runVacuum(parsed, {
    onProgress: (p) => {
      if (!draw) return;
      const now = performance.now();
      const last = p.phase === "delete" && p.done === p.total;
      if (now - lastDraw < 100 && !last) return;
      lastDraw = now;
      drawn = true;
      void io.write(vacuumProgressBar(p));
    },
  });
  if (drawn) await io.write("\n");
  await io.write(`${parsed.json ? JSON.stringify(report) : formatVacuumReport(report)}\n`);
}

if (import.meta.main) await runCli(USAGE, () => main());
