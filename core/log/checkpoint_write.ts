/**
 * Writing classic single-part checkpoints (Delta PROTOCOL, "Checkpoints", "Checkpoint Schema"):
 * `_delta_log/%020d.checkpoint.parquet` holds the reconciled state of one version, one action per
 * row, in top-level nullable struct columns `txn`, `add`, `remove`, `metaData`, `protocol` (and
 * `domainMetadata` when the table has any), the layout Spark and delta-rs write and read. Then
 * `_delta_log/_last_checkpoint` points at it.
 *
 * What it does not write: `commitInfo` (not part of a checkpoint), `stats_parsed` /
 * `partitionValues_parsed` (optional), V2 checkpoint actions, tombstones older than
 * `delta.deletedFileRetentionDuration` (they are expired and no reader needs them), and `txn`s
 * older than `delta.setTransactionRetentionDuration` (expired as `core/snapshot/txn.ts` decides, as
 * Spark and delta-kernel-rs drop them, so the dedupe entries of producers long gone do not
 * accumulate forever).
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { type Clock, systemClock } from "../clock.ts";
import { isLakestrikeError } from "../errors.ts";
import { writeParquetFile } from "../parquet/write_parquet_file.ts";
import { arrowTypeToDelta } from "../schema/delta_schema_to_arrow.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { parseIntervalMs, unexpiredTxns } from "../snapshot/txn.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { createColumnBuilder, ValueError } from "../values/column_builder.ts";
import type { Add, DeletionVectorDescriptor, Remove } from "./actions.ts";
import {
  CHECKPOINT_BATCH_ROWS,
  type CheckpointCache,
  type CheckpointChunk,
  createCheckpointCache,
} from "./checkpoint_cache.ts";
import { parseLastCheckpoint } from "./last_checkpoint.ts";
import { classicCheckpointPath, encodeLogPath, LAST_CHECKPOINT_PATH } from "./paths.ts";

export { CHECKPOINT_BATCH_ROWS, type CheckpointCache, type CheckpointChunk, createCheckpointCache };

/** Default of `delta.deletedFileRetentionDuration`: one week. */
const DELETED_FILE_RETENTION_DEFAULT_MS = 7 * 86_400_000;

/** Options of {@linkcode writeCheckpoint}. */
export interface WriteCheckpointOptions {
  /** "Now" for tombstone and txn expiry; default the system clock. */
  clock?: Clock;
  /**
   * Record batches of this table's previous checkpoint to reuse (see
   * {@linkcode createCheckpointCache}); without it every action is encoded again.
   */
  cache?: CheckpointCache;
  /**
   * Encodes the checkpoint's Arrow table as Parquet bytes (snappy); default
   * {@linkcode encodeCheckpointParquet} on this thread. A runner passes one that runs in a worker
   * thread, so the encode does not hold its event loop.
   */
  encode?: (table: arrow.Table) => Promise<Uint8Array>;
}

/** What {@linkcode writeCheckpoint} wrote. */
export interface CheckpointWritten {
  /** The checkpoint's version. */
  version: number;
  /** Path of the checkpoint file. */
  path: string;
  /** Rows (actions) in the checkpoint. */
  size: number;
  /** Bytes of the checkpoint file. */
  sizeInBytes: number;
  /** `add` rows. */
  numOfAddFiles: number;
  /** False when a newer `_last_checkpoint` was already there and was left alone. */
  lastCheckpointUpdated: boolean;
}

const utf8 = () => new arrow.Utf8();
const i64 = () => new arrow.Int64();
const i32 = () => new arrow.Int32();
const bool = () => new arrow.Bool();
const field = (name: string, type: arrow.DataType, nullable = true) =>
  new arrow.Field(name, type, nullable);
const stringMap = () =>
  new arrow.Map_(
    new arrow.Field(
      "key_value",
      new arrow.Struct<{ key: arrow.Utf8; value: arrow.Utf8 }>([
        new arrow.Field("key", new arrow.Utf8(), false),
        new arrow.Field("value", new arrow.Utf8(), true),
      ]),
      false,
    ),
    false,
  );
