/**
 * `deno task inspect <table-uri> [--version N] [--json] [--tier-fanout F]`: what a table is at one
 * version — protocol and features, schema, partition columns, properties, active files, bytes,
 * records (from stats), the recent history, and the compaction tiers: per partition, its files by
 * size class (tier) with their bytes and rows, and what the runner's tiered compaction would do next
 * (the bins it would rewrite, and whether the partition is due for the trigger with the default
 * thresholds; `plugins/compaction/plan_tiered_bins.ts`, ADR 0036), and a health summary: the
 * small-file share, files per partition, log versions since the last checkpoint and the
 * recommended action (`table_health.ts`, the dashboard's figures).
 *
 * @module
 */
import type { Add } from "../core/log/actions.ts";
import {
  isDue,
  numRecordsOf,
  type PartitionTiers,
  planTiers,
  type TieredPlan,
  TRIGGER_FILES_DEFAULT,
} from "../plugins/compaction/plan_tiered_bins.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import type { DataType } from "../core/schema/types.ts";
import { loadHistory } from "../core/snapshot/mod.ts";
import {
  parseFlags,
  parseNonNegativeInt,
  parseTableFlags,
  runCli,
  TABLE_FLAGS,
  TABLE_FLAGS_USAGE,
  UsageError,
} from "./cli.ts";
import { openTable } from "./open_table.ts";
import { type TableHealth, tableHealth } from "./table_health.ts";
import { loadLastCheckpoint } from "../core/log/last_checkpoint.ts";
import { formatBytes } from "./format_bytes.ts";

const USAGE =
  "usage: deno task inspect <table-uri> [--version N] [--history N] [--json] [--tier-fanout F]\n" +
  `  ${TABLE_FLAGS_USAGE}`;

/** Summary of a table at one version, as `inspect --json` prints it. */
export interface TableSummary {
  location: string;
  version: number;
  timestamp: string;
  protocol: Snapshot["protocol"];
  id: string;
  name: string | null;
  description: string | null;
  schema: Array<{ name: string; type: string; nullable: boolean }>;
  partitionColumns: string[];
  properties: Record<string, string>;
  numFiles: number;
  sizeBytes: number;
  /** Sum of `numRecords` over files that have stats; `null` when no file has them. */
  numRecords: number | null;
  numFilesWithoutStats: number;
  numFilesWithDeletionVectors: number;
  history: Array<
    { version: number; timestamp: string; operation: string | null; commitInfo: unknown }
  >;
  /** The compaction tiers and what the tiered planner would do next. */
  tiers: TiersSummary;
  /** Small files, files per partition, versions since the last checkpoint, what to do. */
  health: TableHealth;
}

/** The compaction tiers of a table, as `inspect` shows them. */
export interface TiersSummary {
  /** Tiers below full, the growth factor, and what makes a file full. */
  tierCount: number;
  fanout: number;
  fullRows: number;
  targetSizeBytes: number;
  /** Small files of a partition that make it due for the trigger (the default). */
  triggerFiles: number;
  /** Per partition, most files first. */
  partitions: Array<
    Omit<PartitionTiers, "bins" | "readBin"> & {
      files: number;
      bytes: number;
      /** Bins the planner would rewrite now, and their files. */
      binsPlanned: number;
      filesPlanned: number;
      /** Files of the read bin among them (0 without one): the smallest, merged across tiers. */
      readBinFiles: number;
      /** The trigger would compact this partition after the next commit. */
      due: boolean;
    }
  >;
}

/** The tiers of `snapshot` for `inspect` (see {@linkcode TiersSummary}). */
export function summarizeTiers(
  snapshot: Pick<Snapshot, "files" | "metadata">,
  options: { fanout?: number } = {},
): TiersSummary {
  const plan: TieredPlan = planTiers(snapshot, options);
  const partitions = plan.partitions.map((whole) => {
    const { bins, readBin, ...p } = whole;
    const files = p.tiers.reduce((n, t) => n + t.files, 0);
    return {
      ...p,
      files,
      bytes: p.tiers.reduce((n, t) => n + t.bytes, 0),
      binsPlanned: bins.length,
      filesPlanned: bins.reduce((n, b) => n + b.files.length, 0),
      readBinFiles: readBin?.files.length ?? 0,
      due: isDue(whole, plan),
    };
  }).sort((a, b) => b.files - a.files);
  return {
    tierCount: plan.tierCount,
    fanout: plan.fanout,
    fullRows: plan.fullRows,
    targetSizeBytes: plan.targetSizeBytes,
    triggerFiles: TRIGGER_FILES_DEFAULT,
    partitions,
  };
}

/** Number of records of a file from its stats, or `undefined` when it has none. */
export const fileNumRecords: (add: Add) => number | undefined = numRecordsOf;

