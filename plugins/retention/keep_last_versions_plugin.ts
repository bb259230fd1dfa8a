/**
 * `keepLastVersionsPlugin({ versions: K })`: a `retentionHorizon` that keeps every file the last K
 * versions need, however old, so time travel to any of them keeps working after a vacuum.
 *
 * Precisely, with `latest` the snapshot's version and `first = latest - K + 1`:
 *
 * * a file version `first` references either is still active (vacuum keeps it) or was removed by a
 *   commit in `first + 1 .. latest`; its tombstone must stay unexpired. The horizon is therefore the
 *   smallest `deletionTimestamp` of the `remove` actions in commits `first + 1 .. latest`, and at most
 *   the commit timestamp of `first` (the smaller of its `commitInfo.timestamp` and the commit file's
 *   modification time), minus 1 ms: vacuum keeps a tombstone whose `deletionTimestamp` is after the
 *   horizon, and unreferenced files written at or after it are too young to delete, so nothing those
 *   versions need goes.
 * * `first <= 0` (the table has at most K versions): the horizon is 0, vacuum deletes nothing.
 * * a commit in that range that cannot be read (cleaned up, or a remove without
 *   `deletionTimestamp`): the horizon is 0, keep everything, and a warning is logged.
 *
 * Like every `retentionHorizon`, it can only lengthen the retention the table asks for.
 *
 * The horizon alone is not enough: a checkpoint drops tombstones older than the table's
 * `delta.deletedFileRetentionDuration`, and a full vacuum deletes an old file no tombstone names.
 * So the plugin also has a `filterVacuumCandidates` hook that spares every file the kept versions
 * need: the active files (and their deletion-vector files) of the snapshot at version `first`, and
 * the `add` files (and deletion-vector files) and `cdc` files of the commits `first + 1 .. latest`.
 * When any of those cannot be loaded, or a path cannot be resolved, it spares every candidate.
 *
 * @module
 */
import { mapBounded } from "../../core/concurrency.ts";
import { InvalidArgumentError, isLakestrikeError } from "../../core/errors.ts";
import { commitPath } from "../../core/log/paths.ts";
import type { DeletionVectorDescriptor } from "../../core/log/actions.ts";
import { deletionVectorStoragePath, tableRelativePath } from "../../core/scan/deletion_vector.ts";
import { loadSnapshot, readCommit } from "../../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { type Plugin, PLUGIN_API_VERSION, type PluginContext } from "../types.ts";

/** Options of {@linkcode keepLastVersionsPlugin}. */
export interface KeepLastVersionsOptions {
  /** How many of the newest versions stay readable (at least 1). */
  versions: number;
}

const READ_CONCURRENCY = 16;

/**
 * The horizon that keeps the files of versions `latest - versions + 1 .. latest` (see the module
 * documentation). Reads the commits of that range.
 */
export async function lastVersionsHorizon(
  storage: ObjectStorage,
  snapshot: Snapshot,
  versions: number,
  ctx?: Pick<PluginContext, "logger">,
): Promise<number> {
  const first = snapshot.version - versions + 1;
  if (first <= 0) return 0;
  const wanted = Array.from({ length: snapshot.version - first + 1 }, (_, i) => first + i);
  let horizon = Infinity;
  let unknown: string | undefined;
  await mapBounded(wanted, READ_CONCURRENCY, async (v) => {
    if (unknown !== undefined) return; // the answer is known: keep everything
    try {
      const actions = await readCommit(storage, v);
      if (v === first) {
        const meta = await storage.head(commitPath(v));
        for (const a of actions) {
          if ("commitInfo" in a && typeof a.commitInfo.timestamp === "number") {
            horizon = Math.min(horizon, a.commitInfo.timestamp);
          }
        }
        if (meta) horizon = Math.min(horizon, meta.lastModifiedMs);
        return;
      }
      for (const a of actions) {
        if (!("remove" in a)) continue;
        const ts = a.remove.deletionTimestamp;
        if (typeof ts !== "number") unknown = `a remove in version ${v} has no deletionTimestamp`;
        else horizon = Math.min(horizon, ts);
      }
    } catch (e) {
      if (!isLakestrikeError(e)) throw e;
      unknown = `version ${v} cannot be read (${e.message})`;
    }
  });
  if (unknown !== undefined || !Number.isFinite(horizon)) {
    ctx?.logger.warn("keep-last-versions: keeping every file", {
      reason: unknown ?? "no timestamp found",
    });
    return 0;
  }
  return horizon - 1;
}

