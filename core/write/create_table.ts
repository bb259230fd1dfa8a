/**
 * Create a Delta table: version 0 with `protocol` (reader 1 / writer 2, readable by every Delta
 * reader) and `metaData`, written through the table's commit protocol (put-if-absent by default)
 * so two creators cannot both win. The commit protocol is recorded in the table property
 * `lakestrike.commitProtocol`, so writers with another protocol refuse the table.
 *
 * Unless the creator sets it, `delta.setTransactionRetentionDuration` is
 * {@linkcode DEFAULT_SET_TRANSACTION_RETENTION} (7 days), so `txn` entries of producers that went
 * away expire and checkpoints drop them (ADR 0020).
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { InvalidArgumentError, LakestrikeError } from "../errors.ts";
import type { Action, Metadata, Protocol } from "../log/actions.ts";
import { createCommitInfo } from "../log/commit.ts";
import {
  COMMIT_PROTOCOL_PROPERTY,
  type CommitProtocol,
  CommitProtocolMismatchError,
  createPutIfAbsentProtocol,
  recordedCommitProtocol,
} from "../log/commit_protocol.ts";
import { LOG_DIR, parseLogFileName } from "../log/paths.ts";
import { applyActions, createReplayState, finishReplay } from "../log/replay.ts";
import { serializeActions } from "../log/actions.ts";
import { serializeSchema } from "../schema/parse_schema.ts";
import type { StructType } from "../schema/types.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import {
  DEFAULT_SET_TRANSACTION_RETENTION,
  SET_TRANSACTION_RETENTION_PROPERTY,
  validateTableProperties,
} from "./table_properties.ts";

/** Options of {@linkcode createTable}. */
export interface CreateTableOptions {
  /** The table schema. */
  schema: StructType;
  /** Partition columns, top-level primitive columns of the schema; default none. */
  partitionColumns?: string[];
  /**
   * Table properties (`delta.checkpointInterval`, ...); validated.
   * `delta.setTransactionRetentionDuration` defaults to {@linkcode DEFAULT_SET_TRANSACTION_RETENTION}.
   */
  configuration?: Record<string, string>;
  /** `metaData.name`. */
  name?: string;
  /** `metaData.description`. */
  description?: string;
  /** Source of `createdTime` and the commit timestamp; default the system clock. */
  clock?: Clock;
  /**
   * How version 0 is written; default put-if-absent on `storage`. Its name is recorded in the
   * table property `lakestrike.commitProtocol` (unless `configuration` already names it, which
   * must then agree).
   */
  protocol?: CommitProtocol;
}

/** The protocol lakestrike writes: no table features, readable by every Delta reader. */
export const DEFAULT_PROTOCOL: Protocol = { minReaderVersion: 1, minWriterVersion: 2 };

function validateSchema(schema: StructType, partitionColumns: readonly string[]): void {
  if (schema?.type !== "struct" || !Array.isArray(schema.fields)) {
    throw new InvalidArgumentError("Cannot create table: schema must be a struct type");
  }
  if (schema.fields.length === 0) {
    throw new InvalidArgumentError("Cannot create table: the schema has no columns");
  }
  const names = new Set<string>();
  for (const f of schema.fields) {
    if (typeof f.name !== "string" || f.name === "") {
      throw new InvalidArgumentError("Cannot create table: a column has no name");
    }
    // Delta column names are case-insensitive (Spark resolves them so).
    const lower = f.name.toLowerCase();
    if (names.has(lower)) {
      throw new InvalidArgumentError(`Cannot create table: duplicate column ${f.name}`);
    }
    names.add(lower);
  }
  const seen = new Set<string>();
  for (const c of partitionColumns) {
    const field = schema.fields.find((f) => f.name === c);
    if (!field) {
      throw new InvalidArgumentError(
        `Cannot create table: partition column ${c} is not in the schema`,
      );
    }
    if (typeof field.type !== "string") {
      throw new InvalidArgumentError(
        `Cannot create table: partition column ${c} has nested type ${field.type.type}; partition columns must be primitive`,
      );
    }
    if (seen.has(c)) {
      throw new InvalidArgumentError(`Cannot create table: partition column ${c} is listed twice`);
    }
    seen.add(c);
  }
  if (partitionColumns.length > 0 && partitionColumns.length === schema.fields.length) {
    throw new InvalidArgumentError(
      "Cannot create table: every column is a partition column; data files need one data column",
    );
  }
}

