/**
 * The plugin context of a compaction run, for calling a registry's `runPlanCompaction`.
 *
 * @module
 */
import { type Clock, systemClock } from "../../core/clock.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { noopLogger } from "../logger.ts";
import type { Logger, PluginContext } from "../types.ts";

/** Options of {@linkcode createCompactionContext}. */
export interface CompactionContextOptions {
  /** Table name; default the storage location. */
  name?: string;
  /** Table URI; default the storage location. */
  uri?: string;
  snapshot?: Snapshot;
  clock?: Clock;
  signal?: AbortSignal;
  logger?: Logger;
  dryRun?: boolean;
  /** Planner limits, e.g. `{ targetSizeBytes, minFiles }`. */
  limits?: Record<string, number>;
}

/**
 * A {@linkcode PluginContext} with operation `compact`.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createCompactionContext } from "./compaction_context.ts";
 * const ctx = createCompactionContext(createMemoryStorage(), { limits: { minFiles: 2 } });
 * if (ctx.operation !== "compact" || ctx.limits.minFiles !== 2) throw new Error("bad context");
 * ```
 */
export function createCompactionContext(
  storage: ObjectStorage,
  options: CompactionContextOptions = {},
): PluginContext {
  const ctx: PluginContext = {
    table: { name: options.name ?? storage.location, uri: options.uri ?? storage.location },
    storage,
    clock: options.clock ?? systemClock,
    signal: options.signal ?? new AbortController().signal,
    limits: options.limits ?? {},
    logger: options.logger ?? noopLogger,
    operation: "compact",
    dryRun: options.dryRun ?? false,
  };
  return options.snapshot ? { ...ctx, snapshot: options.snapshot } : ctx;
}
