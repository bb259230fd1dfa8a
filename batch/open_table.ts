/**
 * The table commands' way to open a table: {@linkcode openTable} of `ops/open_table.ts` (the one
 * opener the runner uses too), given the table flags (`--commit-protocol`, `--dynamodb-*`) and an
 * optional version. With no `--commit-protocol` the protocol the table records is followed.
 *
 * The commands open `s3://` tables: the first `s3://` (or `s3a://`) URI registers the AWS module
 * (`registerAws()` of `aws/mod.ts`, which the core and `ops/` leave out) unless an application
 * registered it already; it is loaded then, not at start, so that a command on a local table does
 * not pay for loading the AWS SDK (about 130 ms).
 *
 * @module
 */
import type { DynamoDbSettings } from "../core/log/resolve_commit_protocol.ts";
import { hasStorageScheme } from "../core/storage/open.ts";
import { type OpenedTable, openTable as openTableOp } from "../ops/open_table.ts";
import type { TableFlags } from "./cli.ts";

/**
 * The AWS module's registration, by a computed specifier: Deno prepares the module graph of every
 * literal `import("...")` when this module loads, which cost a command on a local table 15–20 ms
 * (ADR 0046). The commands run with `--allow-all`, which such an import needs.
 */
const REGISTER_AWS_MODULE = new URL("../aws/register_aws.ts", import.meta.url).href;

/** Register the AWS module before the first table on S3, unless the application did. */
async function registerAwsFor(uri: string): Promise<void> {
  if (!/^s3[an]?:\/\//i.test(uri) || hasStorageScheme("s3")) return;
  const { registerAws } = await import(
    REGISTER_AWS_MODULE
  ) as typeof import("../aws/register_aws.ts");
  if (!hasStorageScheme("s3")) registerAws();
}

export type { OpenedTable } from "../ops/open_table.ts";

/** Options of {@linkcode openTable}: the table flags, and a version to load. */
export interface OpenTableOptions extends TableFlags {
  /** Load this version instead of the latest. */
  version?: number;
}

/** The DynamoDB settings the `--dynamodb-*` flags give, `undefined` when none is given. */
function dynamodbOf(flags: TableFlags): DynamoDbSettings | undefined {
  const given: DynamoDbSettings = {
    ...(flags.dynamodbTable ? { tableName: flags.dynamodbTable } : {}),
    ...(flags.dynamodbEndpoint ? { endpoint: flags.dynamodbEndpoint } : {}),
    ...(flags.dynamodbRegion ? { region: flags.dynamodbRegion } : {}),
    ...(flags.dynamodbTablePath ? { tablePath: flags.dynamodbTablePath } : {}),
  };
  return Object.keys(given).length > 0 ? given : undefined;
}

/**
 * Open the table at `uri` as the table flags say (see `ops/open_table.ts` for how the commit
 * protocol is chosen); never creates it.
 */
export async function openTable(
  uri: string,
  options: OpenTableOptions = {},
): Promise<OpenedTable> {
  await registerAwsFor(uri);
  const dynamodb = dynamodbOf(options);
  return await openTableOp(uri, {
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    ...(dynamodb === undefined ? {} : { dynamodb }),
  });
}
