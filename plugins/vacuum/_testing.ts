/**
 * Test helpers of vacuum and retention (private; not exported from `mod.ts`): a hand-made
 * compaction commit, as OPTIMIZE writes it (removes with `dataChange: false` plus one add of a
 * rewritten file), independent of the compaction plugin.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { Clock } from "../../core/clock.ts";
import type { Add } from "../../core/log/actions.ts";
import { commitActions, type CommitResult } from "../../core/log/commit.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../../core/scan/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { appendBatch } from "../../core/write/append_batch.ts";
import { createTable } from "../../core/write/create_table.ts";

/** Parquet file(s) holding `batch`, written into `storage` without committing them. */
export async function writeUncommitted(
  storage: ObjectStorage,
  snapshot: Snapshot,
  batch: arrow.Table,
  clock: Clock,
): Promise<Add[]> {
  const scratch = createMemoryStorage({ clock });
  const v0 = await createTable(scratch, {
    schema: snapshot.schema,
    partitionColumns: snapshot.metadata.partitionColumns,
    clock,
  });
  const r = await appendBatch(scratch, v0, batch, { clock });
  if (!r.ok) throw new Error(r.reason);
  for (const add of r.adds) await storage.put(add.path, await scratch.get(add.path));
  return r.adds.map((a) => ({ ...a, dataChange: false }));
}

/**
 * Rewrite `files` (active files of one partition) into one file and commit it as OPTIMIZE does.
 */
export async function compactByHand(
  storage: ObjectStorage,
  snapshot: Snapshot,
  files: readonly Add[],
  clock: Clock,
): Promise<CommitResult> {
  const only = { ...snapshot, files };
  const rows: Record<string, unknown>[] = [];
  for await (const batch of scanSnapshot(storage, only)) {
    for (const row of batch) {
      rows.push(Object.fromEntries(snapshot.schema.fields.map((f, i) => [f.name, row[i]])));
    }
  }
  const adds = await writeUncommitted(
    storage,
    snapshot,
    createArrowTable(snapshot.schema, rows),
    clock,
  );
  const now = clock.nowMs();
  return await commitActions(storage, snapshot, {
    operation: "OPTIMIZE",
    actions: [
      ...files.map((f) => ({
        remove: {
          path: f.path,
          deletionTimestamp: now,
          dataChange: false,
          extendedFileMetadata: true,
          partitionValues: f.partitionValues,
          size: f.size,
        },
      })),
      ...adds.map((add) => ({ add })),
    ],
  }, { clock });
}
