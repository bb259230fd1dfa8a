/**
 * The `_last_checkpoint` file (Delta PROTOCOL, "Last Checkpoint File"): a hint pointing at the
 * newest checkpoint. Readers must not trust it blindly: it may be missing, stale or corrupt.
 *
 * @module
 */
import type { ObjectStorage } from "../storage/storage.ts";
import { LAST_CHECKPOINT_PATH } from "./paths.ts";

/** Parsed content of `_last_checkpoint`. */
export interface LastCheckpoint {
  /** Version of the checkpoint. */
  version: number;
  /** Number of actions in the checkpoint. */
  size?: number;
  /** Number of parts of a multi-part checkpoint. */
  parts?: number;
  sizeInBytes?: number;
  numOfAddFiles?: number;
  checkpointSchema?: unknown;
  checksum?: string;
  /** V2 checkpoints: the top-level checkpoint file. */
  v2Checkpoint?: Record<string, unknown>;
}

/**
 * Parse `_last_checkpoint` text, or `undefined` when it is not a valid hint (corrupt content is
 * ignored: the log listing finds checkpoints without it).
 *
 * @example
 * ```ts
 * import { parseLastCheckpoint } from "./last_checkpoint.ts";
 * if (parseLastCheckpoint('{"version":10,"size":13}')?.version !== 10) throw new Error("bad");
 * if (parseLastCheckpoint("{not json") !== undefined) throw new Error("corrupt must be ignored");
 * ```
 */
export function parseLastCheckpoint(text: string): LastCheckpoint | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof obj !== "object" || obj === null) return undefined;
  const v = (obj as { version?: unknown }).version;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) return undefined;
  const parts = (obj as { parts?: unknown }).parts;
  if (
    parts !== undefined && (typeof parts !== "number" || !Number.isSafeInteger(parts) || parts < 1)
  ) {
    return undefined;
  }
  return obj as LastCheckpoint;
}

/**
 * Read and parse `_last_checkpoint`; `undefined` when it is missing or unreadable. Any error
 * reading it is ignored on purpose: it is only a hint, and a full listing is always correct.
 *
 * @example
 * ```ts
 * import { loadLastCheckpoint } from "./last_checkpoint.ts";
 * const storage = {
 *   location: "memory://t",
 *   get: () => Promise.resolve(new TextEncoder().encode('{"version":3}')),
 * };
 * // deno-lint-ignore no-explicit-any
 * const hint = await loadLastCheckpoint(storage as any);
 * if (hint?.version !== 3) throw new Error("bad");
 * ```
 */
export async function loadLastCheckpoint(
  storage: ObjectStorage,
): Promise<LastCheckpoint | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(LAST_CHECKPOINT_PATH);
  } catch {
    return undefined;
  }
  return parseLastCheckpoint(new TextDecoder().decode(bytes));
}