const stringList = () => new arrow.List(field("element", utf8()));
const deletionVectorType = () =>
  new arrow.Struct([
    field("storageType", utf8()),
    field("pathOrInlineDv", utf8()),
    field("offset", i32()),
    field("sizeInBytes", i32()),
    field("cardinality", i64()),
  ]);

/** Arrow types of the checkpoint's top-level columns (Delta PROTOCOL, "Checkpoint Schema"). */
export function checkpointColumnTypes(withDomainMetadata: boolean): arrow.Field[] {
  const fields = [
    field(
      "txn",
      new arrow.Struct([
        field("appId", utf8()),
        field("version", i64()),
        field("lastUpdated", i64()),
      ]),
    ),
    field(
      "add",
      new arrow.Struct([
        field("path", utf8()),
        field("partitionValues", stringMap()),
        field("size", i64()),
        field("modificationTime", i64()),
        field("dataChange", bool()),
        field("stats", utf8()),
        field("tags", stringMap()),
        field("deletionVector", deletionVectorType()),
        field("baseRowId", i64()),
        field("defaultRowCommitVersion", i64()),
        field("clusteringProvider", utf8()),
      ]),
    ),
    field(
      "remove",
      new arrow.Struct([
        field("path", utf8()),
        field("deletionTimestamp", i64()),
        field("dataChange", bool()),
        field("extendedFileMetadata", bool()),
        field("partitionValues", stringMap()),
        field("size", i64()),
        field("tags", stringMap()),
        field("deletionVector", deletionVectorType()),
        field("baseRowId", i64()),
        field("defaultRowCommitVersion", i64()),
      ]),
    ),
    field(
      "metaData",
      new arrow.Struct([
        field("id", utf8()),
        field("name", utf8()),
        field("description", utf8()),
        field(
          "format",
          new arrow.Struct([field("provider", utf8()), field("options", stringMap())]),
        ),
        field("schemaString", utf8()),
        field("partitionColumns", stringList()),
        field("configuration", stringMap()),
        field("createdTime", i64()),
      ]),
    ),
    field(
      "protocol",
      new arrow.Struct([
        field("minReaderVersion", i32()),
        field("minWriterVersion", i32()),
        field("readerFeatures", stringList()),
        field("writerFeatures", stringList()),
      ]),
    ),
  ];
  if (withDomainMetadata) {
    fields.push(
      field(
        "domainMetadata",
        new arrow.Struct([
          field("domain", utf8()),
          field("configuration", utf8()),
          field("removed", bool()),
        ]),
      ),
    );
  }
  return fields;
}

const big = (n: number | null | undefined): bigint | null =>
  n === null || n === undefined ? null : BigInt(Math.trunc(n));
const orNull = <T>(v: T | null | undefined): T | null => (v === undefined ? null : v);
function mapOf(record: Readonly<Record<string, string | null>> | null | undefined) {
  if (record === null || record === undefined) return null;
  return new Map(Object.entries(record));
}
function dvOf(dv: DeletionVectorDescriptor | null | undefined) {
  if (!dv) return null;
  return {
    storageType: dv.storageType,
    pathOrInlineDv: dv.pathOrInlineDv,
    offset: orNull(dv.offset),
    sizeInBytes: dv.sizeInBytes,
    cardinality: BigInt(dv.cardinality),
  };
}

function addRow(a: Add) {
  return {
    path: encodeLogPath(a.path),
    partitionValues: mapOf(a.partitionValues) ?? new Map(),
    size: BigInt(a.size),
    modificationTime: BigInt(a.modificationTime),
    dataChange: a.dataChange,
    stats: orNull(a.stats),
    tags: mapOf(a.tags),
    deletionVector: dvOf(a.deletionVector),
    baseRowId: big(a.baseRowId),
    defaultRowCommitVersion: big(a.defaultRowCommitVersion),
    clusteringProvider: orNull(a.clusteringProvider),
  };
}