/** Render a Delta type as a short string (`struct<a: int>`, `array<string>`). */
export function typeToString(t: DataType): string {
  if (typeof t === "string") return t;
  switch (t.type) {
    case "struct":
      return `struct<${t.fields.map((f) => `${f.name}: ${typeToString(f.type)}`).join(", ")}>`;
    case "array":
      return `array<${typeToString(t.elementType)}>`;
    case "map":
      return `map<${typeToString(t.keyType)}, ${typeToString(t.valueType)}>`;
  }
}

/**
 * Build the summary of a loaded snapshot plus its recent history; `checkpointVersion` is the last
 * checkpoint's (from `_last_checkpoint`), `nowMs` the clock for the tombstones' retention.
 */
export function summarize(
  location: string,
  snapshot: Snapshot,
  history: Array<{ version: number; timestampMs: number; commitInfo?: Record<string, unknown> }>,
  options: { fanout?: number; checkpointVersion?: number; nowMs?: number } = {},
): TableSummary {
  let sizeBytes = 0;
  let numRecords = 0;
  let withoutStats = 0;
  let withDv = 0;
  for (const add of snapshot.files) {
    sizeBytes += add.size;
    if (add.deletionVector) withDv++;
    const n = fileNumRecords(add);
    if (n === undefined) withoutStats++;
    else numRecords += n - (add.deletionVector?.cardinality ?? 0);
  }
  const md = snapshot.metadata;
  return {
    location,
    version: snapshot.version,
    timestamp: new Date(snapshot.timestampMs).toISOString(),
    protocol: snapshot.protocol,
    id: md.id,
    name: md.name ?? null,
    description: md.description ?? null,
    schema: snapshot.schema.fields.map((f) => ({
      name: f.name,
      type: typeToString(f.type),
      nullable: f.nullable,
    })),
    partitionColumns: [...md.partitionColumns],
    properties: { ...md.configuration },
    numFiles: snapshot.files.length,
    sizeBytes,
    numRecords: withoutStats === snapshot.files.length && withoutStats > 0 ? null : numRecords,
    numFilesWithoutStats: withoutStats,
    numFilesWithDeletionVectors: withDv,
    history: history.map((h) => ({
      version: h.version,
      timestamp: new Date(h.timestampMs).toISOString(),
      operation: typeof h.commitInfo?.["operation"] === "string"
        ? h.commitInfo["operation"] as string
        : null,
      commitInfo: h.commitInfo ?? null,
    })),
    tiers: summarizeTiers(snapshot, options.fanout === undefined ? {} : { fanout: options.fanout }),
    health: tableHealth(snapshot, options.checkpointVersion, options.nowMs ?? Date.now()),
  };
}

/** Partitions `formatSummary` lists at most (most files first). */
export const TIER_PARTITIONS_SHOWN_MAX = 20;

/** The lines of the tiers section. */
function formatTiers(t: TiersSummary): string[] {
  if (t.partitions.length === 0) return [];
  // Tiers are anchored at one row (`plan_tiered_bins.ts`): tier k starts at fanout^k rows.
  const lowerRows = (tier: number) => t.fanout ** tier;
  const label = (tier: number) =>
    tier === t.tierCount
      ? "full"
      : tier === 0
      ? `0 (< ${lowerRows(1)} rows)`
      : `${tier} (${lowerRows(tier)}+ rows)`;
  const lines = [
    `tiers       fanout ${t.fanout}, ${t.tierCount} tiers; full at ${t.fullRows} rows or ${
      formatBytes(t.targetSizeBytes)
    }; due at ${t.triggerFiles} small files or ${
      formatBytes(t.targetSizeBytes)
    }, or past the read budget`,
  ];
  for (const p of t.partitions.slice(0, TIER_PARTITIONS_SHOWN_MAX)) {
    const name = Object.entries(p.partitionValues).map(([k, v]) =>
      `${k}=${v ?? "null"}`
    ).join("/") ||
      "(unpartitioned)";
    const next = p.binsPlanned === 0
      ? "nothing (at its tiers)"
      : `${p.binsPlanned} bins of ${p.filesPlanned} files${p.due ? ", due now" : ", not due yet"}`;
    const read = p.readBinFiles > 0
      ? `; over its read budget of ${p.readBudget} files: its ${p.readBinFiles} smallest merge`
      : `; read budget ${p.readBudget} files`;
    lines.push(`  ${name}: ${p.files} files, ${formatBytes(p.bytes)}; next: ${next}${read}`);
    for (const tier of p.tiers) {
      const planned = tier.binsPlanned
        ? `  → ${tier.binsPlanned} bins (${tier.filesPlanned} files) to tier ${tier.tier + 1}`
        : "";
      lines.push(
        `    ${label(tier.tier).padEnd(18)} ${String(tier.files).padStart(6)} files ${
          formatBytes(tier.bytes).padStart(10)
        } ${String(tier.rows).padStart(10)} rows${planned}`,
      );
    }
  }
  const hidden = t.partitions.length - TIER_PARTITIONS_SHOWN_MAX;
  if (hidden > 0) lines.push(`  ... ${hidden} more partitions (--json lists them all)`);
  return lines;
}

