/**
 * Open a table for a command-line tool or a service: its storage, its commit protocol and its
 * snapshot. Shared by `inspect`, `scan`, `compact`, `vacuum` and the runner so that every one of them
 * honours the table's commit protocol the same way.
 *
 * A table created by lakestrike records its protocol in `lakestrike.commitProtocol`. When that is
 * `s3-dynamodb`, an incomplete DynamoDB entry left by a crashed writer must be repaired before the log
 * is read, so the table is loaded once, the protocol is built from its property (or from the caller's
 * choice), and the table is loaded again through it.
 *
 * A table on S3 that records no protocol (Delta Spark, delta-rs) is refused unless `protocol` is
 * given, and `s3` with DynamoDB settings first checks that DynamoDB holds no entries of the table
 * (`resolveCommitProtocol`). DynamoDB settings count as given when any `dynamodb*` option is set.
 *
 * The command-line tools open `s3://` tables: importing this module registers the AWS module
 * (`registerAws()` of `aws/mod.ts`), which the core leaves out.
 *
 * @module
 */
import { registerAws } from "../aws/register_aws.ts";
import {
  assertCommitProtocol,
  type CommitProtocol,
  type CommitProtocolName,
  recordedCommitProtocol,
} from "../core/log/commit_protocol.ts";
import { resolveCommitProtocol } from "../core/log/resolve_commit_protocol.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { isLakestrikeError } from "../core/errors.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { openStorage } from "../core/storage/mod.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";

registerAws();

/** Options of {@linkcode openTable}. */
export interface OpenTableOptions {
  /** Load this version instead of the latest. */
  version?: number;
  /** The commit protocol to use; default: the table's recorded one, else the location's default. */
  protocol?: CommitProtocolName;
  /** DynamoDB table of the `s3-dynamodb` protocol (default `delta_log`). */
  dynamodbTable?: string;
  /** DynamoDB endpoint (default: the AWS SDK's, from `AWS_ENDPOINT_URL_DYNAMODB` etc.). */
  dynamodbEndpoint?: string;
  /** DynamoDB region (default `us-east-1`, Spark's; see `resolveDynamoDBRegion`). */
  dynamodbRegion?: string;
  /** DynamoDB key of the table (default its `s3://` URI; `s3a://bucket/path` to share with Spark). */
  dynamodbTablePath?: string;
}

/** An opened table. */
export interface OpenedTable {
  storage: ObjectStorage;
  protocol: CommitProtocol;
  snapshot: Snapshot;
}

/** Open the table at `uri`; see the module doc for how the commit protocol is chosen. */
export async function openTable(uri: string, options: OpenTableOptions = {}): Promise<OpenedTable> {
  const storage = openStorage(uri);
  const at = options.version === undefined ? {} : { version: options.version };
  const given = {
    ...(options.dynamodbTable ? { tableName: options.dynamodbTable } : {}),
    ...(options.dynamodbEndpoint ? { endpoint: options.dynamodbEndpoint } : {}),
    ...(options.dynamodbRegion ? { region: options.dynamodbRegion } : {}),
    ...(options.dynamodbTablePath ? { tablePath: options.dynamodbTablePath } : {}),
  };
  const dynamodb = Object.keys(given).length > 0 ? given : undefined;
  let snapshot: Snapshot;
  try {
    snapshot = await loadSnapshot(storage, at);
  } catch (e) {
    // Version 0 itself may wait for its DynamoDB repair: only the log store can tell.
    if (options.protocol !== "s3-dynamodb" || !isLakestrikeError(e, "TABLE_NOT_FOUND")) throw e;
    const protocol = await resolveCommitProtocol(storage, undefined, {
      protocol: "s3-dynamodb",
      dynamodb: dynamodb ?? {},
    });
    snapshot = await loadSnapshot(storage, { ...at, protocol });
    assertCommitProtocol(storage.location, snapshot.metadata.configuration, protocol.name);
    return { storage, protocol, snapshot };
  }
  const name = options.protocol ?? recordedCommitProtocol(snapshot.metadata.configuration);
  const protocol = await resolveCommitProtocol(storage, snapshot, {
    ...(name ? { protocol: name } : {}),
    ...(name === "s3-dynamodb" ? { dynamodb: dynamodb ?? {} } : dynamodb ? { dynamodb } : {}),
  });
  if (protocol.repair) snapshot = await loadSnapshot(storage, { ...at, protocol });
  return { storage, protocol, snapshot };
}
