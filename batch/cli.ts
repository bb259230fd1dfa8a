/**
 * The flags of the table tools and the runner that open a table (commit protocol, DynamoDB
 * settings). The flag parsing and exit statuses every entry point shares live in `cli/mod.ts`,
 * re-exported here for the tools that import them from this module.
 *
 * @module
 */
import { type CommitProtocolName, parseCommitProtocolName } from "../core/log/commit_protocol.ts";
import { dynamodbTablePath } from "../aws/s3_uri.ts";
import { UsageError } from "../cli/parse_flags.ts";

export { parseFlags, parseNonNegativeInt, runCli, UsageError } from "../cli/mod.ts";

/** Flags every command that opens a table accepts (see `openTable`). */
export const TABLE_FLAGS = {
  "commit-protocol": { type: "string" },
  "dynamodb-table": { type: "string" },
  "dynamodb-endpoint": { type: "string" },
  "dynamodb-region": { type: "string" },
  "dynamodb-table-path": { type: "string" },
} as const;

/** The {@linkcode TABLE_FLAGS} as the usage line of every command that opens a table shows them. */
export const TABLE_FLAGS_USAGE =
  "[--commit-protocol local|s3|s3-dynamodb] [--dynamodb-table NAME] [--dynamodb-region R] [--dynamodb-table-path s3a://BUCKET/PATH] [--dynamodb-endpoint URL]";

/** The table-opening options given by {@linkcode TABLE_FLAGS} (those of `OpenTableOptions`). */
export interface TableFlags {
  /** `--commit-protocol`. */
  protocol?: CommitProtocolName;
  /** `--dynamodb-table`. */
  dynamodbTable?: string;
  /** `--dynamodb-endpoint`. */
  dynamodbEndpoint?: string;
  /** `--dynamodb-region`. */
  dynamodbRegion?: string;
  /** `--dynamodb-table-path`, in Hadoop's form (`s3a://bucket/` at a bucket root). */
  dynamodbTablePath?: string;
}

/**
 * The table-opening options given by {@linkcode TABLE_FLAGS}.
 *
 * @throws {UsageError} naming the flag with a bad value
 *
 * @example
 * ```ts
 * import { parseTableFlags } from "./cli.ts";
 * const flags = parseTableFlags({ "dynamodb-table-path": "s3a://lake", "dynamodb-region": "eu-west-1" });
 * if (flags.dynamodbTablePath !== "s3a://lake/") throw new Error("bucket roots keep their slash");
 * ```
 */
export function parseTableFlags(
  values: Record<string, string | boolean | undefined>,
): TableFlags {
  const out: TableFlags = {};
  const protocol = values["commit-protocol"];
  if (typeof protocol === "string") {
    try {
      out.protocol = parseCommitProtocolName(protocol, "--commit-protocol");
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const table = values["dynamodb-table"];
  if (typeof table === "string") {
    if (!DYNAMODB_TABLE_NAME_RE.test(table)) {
      throw new UsageError(
        `Invalid value for --dynamodb-table: '${table}' is not a DynamoDB table name`,
      );
    }
    out.dynamodbTable = table;
  }
  const endpoint = values["dynamodb-endpoint"];
  if (typeof endpoint === "string") {
    if (!URL.canParse(endpoint)) {
      throw new UsageError(`Invalid value for --dynamodb-endpoint: '${endpoint}' is not a URL`);
    }
    out.dynamodbEndpoint = endpoint;
  }
  const region = values["dynamodb-region"];
  if (typeof region === "string") {
    if (!AWS_REGION_RE.test(region)) {
      throw new UsageError(`Invalid value for --dynamodb-region: '${region}' is not an AWS region`);
    }
    out.dynamodbRegion = region;
  }
  const tablePath = values["dynamodb-table-path"];
  if (typeof tablePath === "string") {
    try {
      out.dynamodbTablePath = dynamodbTablePath(tablePath);
    } catch {
      throw new UsageError(
        `Invalid value for --dynamodb-table-path: '${tablePath}' is not an s3a://bucket/path URI (or s3://, s3n://)`,
      );
    }
  }
  if (
    out.protocol !== undefined && out.protocol !== "s3-dynamodb" && out.protocol !== "s3" &&
    Object.keys(out).length > 1
  ) {
    throw new UsageError(
      "The --dynamodb-* flags are only used with --commit-protocol s3-dynamodb (or s3, as a check)",
    );
  }
  return out;
}

/** Valid DynamoDB table names. */
export const DYNAMODB_TABLE_NAME_RE = /^[A-Za-z0-9_.-]{3,255}$/;
/** Region names accepted (`us-east-1`; DynamoDB Local takes any). */
export const AWS_REGION_RE = /^[a-z0-9-]{2,32}$/;