function removeRow(r: Remove) {
  const extended = r.extendedFileMetadata ??
    (r.partitionValues !== undefined && r.partitionValues !== null && r.size !== undefined &&
      r.size !== null);
  return {
    path: encodeLogPath(r.path),
    deletionTimestamp: big(r.deletionTimestamp),
    // Delta PROTOCOL: tombstones in a checkpoint carry dataChange false.
    dataChange: false,
    extendedFileMetadata: extended,
    partitionValues: mapOf(r.partitionValues),
    size: big(r.size),
    tags: mapOf(r.tags),
    deletionVector: dvOf(r.deletionVector),
    baseRowId: big(r.baseRowId),
    defaultRowCommitVersion: big(r.defaultRowCommitVersion),
  };
}

/**
 * The tombstones of `snapshot` a checkpoint keeps: those deleted less than
 * `delta.deletedFileRetentionDuration` (default one week) before `nowMs` (Spark drops the others; a
 * tombstone without `deletionTimestamp` counts as deleted at 0).
 */
export function unexpiredTombstones(snapshot: Snapshot, nowMs: number): Remove[] {
  const text = snapshot.metadata.configuration["delta.deletedFileRetentionDuration"];
  const retentionMs = (text === undefined ? undefined : parseIntervalMs(text)) ??
    DELETED_FILE_RETENTION_DEFAULT_MS;
  const horizon = nowMs - retentionMs;
  return snapshot.tombstones.filter((r) => (r.deletionTimestamp ?? 0) > horizon);
}

/**
 * One column of `values` (objects for a struct, `null` for a null row) as Arrow data of `type`,
 * through the schema-driven builders of `core/values` (Arrow JS's generic `vectorFromArray` took
 * about 25 µs a row for the checkpoint's columns: half a second for 18,000 tombstones, on the
 * runner's event loop). A value those builders refuse (a string with a lone surrogate, say) makes
 * the column fall back to `vectorFromArray`.
 */
function columnData(values: readonly unknown[], type: arrow.DataType): arrow.Data {
  try {
    const builder = createColumnBuilder(arrowTypeToDelta(type), type, { capacity: values.length });
    for (let i = 0; i < values.length; i++) builder.append(values[i], i);
    return builder.finish();
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    return arrow.vectorFromArray(values as unknown[], type).data[0]!;
  }
}

/**
 * Build the checkpoint of `snapshot` as an Arrow table (one action per row), without IO.
 *
 * @example
 * ```ts
 * import { applyActions, createReplayState, finishReplay } from "./replay.ts";
 * import { buildCheckpointTable } from "./checkpoint_write.ts";
 * const state = createReplayState();
 * applyActions(state, 0, [
 *   { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
 *   { metaData: { id: "t", format: { provider: "parquet" }, partitionColumns: [], configuration: {},
 *     schemaString: '{"type":"struct","fields":[]}' } },
 *   { add: { path: "a b.parquet", partitionValues: {}, size: 1, modificationTime: 0, dataChange: true } },
 * ]);
 * const table = buildCheckpointTable(finishReplay(state, { timestampMs: 0 }), 0);
 * if (table.numRows !== 3) throw new Error("protocol, metaData and one add");
 * if (table.getChild("add")?.get(2)?.path !== "a%20b.parquet") throw new Error("path not encoded");
 * ```
 */
export function buildCheckpointTable(
  snapshot: Snapshot,
  nowMs: number,
  cache?: CheckpointCache,
): arrow.Table {
  const steps = checkpointBatches(snapshot, nowMs, cache);
  for (let step = steps.next();; step = steps.next()) if (step.done) return step.value;
}