/**
 * The paths (relative to the table root) of every file versions `latest - versions + 1 .. latest`
 * need, or `undefined` when they cannot all be told (keep everything then). `latest <= versions - 1`
 * (every version is kept) is `undefined` too.
 */
export async function lastVersionsFiles(
  storage: ObjectStorage,
  snapshot: Snapshot,
  versions: number,
  ctx?: Pick<PluginContext, "logger">,
): Promise<Set<string> | undefined> {
  const first = snapshot.version - versions + 1;
  if (first <= 0) return undefined;
  const location = storage.location;
  const keep = new Set<string>();
  const addPath = (path: string) => {
    const rel = tableRelativePath(path, location);
    if (rel !== undefined) keep.add(rel);
  };
  const addDv = (dv: DeletionVectorDescriptor | null | undefined) => {
    if (dv === undefined || dv === null || dv.storageType === "i") return;
    let rel: string | undefined;
    try {
      rel = deletionVectorStoragePath(dv, location);
    } catch (e) {
      // An absolute DV path outside the root names no file vacuum lists.
      if (isLakestrikeError(e) && e.code === "UNSUPPORTED_FEATURE" && dv.storageType === "p") {
        return;
      }
      throw e;
    }
    if (rel !== undefined) keep.add(rel);
  };
  try {
    const oldest = await loadSnapshot(storage, { version: first });
    for (const add of oldest.files) {
      addPath(add.path);
      addDv(add.deletionVector);
    }
    const later = Array.from({ length: snapshot.version - first }, (_, i) => first + 1 + i);
    await mapBounded(later, READ_CONCURRENCY, async (v) => {
      for (const a of await readCommit(storage, v)) {
        if ("add" in a) {
          addPath(a.add.path);
          addDv(a.add.deletionVector);
        } else if ("cdc" in a) addPath(a.cdc.path);
      }
    });
  } catch (e) {
    if (!isLakestrikeError(e)) throw e;
    ctx?.logger.warn("keep-last-versions: sparing every vacuum candidate", {
      reason: `the files of versions ${first}..${snapshot.version} cannot be told (${e.message})`,
    });
    return undefined;
  }
  return keep;
}

/**
 * Create the plugin.
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../registry.ts";
 * import { keepLastVersionsPlugin } from "./keep_last_versions_plugin.ts";
 * const registry = createPluginRegistry([keepLastVersionsPlugin({ versions: 10 })]).freeze();
 * if (registry.hookOrder("retentionHorizon")[0] !== "keep-last-versions") throw new Error("missing");
 * ```
 */
export function keepLastVersionsPlugin(options: KeepLastVersionsOptions): Plugin {
  const versions = options?.versions;
  if (!Number.isSafeInteger(versions) || versions < 1) {
    throw new InvalidArgumentError(
      `Cannot create keepLastVersionsPlugin: versions must be a positive integer, got ${versions}`,
    );
  }
  return {
    name: "keep-last-versions",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      retentionHorizon: (snapshot, ctx) =>
        lastVersionsHorizon(ctx.storage, snapshot, versions, ctx),
      filterVacuumCandidates: async (paths, ctx) => {
        // Without the snapshot vacuum planned against, what the kept versions need is unknown:
        // keeping every candidate would quietly turn vacuum off, so refuse instead. The type
        // makes it required; a context built by untyped code may still lack it.
        if ((ctx.snapshot as Snapshot | undefined) === undefined) {
          throw new InvalidArgumentError(
            `Cannot filter vacuum candidates of table ${ctx.table.name}: the context has no ` +
              "snapshot, so the files of the last versions cannot be told",
          );
        }
        const needed = await lastVersionsFiles(ctx.storage, ctx.snapshot, versions, ctx);
        return needed === undefined ? [] : paths.filter((p) => !needed.has(p));
      },
    },
  };
}
