/**
 * The checkpoint policy of the writer: a classic checkpoint every `delta.checkpointInterval`
 * versions (default 100), written after the commit; a failure never fails the commit.
 *
 * The checkpoint writer (apache-arrow and parquet-wasm) and the log cleanup are loaded with a
 * dynamic import when a checkpoint is due, not when this module is: a process that commits without
 * writing a checkpoint (`deno task compact` on most versions) never loads them (ADR 0046).
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { CheckpointWritten, WriteCheckpointOptions } from "../log/checkpoint_write.ts";
import type { MaybeCleanupLogsResult } from "../log/log_cleanup.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { checkpointIntervalOf } from "./table_properties.ts";

/** Options of {@linkcode maybeCheckpoint}. */
export interface MaybeCheckpointOptions {
  /** "Now" for tombstone expiry; default the system clock. */
  clock?: Clock;
  /** Called with the error when writing the checkpoint failed (it is not rethrown). */
  onError?: (error: unknown) => void;
  /** Batches of the table's previous checkpoint to reuse (`writeCheckpoint`'s `cache`). */
  cache?: WriteCheckpointOptions["cache"];
  /** The checkpoint's Parquet encoder (`writeCheckpoint`'s `encode`). */
  encode?: WriteCheckpointOptions["encode"];
}

/** Result of {@linkcode maybeCheckpoint}. */
export type MaybeCheckpointResult =
  | { written: true; checkpoint: CheckpointWritten; logCleanup: MaybeCleanupLogsResult }
  | { written: false; reason: "not_due" | "failed"; error?: unknown };

/** True when `version` is due for a checkpoint under `delta.checkpointInterval`. */
export function isCheckpointDue(snapshot: Snapshot): boolean {
  const interval = checkpointIntervalOf(snapshot.metadata.configuration);
  return snapshot.version > 0 && snapshot.version % interval === 0;
}

/**
 * Write a checkpoint of `snapshot` when its version is a multiple of `delta.checkpointInterval`.
 * Never throws: a failed checkpoint is reported in the result (and to `onError`), because the commit
 * it follows is already durable and readers fall back to the previous checkpoint.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createTable } from "./create_table.ts";
 * import { maybeCheckpoint } from "./maybe_checkpoint.ts";
 * const storage = createMemoryStorage();
 * const v0 = await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "x", type: "long", nullable: true, metadata: {} }] },
 * });
 * const r = await maybeCheckpoint(storage, v0);
 * if (r.written) throw new Error("version 0 is not due");
 * ```
 */
export async function maybeCheckpoint(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: MaybeCheckpointOptions = {},
): Promise<MaybeCheckpointResult> {
  if (!isCheckpointDue(snapshot)) return { written: false, reason: "not_due" };
  try {
    const [{ writeCheckpoint }, { maybeCleanupLogs }] = await Promise.all([
      import("../log/checkpoint_write.ts"),
      import("../log/log_cleanup.ts"),
    ]);
    const checkpoint = await writeCheckpoint(storage, snapshot, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.encode ? { encode: options.encode } : {}),
    });
    // Delta PROTOCOL "Metadata Cleanup": expired log files may go once a newer checkpoint exists;
    // delta.enableExpiredLogCleanup (default true) decides. A cleanup failure never fails the commit.
    const logCleanup = await maybeCleanupLogs(storage, snapshot, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
    return { written: true, checkpoint, logCleanup };
  } catch (error) {
    options.onError?.(error);
    return { written: false, reason: "failed", error };
  }
}
