/**
 * What a writer keeps of a table's latest checkpoint to build the next one faster
 * (`writeCheckpoint`'s `cache`). Apart from `checkpoint_write.ts`, so that holding a cache does not
 * load apache-arrow and parquet-wasm before a checkpoint is due.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";

/** Actions per record batch of a checkpoint (the unit of work between two event-loop turns). */
export const CHECKPOINT_BATCH_ROWS = 2_000;

/**
 * The record batches of one table's latest checkpoint, by the `add` or `remove` object each
 * begins with. A checkpoint's actions are mostly those of the one before (a commit adds a few
 * files; compaction removes a few and adds their tombstones at the end), and the snapshots of a
 * writer share their action objects, so a batch whose actions are the very same objects, in the
 * same order, is the same rows and is reused instead of encoded again.
 */
export interface CheckpointCache {
  /** The table (`metaData.id`) and layout (with `domainMetadata` or not) the batches belong to. */
  key: string | undefined;
  /** Batches by the action object of their first row. */
  chunks: Map<object, CheckpointChunk>;
  /** Rows of a new batch at most; {@linkcode CHECKPOINT_BATCH_ROWS} unless told. */
  batchRows: number;
}

/** One record batch of a checkpoint and the action objects of its rows. */
export interface CheckpointChunk {
  /** The `add` or `remove` objects of the rows, in order. */
  actions: readonly object[];
  /** Their rows. */
  batch: RecordBatch;
}

/**
 * An empty {@linkcode CheckpointCache}, for the checkpoints of one table by one writer.
 *
 * @example
 * ```ts
 * import { createCheckpointCache } from "./checkpoint_cache.ts";
 * const cache = createCheckpointCache();
 * if (cache.chunks.size !== 0) throw new Error("not empty");
 * ```
 */
export function createCheckpointCache(batchRows = CHECKPOINT_BATCH_ROWS): CheckpointCache {
  return { key: undefined, chunks: new Map(), batchRows };
}
