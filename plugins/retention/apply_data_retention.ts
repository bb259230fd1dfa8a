/**
 * Apply data retention: ask the `planDataRetention` hooks which active files have expired and commit
 * their `remove`s (`dataChange: true`, operation `DELETE`, `deletionTimestamp` now). The files stay
 * in storage; vacuum deletes them once the removes are older than the retention horizon.
 *
 * It does not delete any file, does not rewrite files that hold expired and live rows together
 * (retention works on whole files, so partition by the column you expire on), and refuses
 * `delta.appendOnly` tables.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import { LakestrikeError, UnsupportedFeatureError } from "../../core/errors.ts";
import type { Add, Remove } from "../../core/log/actions.ts";
import { commitActions } from "../../core/log/commit.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
import { tombstoneTimestampMs } from "../../core/log/tombstone_time.ts";
import { assertWriteSupported } from "../../core/snapshot/protocol.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { noopLogger } from "../logger.ts";
import { createPluginRegistry, type PluginRegistry } from "../registry.ts";
import type { Logger, Plugin, VacuumContext } from "../types.ts";

/** Options of {@linkcode applyDataRetention}. */
export interface ApplyDataRetentionOptions {
  /** Source of "now" (hooks and `deletionTimestamp`); default the system clock. */
  clock?: Clock;
  /**
   * The storage's clock (`ops` reads it from the lease): no `deletionTimestamp` is earlier than its
   * now, whatever `clock` says (see `core/log/tombstone_time.ts`).
   */
  storageClock?: Clock | undefined;
  /** Plan only, commit nothing; default false. */
  dryRun?: boolean;
  /** The table as plugins see it; default from `storage.location`. */
  table?: { name: string; uri: string };
  /** Where plugins log; default none. */
  logger?: Logger;
  /** Cancels the hooks. */
  signal?: AbortSignal;
  /** The table's commit protocol for the `DELETE` commit (default put-if-absent). */
  protocol?: CommitProtocol;
}

/** What {@linkcode applyDataRetention} did. */
export interface ApplyDataRetentionResult {
  /** The expired files (removed, or that would be on a dry run). */
  files: Add[];
  /** The version of the `DELETE` commit, when one was written. */
  version?: number;
  /** The table state after the commit (or the input snapshot when nothing was committed). */
  snapshot: Snapshot;
}

/** The `remove` of an active file: same path and deletion vector, so replay matches it. */
export function removeOf(add: Add, deletionTimestamp: number): Remove {
  const remove: Remove = {
    path: add.path,
    deletionTimestamp,
    dataChange: true,
    extendedFileMetadata: true,
    partitionValues: add.partitionValues,
    size: add.size,
  };
  if (add.stats !== undefined && add.stats !== null) remove.stats = add.stats;
  if (add.tags) remove.tags = add.tags;
  if (add.deletionVector) remove.deletionVector = add.deletionVector;
  if (add.baseRowId !== undefined && add.baseRowId !== null) remove.baseRowId = add.baseRowId;
  if (add.defaultRowCommitVersion !== undefined && add.defaultRowCommitVersion !== null) {
    remove.defaultRowCommitVersion = add.defaultRowCommitVersion;
  }
  return remove;
}

/**
 * Plan data retention with the registry's (or the plugins') `planDataRetention` hooks and commit
 * the removes.
 *
 * @throws {UnsupportedFeatureError} for append-only tables and tables this writer cannot write
 * @throws {LakestrikeError} `COMMIT_FAILED` when the commit conflicts (e.g. a concurrent compaction
 *   removed one of the files): plan again on the new snapshot
 *
 * @example
 * ```ts
 * import { createManualClock } from "../../core/clock.ts";
 * import { commitActions } from "../../core/log/commit.ts";
import type { CommitProtocol } from "../../core/log/commit_protocol.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { applyDataRetention } from "./apply_data_retention.ts";
 * import { partitionTtlPlugin } from "./partition_ttl_plugin.ts";
 *
 * const clock = createManualClock(Date.UTC(2025, 5, 1));
 * const storage = createMemoryStorage({ clock });
 * const v0 = await createTable(storage, {
 *   schema: { type: "struct", fields: [
 *     { name: "x", type: "long", nullable: true, metadata: {} },
 *     { name: "date", type: "date", nullable: true, metadata: {} },
 *   ] },
 *   partitionColumns: ["date"],
 *   clock,
 * });
 * const add = (date: string) => ({ add: { path: `date=${date}/p.parquet`, partitionValues: { date },
 *   size: 1, modificationTime: 0, dataChange: true } });
 * const v1 = await commitActions(storage, v0, { operation: "WRITE",
 *   actions: [add("2025-01-01"), add("2025-05-31")] }, { clock });
 * if (!v1.ok) throw new Error(v1.reason);
 * const r = await applyDataRetention(storage, v1.snapshot, [partitionTtlPlugin({ column: "date", days: 30 })], { clock });
 * if (r.files.length !== 1 || r.snapshot.files[0]?.partitionValues.date !== "2025-05-31") throw new Error("bad");
 * ```
 */
export async function applyDataRetention(
  storage: ObjectStorage,
  snapshot: Snapshot,
  plugins: PluginRegistry | readonly Plugin[],
  options: ApplyDataRetentionOptions = {},
): Promise<ApplyDataRetentionResult> {
  const clock = options.clock ?? systemClock;
  assertWriteSupported(snapshot.protocol, snapshot.metadata);
  if (snapshot.metadata.configuration["delta.appendOnly"] === "true") {
    throw new UnsupportedFeatureError(
      "Cannot apply data retention: the table is append-only (delta.appendOnly = true)",
    );
  }
  const owned = Array.isArray(plugins);
  const registry: PluginRegistry = owned
    ? createPluginRegistry(plugins as readonly Plugin[]).freeze()
    : plugins as PluginRegistry;
  const uri = storage.location;
  const ctx: VacuumContext = {
    table: options.table ?? { name: uri.replace(/\/+$/, "").split("/").at(-1) || uri, uri },
    snapshot,
    storage,
    clock,
    signal: options.signal ?? new AbortController().signal,
    limits: {},
    logger: options.logger ?? noopLogger,
    operation: "vacuum",
    dryRun: options.dryRun ?? false,
  };
  let files: Add[];
  if (owned) await registry.runSetup(ctx);
  try {
    files = await registry.runPlanDataRetention(snapshot, ctx);
  } finally {
    if (owned) await registry.dispose();
  }
  if (files.length === 0 || options.dryRun) return { files, snapshot };
  // Never earlier than the table's own time: a clock behind must not age the tombstones.
  const nowMs = tombstoneTimestampMs(clock, snapshot, options.storageClock?.nowMs());
  const result = await commitActions(storage, snapshot, {
    operation: "DELETE",
    operationParameters: { predicate: JSON.stringify(["data retention"]) },
    commitInfo: {
      operationMetrics: {
        numRemovedFiles: String(files.length),
        numRemovedBytes: String(files.reduce((s, f) => s + f.size, 0)),
      },
    },
    actions: files.map((f) => ({ remove: removeOf(f, nowMs) })),
  }, { clock, ...(options.protocol ? { protocol: options.protocol } : {}) });
  if (!result.ok) {
    throw new LakestrikeError("COMMIT_FAILED", `Cannot apply data retention: ${result.reason}`);
  }
  return { files, version: result.version, snapshot: result.snapshot };
}
