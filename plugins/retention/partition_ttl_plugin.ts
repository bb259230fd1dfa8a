/**
 * `partitionTtlPlugin({ column, days })`: a `planDataRetention` that expires whole partitions by the
 * date in their partition value. `applyDataRetention` then commits the `remove`s, and a later vacuum
 * deletes the files once the removes are older than the retention.
 *
 * The partition value (a string in the log) is read as:
 *
 * * `date` or `string` column: `YYYY-MM-DD` (a string column may carry more after the date, such as
 *   `YYYY-MM-DD HH:MM`, only the date counts); the partition holds data up to the end of that UTC
 *   day;
 * * `timestamp` / `timestamp_ntz` column: `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` taken as UTC (a zone
 *   the value gives is honoured), as the scan reads it; the partition holds data of that instant.
 *
 * Values are read with the project's one date and timestamp parser (`core/values`): a text that
 * names no date or no time of day (`2024-02-30`, `25:00`) is unreadable, not carried over.
 *
 * A partition expires when its newest possible instant is more than `days` days before now. A null,
 * empty or unparseable value never expires (keeping is the safe mistake).
 *
 * @module
 */
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import { physicalName } from "../../core/schema/column_mapping.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { parseDate, parseTimestamp } from "../../core/values/datetime_text.ts";
import { type Plugin, PLUGIN_API_VERSION } from "../types.ts";

/** Options of {@linkcode partitionTtlPlugin}. */
export interface PartitionTtlOptions {
  /** A partition column of type date, timestamp, timestamp_ntz or string (`YYYY-MM-DD...`). */
  column: string;
  /** Partitions whose data is older than this many days expire (a non-negative number). */
  days: number;
}

const DAY_MS = 86_400_000;

/**
 * The newest instant (epoch ms) data of a partition value can have, or `undefined` when the value
 * cannot be read (then the partition never expires).
 *
 * @example
 * ```ts
 * import { partitionEndMs } from "./partition_ttl_plugin.ts";
 * if (partitionEndMs("2024-01-31", "date") !== Date.UTC(2024, 1, 1) - 1) throw new Error("date");
 * if (partitionEndMs("2024-01-31 10:00:00", "timestamp") !== Date.UTC(2024, 0, 31, 10)) throw new Error("ts");
 * if (partitionEndMs("soon", "string") !== undefined) throw new Error("junk");
 * ```
 */
export function partitionEndMs(value: string | null | undefined, type: string): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (type === "timestamp" || type === "timestamp_ntz") {
    const micros = parseTimestamp(value)?.micros;
    // The instant rounded up to the millisecond: the newest data the partition can hold.
    return micros === undefined ? undefined : Math.ceil(Number(micros) / 1000);
  }
  if (type !== "date" && type !== "string") return undefined;
  // A string column may carry more after the date; only the date counts.
  const days = parseDate(value.slice(0, 10));
  return days === undefined ? undefined : (days + 1) * DAY_MS - 1;
}

/** The active files of `snapshot` whose partition of `column` ended more than `days` days before `nowMs`. Pure. */
export function planPartitionTtl(
  snapshot: Snapshot,
  options: PartitionTtlOptions,
  nowMs: number,
): Add[] {
  const { column, days } = options;
  const name = snapshot.metadata.partitionColumns.find((c) => c === column) ??
    snapshot.metadata.partitionColumns.find((c) => c.toLowerCase() === column.toLowerCase());
  if (name === undefined) {
    throw new InvalidArgumentError(
      `Cannot plan partition TTL: ${column} is not a partition column (${
        snapshot.metadata.partitionColumns.join(", ") || "none"
      })`,
    );
  }
  const field = snapshot.schema.fields.find((f) => f.name === name);
  const type = typeof field?.type === "string" ? field.type : "";
  if (!["date", "timestamp", "timestamp_ntz", "string"].includes(type)) {
    throw new InvalidArgumentError(
      `Cannot plan partition TTL: column ${name} has type ${
        JSON.stringify(field?.type)
      }, not date, timestamp or string`,
    );
  }
  const key = snapshot.columnMappingMode === "none" || !field ? name : physicalName(field);
  const limitMs = nowMs - days * DAY_MS;
  return snapshot.files.filter((add) => {
    const end = partitionEndMs(add.partitionValues[key], type);
    return end !== undefined && end < limitMs;
  });
}

/**
 * Create the plugin.
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../registry.ts";
 * import { partitionTtlPlugin } from "./partition_ttl_plugin.ts";
 * const registry = createPluginRegistry([partitionTtlPlugin({ column: "date", days: 90 })]).freeze();
 * if (registry.hookOrder("planDataRetention")[0] !== "partition-ttl:date") throw new Error("missing");
 * ```
 */
export function partitionTtlPlugin(options: PartitionTtlOptions): Plugin {
  const { column, days } = options ?? {};
  if (typeof column !== "string" || column === "") {
    throw new InvalidArgumentError(
      "Cannot create partitionTtlPlugin: column must be a column name",
    );
  }
  if (typeof days !== "number" || !Number.isFinite(days) || days < 0) {
    throw new InvalidArgumentError(
      `Cannot create partitionTtlPlugin: days must be a non-negative number, got ${days}`,
    );
  }
  return {
    name: `partition-ttl:${column}`,
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      planDataRetention: (snapshot, ctx) =>
        planPartitionTtl(snapshot, { column, days }, ctx.clock.nowMs()),
    },
  };
}
