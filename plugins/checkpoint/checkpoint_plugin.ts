/**
 * The built-in checkpoint plugin: an `afterCommit` hook that writes a classic checkpoint (and
 * `_last_checkpoint`) when the committed version is a multiple of the table's
 * `delta.checkpointInterval` (default 100, docs/design.md section 7), through `core/write`'s
 * `maybeCheckpoint`. A failed checkpoint is logged and never fails the commit: the commit is
 * already durable and readers fall back to the previous checkpoint.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { type CheckpointCache, createCheckpointCache } from "../../core/log/checkpoint_cache.ts";
import { type CheckpointWritten, isCheckpointDue, maybeCheckpoint } from "../../core/write/mod.ts";
import {
  type CommitResultInfo,
  type Plugin,
  PLUGIN_API_VERSION,
  type WriteContext,
} from "../types.ts";

/** Name the checkpoint plugin registers under. */
export const CHECKPOINT_PLUGIN_NAME = "lakestrike:checkpoint";

/** Options of {@linkcode checkpointPlugin}. */
export interface CheckpointPluginOptions {
  /** Called after a checkpoint was written (for metrics). */
  onCheckpoint?: (checkpoint: CheckpointWritten, table: string) => void;
  /** Time a checkpoint may take; default 60 s (the registry's hook timeout otherwise applies). */
  timeoutMs?: number;
  /**
   * Makes the encoder of checkpoints' Parquet bytes, once, in `setup` (before the runner serves:
   * starting a worker thread holds the caller's event loop for tens of milliseconds); the plugin
   * closes it when disposed. Default: encode on the calling thread. The runner passes
   * a worker thread's encoder (`batch/runner/checkpoint_encoder.ts`, ADR 0048).
   */
  createEncoder?: () => CheckpointEncoderHandle;
  /**
   * Write checkpoints in the background: `afterCommit` starts the checkpoint of a due version and
   * returns, so the afterCommit runs of the next commits do not wait for it; while one checkpoint
   * of a table is being written, a due version of that table is skipped (logged; the next due
   * version is checkpointed), so checkpoints never pile up when one takes longer than the commits
   * between two. One that takes longer than `timeoutMs` is logged and no longer waited for.
   * Disposing the plugin waits for the checkpoints being written. Default false: the hook returns
   * once the checkpoint is written. The runner sets it (ADR 0048).
   */
  background?: boolean;
}

/** An encoder of checkpoints' Parquet bytes that the plugin owns (see `createEncoder`). */
export interface CheckpointEncoderHandle {
  /** The Parquet bytes of a checkpoint's Arrow table, as `encodeCheckpointParquet` gives them. */
  encode(table: arrow.Table): Promise<Uint8Array>;
  /**
   * Resolves once the encoder can encode at once; `setup` waits for it, and encodes on the
   * calling thread when it rejects.
   */
  ready?(): Promise<void>;
  /** Release it (the plugin's disposer calls this). */
  close(): void;
}

/** Default time one checkpoint may take. */
export const CHECKPOINT_TIMEOUT_MS_DEFAULT = 60_000;

/**
 * Create the checkpoint plugin. It checkpoints the `snapshot` of the commit result, so it only
 * checkpoints versions this process committed; another writer checkpoints its own. Per table it
 * keeps the record batches of its last checkpoint and reuses those whose actions did not change
 * (`createCheckpointCache`): a checkpoint encodes again only what changed since the one before.
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { systemClock } from "../../core/clock.ts";
 * import { createPluginRegistry } from "../registry.ts";
 * import { noopLogger } from "../logger.ts";
 * import { checkpointPlugin } from "./checkpoint_plugin.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }],
 * };
 * const v0 = await createTable(storage, { schema, configuration: { "delta.checkpointInterval": "1" } });
 * const r = await appendBatch(storage, v0, createArrowTable(schema, [{ n: 1 }]));
 * if (!r.ok) throw new Error(r.reason);
 * const registry = createPluginRegistry([checkpointPlugin()]).freeze();
 * await registry.runAfterCommit({ version: r.version, snapshot: r.snapshot, actions: [] }, {
 *   table: { name: "t", uri: "memory://t" }, snapshot: r.snapshot, storage, clock: systemClock,
 *   signal: new AbortController().signal, logger: noopLogger, operation: "write", dryRun: false,
 *   limits: { groupRowsMax: 200_000, groupBytesMax: 64 << 20, writeBatchesConcurrencyMax: 16 },
 * });
 * if (!(await storage.head("_delta_log/_last_checkpoint"))) throw new Error("no checkpoint");
 * ```
 */
export function checkpointPlugin(options: CheckpointPluginOptions = {}): Plugin {
  const caches = new Map<string, CheckpointCache>();
  const cacheOf = (uri: string) => {
    let cache = caches.get(uri);
    if (cache === undefined) caches.set(uri, cache = createCheckpointCache());
    return cache;
  };
  // Made in setup, closed when disposed; without it checkpoints are encoded on this thread.
  let encoder: CheckpointEncoderHandle | undefined;
  const encode = (table: arrow.Table) => encoder!.encode(table);
  const timeoutMs = options.timeoutMs ?? CHECKPOINT_TIMEOUT_MS_DEFAULT;
  // Background checkpoints being written, by table URI (at most one each).
  const writing = new Map<string, Promise<void>>();

  const failed = (result: CommitResultInfo, ctx: WriteContext) => (error: unknown) =>
    ctx.logger.error("Cannot write checkpoint", {
      table: ctx.table.name,
      version: result.version,
      error: String(error),
    });

  const checkpoint = async (result: CommitResultInfo, ctx: WriteContext) => {
    const r = await maybeCheckpoint(ctx.storage, result.snapshot, {
      clock: ctx.clock,
      cache: cacheOf(ctx.table.uri),
      ...(encoder !== undefined ? { encode } : {}),
      onError: failed(result, ctx),
    });
    if (r.written) {
      ctx.logger.info("checkpoint written", { table: ctx.table.name, version: result.version });
      options.onCheckpoint?.(r.checkpoint, ctx.table.name);
    }
  };

  const startInBackground = (result: CommitResultInfo, ctx: WriteContext) => {
    const uri = ctx.table.uri;
    if (writing.has(uri)) {
      ctx.logger.info("checkpoint skipped: the previous one is still being written", {
        table: ctx.table.name,
        version: result.version,
      });
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        ctx.logger.error("Cannot write checkpoint in time", {
          table: ctx.table.name,
          version: result.version,
          timeoutMs,
        });
        resolve();
      }, timeoutMs);
    });
    const done = Promise.race([checkpoint(result, ctx), timedOut])
      .catch(failed(result, ctx))
      .finally(() => {
        clearTimeout(timer);
        writing.delete(uri);
      });
    writing.set(uri, done);
  };
  return {
    name: CHECKPOINT_PLUGIN_NAME,
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      async setup(ctx) {
        encoder = options.createEncoder?.();
        try {
          await encoder?.ready?.();
        } catch (error) {
          // Checkpoints are still written, encoded on the committing thread.
          ctx.logger.warn("Cannot start the checkpoint encoder; encoding on this thread", {
            error: String(error),
          });
          encoder?.close();
          encoder = undefined;
        }
        return async () => {
          await Promise.all(writing.values());
          encoder?.close();
          encoder = undefined;
          caches.clear();
        };
      },
      afterCommit: {
        timeoutMs,
        async handler(result, ctx) {
          if (ctx.dryRun) return;
          if (!options.background) return await checkpoint(result, ctx);
          if (isCheckpointDue(result.snapshot)) startInBackground(result, ctx);
        },
      },
    },
  };
}