/** The lines of the health summary. */
function formatHealth(h: TableHealth): string[] {
  const share = `${(100 * h.smallFileShare).toFixed(0)} %`;
  const checkpoint = h.checkpointVersion === null
    ? `no checkpoint yet (${h.versionsSinceCheckpoint} versions)`
    : `${h.versionsSinceCheckpoint} versions since the last checkpoint (version ${h.checkpointVersion})`;
  return [
    `health      small files ${h.smallFiles} of ${h.files} (${share}); files per partition max ${h.filesPerPartitionMax}, mean ${
      h.filesPerPartitionMean.toFixed(1)
    } over ${h.partitions}`,
    `            ${checkpoint}, interval ${h.checkpointInterval}; ${h.tombstones} tombstones, ${h.expiredTombstones} past retention`,
    `recommended ${h.action}: ${h.reason}`,
  ];
}

/** Render the summary for a terminal. */
export function formatSummary(s: TableSummary): string {
  const p = s.protocol;
  const features = [
    ...(p.readerFeatures?.length ? [`reader features: ${p.readerFeatures.join(", ")}`] : []),
    ...(p.writerFeatures?.length ? [`writer features: ${p.writerFeatures.join(", ")}`] : []),
  ];
  const lines = [
    `table       ${s.location}`,
    `version     ${s.version} (${s.timestamp})`,
    `id          ${s.id}${s.name ? ` (${s.name})` : ""}`,
    `protocol    reader ${p.minReaderVersion}, writer ${p.minWriterVersion}${
      features.length ? `; ${features.join("; ")}` : ""
    }`,
    `files       ${s.numFiles} active, ${formatBytes(s.sizeBytes)}${
      s.numFilesWithDeletionVectors
        ? `, ${s.numFilesWithDeletionVectors} with deletion vectors`
        : ""
    }`,
    `records     ${s.numRecords ?? "unknown"}${
      s.numFilesWithoutStats && s.numRecords !== null
        ? ` (+ ${s.numFilesWithoutStats} files without stats)`
        : ""
    }`,
    `partitioned ${s.partitionColumns.length ? s.partitionColumns.join(", ") : "no"}`,
    "schema",
    ...s.schema.map((f) => `  ${f.name}  ${f.type}${f.nullable ? "" : " not null"}`),
  ];
  const props = Object.entries(s.properties);
  if (props.length) {
    lines.push("properties", ...props.map(([k, v]) => `  ${k} = ${v}`));
  }
  lines.push(...formatTiers(s.tiers), ...formatHealth(s.health));
  if (s.history.length) {
    lines.push("history");
    for (const h of s.history) {
      lines.push(`  ${String(h.version).padStart(6)}  ${h.timestamp}  ${h.operation ?? "-"}`);
    }
  }
  return lines.join("\n");
}

/** Entry point of `deno task inspect`. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    version: { type: "string" },
    history: { type: "string" },
    json: { type: "boolean" },
    "tier-fanout": { type: "string" },
    ...TABLE_FLAGS,
  });
  if (positionals.length !== 1) {
    throw new UsageError(`Expected exactly one table URI, got ${positionals.length}`);
  }
  const version = parseNonNegativeInt("version", values["version"]);
  const historyLimit = parseNonNegativeInt("history", values["history"]) ?? 10;
  const { storage, snapshot } = await openTable(positionals[0]!, {
    ...parseTableFlags(values),
    ...(version === undefined ? {} : { version }),
  });
  const history = historyLimit === 0
    ? []
    : await loadHistory(storage, { limit: historyLimit, version: snapshot.version });
  const fanout = parseNonNegativeInt("tier-fanout", values["tier-fanout"]);
  if (fanout !== undefined && fanout < 2) {
    throw new UsageError("Invalid value for --tier-fanout: must be at least 2");
  }
  const checkpoint = await loadLastCheckpoint(storage);
  const summary = summarize(storage.location, snapshot, history, {
    ...(fanout === undefined ? {} : { fanout }),
    ...(checkpoint === undefined ? {} : { checkpointVersion: checkpoint.version }),
  });
  console.log(values["json"] ? JSON.stringify(summary) : formatSummary(summary));
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
