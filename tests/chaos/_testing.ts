/**
 * Test helpers of the chaos checker (private to its tests): tables built with the project's own
 * writer, a {@linkcode TableAccess} over any project storage (for the memory backend), and the
 * comparison of the project's snapshot with the independent reader's.
 *
 * Only tests import this module; the reader and the checker themselves import nothing from the
 * writer path.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Clock } from "../../core/clock.ts";
import { NotFoundError } from "../../core/errors.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../../core/scan/mod.ts";
import type { StructType } from "../../core/schema/types.ts";
import type { Snapshot } from "../../core/snapshot/mod.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { appendBatch } from "../../core/write/append_batch.ts";
import { createTable } from "../../core/write/create_table.ts";
import type { IndependentSnapshot } from "./independent_reader.ts";
import type { TableAccess } from "./table_access.ts";

/** The chaos tables' shape: a key column and a date partition. */
export const KEYED_SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "key", type: "string", nullable: false, metadata: {} },
    { name: "n", type: "long", nullable: true, metadata: {} },
    { name: "date", type: "date", nullable: true, metadata: {} },
  ],
};

/** A {@linkcode TableAccess} over a project storage (tests only: the memory backend has no other). */
export function storageTableAccess(storage: ObjectStorage): TableAccess {
  return {
    location: storage.location,
    list: async (prefix) =>
      (await storage.list(prefix)).map((m) => ({
        path: m.path,
        size: m.size,
        lastModifiedMs: m.lastModifiedMs,
      })),
    get: async (path) => {
      try {
        return await storage.get(path);
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
  };
}

/** Options of {@linkcode createKeyedTable}. */
export interface KeyedTableOptions {
  clock?: Clock;
  configuration?: Record<string, string>;
}

/** A new keyed table (version 0) partitioned by `date`. */
export async function createKeyedTable(
  storage: ObjectStorage,
  options: KeyedTableOptions = {},
): Promise<Snapshot> {
  return await createTable(storage, {
    schema: KEYED_SCHEMA,
    partitionColumns: ["date"],
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.configuration === undefined ? {} : { configuration: options.configuration }),
  });
}

/** Append one batch of `keys` (days cycle over three dates, one in three null). */
export async function appendKeys(
  storage: ObjectStorage,
  snapshot: Snapshot,
  keys: readonly string[],
  options: { clock?: Clock } = {},
): Promise<Snapshot> {
  const rows = keys.map((key, i) => ({
    key,
    n: BigInt(i),
    date: i % 3 === 2 ? null : 19_000 + (i % 3),
  }));
  const r = await appendBatch(storage, snapshot, createArrowTable(KEYED_SCHEMA, rows), {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  if (!r.ok) throw new Error(`append failed: ${r.reason}`);
  return r.snapshot;
}

/** Keys `${prefix}-0 .. ${prefix}-(n-1)`. */
export function keysOf(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

/** The values of `column` in `snapshot` as `scanSnapshot` reads them, as strings, sorted. */
export async function projectValues(
  storage: ObjectStorage,
  snapshot: Snapshot,
  column: string,
): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of scanSnapshot(storage, snapshot, { columns: [column] })) {
    for (const row of batch) out.push(row[0] === null ? "<null>" : String(row[0]));
  }
  return out.sort();
}

/** Independent values as strings (null as `<null>`), sorted, for comparing with the project's. */
export function valuesText(values: readonly unknown[]): string[] {
  return values.map((v) => (v === null || v === undefined ? "<null>" : String(v))).sort();
}

/** Assert that the project's and the independent reader's snapshots say the same. */
export function assertSameSnapshot(
  project: Snapshot,
  independent: IndependentSnapshot,
  label = `version ${project.version}`,
): void {
  assert.equal(independent.version, project.version, `${label}: version`);
  assert.equal(independent.timestampMs, project.timestampMs, `${label}: timestamp`);
  const files = (fs: readonly { path: string; size: number; partitionValues: unknown }[]) =>
    fs.map((f) => ({ path: f.path, size: f.size, partitionValues: f.partitionValues }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  assert.deepEqual(files(independent.files), files(project.files), `${label}: active files`);
  assert.equal(independent.metaData.id, project.metadata.id, `${label}: metaData.id`);
  assert.equal(
    independent.metaData.schemaString,
    project.metadata.schemaString,
    `${label}: schemaString`,
  );
  assert.deepEqual(
    independent.metaData.partitionColumns,
    project.metadata.partitionColumns,
    `${label}: partitionColumns`,
  );
  assert.deepEqual(
    independent.metaData.configuration,
    project.metadata.configuration,
    `${label}: configuration`,
  );
  assert.equal(
    independent.protocol.minReaderVersion,
    project.protocol.minReaderVersion,
    `${label}: minReaderVersion`,
  );
  assert.equal(
    independent.protocol.minWriterVersion,
    project.protocol.minWriterVersion,
    `${label}: minWriterVersion`,
  );
  const txns = (m: ReadonlyMap<string, { appId: string; version: number }>) =>
    [...m.values()].map((t) => `${t.appId}=${t.version}`).sort();
  assert.deepEqual(txns(independent.txns), txns(project.txns), `${label}: txns`);
}