/**
 * Create a table at the storage root and return its snapshot at version 0.
 *
 * @throws {LakestrikeError} `TABLE_EXISTS` when the root already holds a Delta log
 * @throws {InvalidArgumentError} on a bad schema, partition column or table property
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createTable } from "./create_table.ts";
 * const storage = createMemoryStorage();
 * const snapshot = await createTable(storage, {
 *   schema: {
 *     type: "struct",
 *     fields: [
 *       { name: "id", type: "long", nullable: false, metadata: {} },
 *       { name: "date", type: "date", nullable: true, metadata: {} },
 *     ],
 *   },
 *   partitionColumns: ["date"],
 *   configuration: { "delta.checkpointInterval": "10" },
 * });
 * if (snapshot.version !== 0 || snapshot.metadata.partitionColumns[0] !== "date") {
 *   throw new Error("bad table");
 * }
 * ```
 */
export async function createTable(
  storage: ObjectStorage,
  options: CreateTableOptions,
): Promise<Snapshot> {
  const partitionColumns = options.partitionColumns ?? [];
  validateSchema(options.schema, partitionColumns);
  validateTableProperties(options.configuration ?? {});
  const protocol = options.protocol ?? createPutIfAbsentProtocol(storage);
  const requested = recordedCommitProtocol(options.configuration ?? {});
  if (requested !== undefined && requested !== protocol.name) {
    throw new CommitProtocolMismatchError(storage.location, requested, protocol.name);
  }
  const configuration = {
    [SET_TRANSACTION_RETENTION_PROPERTY]: DEFAULT_SET_TRANSACTION_RETENTION,
    ...options.configuration,
    [COMMIT_PROTOCOL_PROPERTY]: protocol.name,
  };
  const clock = options.clock ?? systemClock;

  // A table whose log was cleaned up below a checkpoint has no 0.json: look before writing.
  // Log files start with 20 digits and sort before `_last_checkpoint` and other names.
  const first = await storage.list(`${LOG_DIR}/`, { limit: 1 });
  const name = first[0]?.path.slice(LOG_DIR.length + 1);
  const kind = name === undefined ? undefined : parseLogFileName(name)?.kind;
  if (kind === "commit" || kind === "checkpoint") {
    throw new LakestrikeError(
      "TABLE_EXISTS",
      `Cannot create table at ${storage.location}: a Delta table already exists`,
    );
  }

  const now = clock.nowMs();
  const metadata: Metadata = {
    id: crypto.randomUUID(),
    format: { provider: "parquet", options: {} },
    schemaString: serializeSchema(options.schema),
    partitionColumns: [...partitionColumns],
    configuration: { ...configuration },
    createdTime: now,
  };
  if (options.name !== undefined) metadata.name = options.name;
  if (options.description !== undefined) metadata.description = options.description;
  const operationParameters: Record<string, unknown> = {
    mode: "ErrorIfExists",
    partitionBy: JSON.stringify(partitionColumns),
    properties: JSON.stringify(configuration),
  };
  if (options.description !== undefined) operationParameters.description = options.description;
  const body: Action[] = [{ protocol: { ...DEFAULT_PROTOCOL } }, { metaData: metadata }];
  const commitInfo = createCommitInfo(
    { operation: "CREATE TABLE", operationParameters, actions: body },
    { timestamp: now, txnId: crypto.randomUUID() },
  );
  const actions: Action[] = [{ commitInfo }, ...body];
  const bytes = new TextEncoder().encode(serializeActions(actions));
  const outcome = await protocol.writeCommit(0, bytes);
  if (outcome === "exists") {
    throw new LakestrikeError(
      "TABLE_EXISTS",
      `Cannot create table at ${storage.location}: version 0 already exists`,
    );
  }
  const state = createReplayState();
  applyActions(state, 0, actions);
  return finishReplay(state, { timestampMs: now });
}
