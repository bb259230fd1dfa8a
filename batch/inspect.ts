/**
 * `deno task inspect <table-uri> [--version N] [--json]`: what a table is at one version — protocol and
 * features, schema, partition columns, properties, active files, bytes, records (from stats) and the
 * recent history.
 *
 * @module
 */
import type { Add } from "../core/log/actions.ts";
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

const USAGE = "usage: deno task inspect <table-uri> [--version N] [--history N] [--json]\n" +
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
}

/** Number of records of a file from its stats, or `undefined` when it has none. */
export function fileNumRecords(add: Add): number | undefined {
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

/** Build the summary of a loaded snapshot plus its recent history. */
export function summarize(
  location: string,
  snapshot: Snapshot,
  history: Array<{ version: number; timestampMs: number; commitInfo?: Record<string, unknown> }>,
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
  };
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
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
  const summary = summarize(storage.location, snapshot, history);
  console.log(values["json"] ? JSON.stringify(summary) : formatSummary(summary));
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
