/**
 * Open a table as every entry point does: its storage, its commit protocol and its snapshot, the
 * table created first when the caller asks for it. The table commands (`inspect`, `scan`,
 * `compact`, `vacuum`) and the runner (`batch/runner_main.ts`, for every configured table) all
 * call {@linkcode openTable}, so they honour a table's commit protocol the same way.
 *
 * ```
 *  load (no protocol: read what the table records) ─▶ resolve the protocol ─▶ repair? load again
 *     │ not found                                       (refuse a mismatch,      through it
 *     └──────────────────────────────────────────────▶  an unrecorded S3 table,  │ still not found
 *                                                       DynamoDB conflicts)      ▼
 *                                           create (through the protocol) ◀─ create asked? else throw
 *                                             └ TABLE_EXISTS (another runner first): load through it
 * ```
 *
 * * **Which protocol.** The caller's (`protocol`) when given. Otherwise, with `recorded: "follow"`
 *   (the default, the commands) the one the table records in `lakestrike.commitProtocol`, and with
 *   `recorded: "check"` (the runner, whose config names the protocol it writes with) the
 *   location's default, which a table recorded with another refuses. Either way a table on S3
 *   that records none (created by Spark or delta-rs) is refused unless `protocol` is given, and
 *   `s3` with DynamoDB settings first checks that DynamoDB holds no entries of the table
 *   (`resolveCommitProtocol`). `s3-dynamodb` takes the defaults of every DynamoDB setting not
 *   given (table `delta_log`, region `us-east-1`, key the table's `s3://` uri).
 * * **Repair first.** An `s3-dynamodb` commit that a crashed writer left incomplete must be
 *   finished before the log is listed: with a protocol that repairs, the table is loaded again
 *   through it, and so is a table another process created first. Version 0 itself may wait for
 *   its repair, so a table that looks missing is only missing after the protocol's load.
 *
 * `s3://` needs the AWS module registered (`registerAws()` of `aws/mod.ts`); the applications do it
 * (`batch/open_table.ts`, `batch/runner_main.ts`), this layer loads no AWS code.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { isLakestrikeError } from "../core/errors.ts";
import {
  assertCommitProtocol,
  type CommitProtocol,
  type CommitProtocolName,
  recordedCommitProtocol,
} from "../core/log/commit_protocol.ts";
import {
  type CommitProtocolConfig,
  type DynamoDbSettings,
  resolveCommitProtocol,
} from "../core/log/resolve_commit_protocol.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { openStorage } from "../core/storage/mod.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { createTable } from "../core/write/create_table.ts";
import { CREATED_TABLE_PROPERTIES_DEFAULT } from "../core/write/table_properties.ts";

/** The table {@linkcode openTable} creates when it is missing. */
export interface CreateIfMissing {
  /** The schema. */
  schema: StructType;
  /** Partition columns (default none). */
  partitionColumns?: string[];
  /** Table properties (`delta.*`), over `CREATED_TABLE_PROPERTIES_DEFAULT` (ADR 0032). */
  configuration?: Record<string, string>;
  /** The table's name in its metadata. */
  name?: string;
  /** The clock of the creating commit. */
  clock?: Clock;
}

/** Options of {@linkcode openTable}. */
export interface OpenTableOptions {
  /** Load this version instead of the latest (never with `createIfMissing`). */
  version?: number;
  /** The commit protocol, configured explicitly; see the module doc for the default. */
  protocol?: CommitProtocolName;
  /**
   * Without `protocol`: `follow` (default) uses the protocol the table records; `check` uses the
   * location's default and refuses a table recorded with another.
   */
  recorded?: "follow" | "check";
  /** DynamoDB settings of `s3-dynamodb`, or of the check of `s3`. */
  dynamodb?: DynamoDbSettings;
  /** Create the table when it does not exist. */
  createIfMissing?: CreateIfMissing;
}

/** An opened table. */
export interface OpenedTable {
  /** Storage scoped to the table root. */
  storage: ObjectStorage;
  /** The table's commit protocol: pass it to every commit. */
  protocol: CommitProtocol;
  /** The table's state, loaded through `protocol` when it repairs. */
  snapshot: Snapshot;
  /** True when this call created the table. */
  created: boolean;
}

/** What {@linkcode resolveCommitProtocol} gets for the protocol `name` (undefined: the default). */
function protocolConfig(
  name: CommitProtocolName | undefined,
  dynamodb: DynamoDbSettings | undefined,
): CommitProtocolConfig {
  return {
    ...(name === undefined ? {} : { protocol: name }),
    ...(name === "s3-dynamodb" ? { dynamodb: dynamodb ?? {} } : dynamodb ? { dynamodb } : {}),
  };
}

/**
 * Open (or create) the table at `uri`; see the module doc.
 *
 * @throws {LakestrikeError} `TABLE_NOT_FOUND` when it is missing and not to be created;
 * `INVALID_ARGUMENT` when its commit protocol is refused (another one recorded, none recorded on
 * S3, DynamoDB conflicts).
 *
 * @example
 * ```ts
 * import { openTable } from "./open_table.ts";
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }],
 * };
 * const uri = `memory://open-table-example-${crypto.randomUUID()}`;
 * const first = await openTable(uri, { createIfMissing: { schema } });
 * const again = await openTable(uri, { createIfMissing: { schema } });
 * if (!first.created || again.created || again.protocol.name !== "local") throw new Error("bad");
 * ```
 */
export async function openTable(uri: string, options: OpenTableOptions = {}): Promise<OpenedTable> {
  const storage = openStorage(uri);
  const at = options.version === undefined ? {} : { version: options.version };
  let snapshot: Snapshot | undefined;
  let notFound: unknown;
  try {
    snapshot = await loadSnapshot(storage, at);
  } catch (e) {
    // Version 0 itself may wait for its DynamoDB repair: the protocol's load below tells.
    if (!isLakestrikeError(e, "TABLE_NOT_FOUND")) throw e;
    notFound = e;
  }
  const recorded = (options.recorded ?? "follow") === "follow" && snapshot !== undefined
    ? recordedCommitProtocol(snapshot.metadata.configuration)
    : undefined;
  const protocol = await resolveCommitProtocol(
    storage,
    snapshot,
    protocolConfig(options.protocol ?? recorded, options.dynamodb),
  );
  if (protocol.repair) {
    try {
      snapshot = await loadSnapshot(storage, { ...at, protocol });
      assertCommitProtocol(storage.location, snapshot.metadata.configuration, protocol.name);
    } catch (e) {
      if (!isLakestrikeError(e, "TABLE_NOT_FOUND")) throw e;
      notFound = e;
      snapshot = undefined;
    }
  }
  if (snapshot !== undefined) return { storage, protocol, snapshot, created: false };
  const create = options.createIfMissing;
  if (create === undefined || options.version !== undefined) throw notFound;
  try {
    // The ingest defaults (ADR 0032) under what the config sets.
    const configuration = { ...CREATED_TABLE_PROPERTIES_DEFAULT, ...create.configuration };
    snapshot = await createTable(storage, { ...create, configuration, protocol });
    return { storage, protocol, snapshot, created: true };
  } catch (e) {
    // Another process created it first: use theirs, read through the protocol like any table.
    if (!isLakestrikeError(e, "TABLE_EXISTS")) throw e;
    snapshot = await loadSnapshot(storage, { protocol });
    assertCommitProtocol(storage.location, snapshot.metadata.configuration, protocol.name);
    return { storage, protocol, snapshot, created: false };
  }
}
