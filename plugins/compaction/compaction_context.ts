/**
 * The plugin context of a compaction run, for calling a registry's `runPlanCompaction`.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { noopLogger } from "../logger.ts";
import type { CompactContext, CompactionLimits, Logger } from "../types.ts";

/** Options of {@linkcode createCompactionContext}. */
export interface CompactionContextOptions {
  /** Table name; default the storage location. */
  name?: string;
  /** Table URI; default the storage location. */
  uri?: string;
  clock?: Clock;
  signal?: AbortSignal;
  logger?: Logger;
  dryRun?: boolean;
  /** Planner limits: `targetSizeBytes` and `minFiles` override the planners' own. */
  limits?: CompactionLimits;
}

/**
 * A {@linkcode CompactContext}: operation `compact` on `snapshot`, the state being planned.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { createCompactionContext } from "./compaction_context.ts";
 * const storage = createMemoryStorage();
 * const snapshot = await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "n", type: "long", nullable: true, metadata: {} }] },
 * });
 * const ctx = createCompactionContext(storage, snapshot, { limits: { minFiles: 2 } });
 * if (ctx.operation !== "compact" || ctx.limits.minFiles !== 2) throw new Error("bad context");
 * ```
 */
export function createCompactionContext(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: CompactionContextOptions = {},
): CompactContext {
  return {
    table: { name: options.name ?? storage.location, uri: options.uri ?? storage.location },
    snapshot,
    storage,
    clock: options.clock ?? systemClock,
    signal: options.signal ?? new AbortController().signal,
    limits: options.limits ?? {},
    logger: options.logger ?? noopLogger,
    operation: "compact",
    dryRun: options.dryRun ?? false,
  };
}
