/**
 * Shared plumbing of the command-line entry points: flag parsing with clear errors, and one place that
 * turns any failure into a one-line message on stderr and a non-zero exit status (never a stack trace).
 *
 * Exit statuses: 0 success, 1 the operation failed (missing table, corrupt log, unsupported feature),
 * 2 bad usage (unknown flag, bad value).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidArgumentError, isLakestrikeError } from "../core/errors.ts";
import { type CommitProtocolName, parseCommitProtocolName } from "../core/log/commit_protocol.ts";
import { dynamodbTablePath } from "../core/storage/s3.ts";

/** Thrown for bad command-line usage; exits with status 2. */
export class UsageError extends Error {
  /** Create a usage error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parse `args` with `node:util` `parseArgs`, turning its errors into {@linkcode UsageError}s. */
export function parseFlags<T extends ParseArgsConfig["options"]>(
  args: string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: options ?? {},
      allowPositionals: true,
      strict: true,
    });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** Parse a flag value as a non-negative integer, or throw a {@linkcode UsageError} naming the flag. */
export function parseNonNegativeInt(
  flag: string,
  value: string | boolean | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(
      `Invalid value for --${flag}: expected a non-negative integer, got '${value}'`,
    );
  }
  return Number(value);
}

/**
 * Run a command's `main`, mapping failures to a one-line error and an exit status.
 * `usage` is printed after a usage error.
 */
export async function runCli(usage: string, main: () => Promise<void>): Promise<never> {
  try {
    await main();
    Deno.exit(0);
  } catch (e) {
    if (e instanceof UsageError || e instanceof InvalidArgumentError) {
      console.error(`error: ${e.message}`);
      console.error(usage);
      Deno.exit(2);
    }
    if (isLakestrikeError(e)) {
      console.error(`error: ${e.message}`);
      Deno.exit(1);
    }
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}

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