/**
 * {@linkcode buildCheckpointTable}, giving the event loop a turn after every
 * {@linkcode CHECKPOINT_BATCH_ROWS} actions: a runner's checkpoint of many tombstones (18,000 after
 * ten minutes at 10,000 events/s: about 200 ms of work) no longer holds its acks that long.
 */
export async function buildCheckpointTableYielding(
  snapshot: Snapshot,
  nowMs: number,
  cache?: CheckpointCache,
): Promise<arrow.Table> {
  const steps = checkpointBatches(snapshot, nowMs, cache);
  for (let step = steps.next();; step = steps.next()) {
    if (step.done) return step.value;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Builds the checkpoint batch by batch, yielding between batches; returns the table. */
function* checkpointBatches(
  snapshot: Snapshot,
  nowMs: number,
  cache: CheckpointCache | undefined,
): Generator<void, arrow.Table> {
  const withDomains = snapshot.domainMetadata.size > 0;
  const fields = checkpointColumnTypes(withDomains);
  const schema = new arrow.Schema(fields);
  const batchOf = (rows: readonly { column: string; value: unknown }[]) => {
    const children = fields.map((f) =>
      columnData(rows.map((r) => (r.column === f.name ? r.value : null)), f.type)
    );
    return new arrow.RecordBatch(
      schema,
      arrow.makeData({
        type: new arrow.Struct(fields),
        length: rows.length,
        nullCount: 0,
        children,
      }),
    );
  };
  const header: { column: string; value: unknown }[] = [];
  const push = (column: string, value: unknown) => {
    header.push({ column, value });
  };
  const p = snapshot.protocol;
  push("protocol", {
    minReaderVersion: p.minReaderVersion,
    minWriterVersion: p.minWriterVersion,
    readerFeatures: p.readerFeatures ?? null,
    writerFeatures: p.writerFeatures ?? null,
  });
  const m = snapshot.metadata;
  push("metaData", {
    id: m.id,
    name: orNull(m.name),
    description: orNull(m.description),
    format: { provider: m.format.provider, options: mapOf(m.format.options ?? {}) },
    schemaString: m.schemaString,
    partitionColumns: m.partitionColumns,
    configuration: mapOf(m.configuration),
    createdTime: big(m.createdTime),
  });
  for (const t of unexpiredTxns(snapshot, nowMs)) {
    push("txn", { appId: t.appId, version: BigInt(t.version), lastUpdated: big(t.lastUpdated) });
  }
  if (withDomains) {
    for (const d of snapshot.domainMetadata.values()) {
      push("domainMetadata", { domain: d.domain, configuration: d.configuration, removed: false });
    }
  }
  const batches: arrow.RecordBatch[] = [batchOf(header)];
  const key = `${m.id}\u0000${withDomains}`;
  const previous = cache !== undefined && cache.key === key ? cache.chunks : new Map();
  const used = new Map<object, CheckpointChunk>();
  const sections = [
    { column: "add", actions: snapshot.files, rowOf: addRow },
    { column: "remove", actions: unexpiredTombstones(snapshot, nowMs), rowOf: removeRow },
  ] as const;
  const batchRows = cache?.batchRows ?? CHECKPOINT_BATCH_ROWS;
  for (const { column, actions, rowOf } of sections) {
    let i = 0;
    while (i < actions.length) {
      const first = actions[i]!;
      const chunk = previous.get(first);
      if (chunk !== undefined && reusable(chunk, actions, i, previous, batchRows)) {
        batches.push(chunk.batch);
        used.set(first, chunk);
        i += chunk.actions.length;
        continue;
      }
      // New rows up to the next reusable batch, at most batchRows of them.
      let end = i + 1;
      while (end < actions.length && end - i < batchRows && !previous.has(actions[end]!)) end++;
      const slice = actions.slice(i, end);
      const built: CheckpointChunk = {
        actions: slice,
        batch: batchOf(slice.map((a) => ({ column, value: (rowOf as (a: object) => unknown)(a) }))),
      };
      batches.push(built.batch);
      used.set(first, built);
      i = end;
      yield;
    }
  }
  if (cache !== undefined) {
    cache.key = key;
    cache.chunks = used;
  }
  return new arrow.Table(schema, batches);
}

/**
 * Whether `chunk` holds exactly the actions at `start`: the same objects in the same order. A
 * batch shorter than `batchRows` followed by new actions is not reused but built again with them, so appended tombstones do not leave one small batch per checkpoint.
 */
function reusable(
  chunk: CheckpointChunk,
  actions: readonly object[],
  start: number,
  previous: ReadonlyMap<object, CheckpointChunk>,
  batchRows: number,
): boolean {
  const n = chunk.actions.length;
  if (start + n > actions.length) return false;
  for (let k = 0; k < n; k++) if (actions[start + k] !== chunk.actions[k]) return false;
  const next = start + n;
  return n >= batchRows || next === actions.length || previous.has(actions[next]!);
}

/**
 * The Parquet bytes of a checkpoint's Arrow table: snappy, as Spark and delta-rs write
 * checkpoints.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { encodeCheckpointParquet } from "./checkpoint_write.ts";
 * const bytes = encodeCheckpointParquet(arrow.tableFromArrays({ n: new Int32Array([1]) }));
 * if (new TextDecoder().decode(bytes.subarray(0, 4)) !== "PAR1") throw new Error("not Parquet");
 * ```
 */
export function encodeCheckpointParquet(table: arrow.Table): Uint8Array {
  return writeParquetFile(table, { compression: "snappy", createdBy: "lakestrike/0.1.0" });
}

/**
 * Write the classic checkpoint of `snapshot` and point `_delta_log/_last_checkpoint` at it (a plain
 * overwriting put; left alone when it already names a newer checkpoint). The checkpoint file is a
 * plain put too: any two checkpoints of one version hold the same state.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { applyActions, createReplayState, finishReplay } from "./replay.ts";
 * import { writeCheckpoint } from "./checkpoint_write.ts";
 * const storage = createMemoryStorage();
 * const state = createReplayState();
 * applyActions(state, 0, [
 *   { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
 *   { metaData: { id: "t", format: { provider: "parquet" }, partitionColumns: [], configuration: {},
 *     schemaString: '{"type":"struct","fields":[]}' } },
 * ]);
 * const written = await writeCheckpoint(storage, finishReplay(state, { timestampMs: 0 }));
 * if (written.size !== 2 || !(await storage.head("_delta_log/_last_checkpoint"))) throw new Error("bad");
 * ```
 */
export async function writeCheckpoint(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: WriteCheckpointOptions = {},
): Promise<CheckpointWritten> {
  const clock = options.clock ?? systemClock;
  const table = await buildCheckpointTableYielding(snapshot, clock.nowMs(), options.cache);
  const bytes = options.encode !== undefined
    ? await options.encode(table)
    : encodeCheckpointParquet(table);
  const path = classicCheckpointPath(snapshot.version);
  await storage.put(path, bytes);
  const numOfAddFiles = snapshot.files.length;
  const written: CheckpointWritten = {
    version: snapshot.version,
    path,
    size: table.numRows,
    sizeInBytes: bytes.length,
    numOfAddFiles,
    lastCheckpointUpdated: false,
  };
  let newer = false;
  try {
    const current = parseLastCheckpoint(
      new TextDecoder().decode(await storage.get(LAST_CHECKPOINT_PATH)),
    );
    newer = current !== undefined && current.version > snapshot.version;
  } catch (e) {
    if (!isLakestrikeError(e, "NOT_FOUND")) throw e;
  }
  if (!newer) {
    const last = JSON.stringify({
      version: snapshot.version,
      size: table.numRows,
      sizeInBytes: bytes.length,
      numOfAddFiles,
    });
    await storage.put(LAST_CHECKPOINT_PATH, new TextEncoder().encode(last));
    written.lastCheckpointUpdated = true;
  }
  return written;
}
