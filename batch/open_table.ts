/**
 * The table commands' way to open a table: {@linkcode openTable} of `ops/open_table.ts` (the one
 * opener the runner uses too), given the table flags (`--commit-protocol`, `--dynamodb-*`) and an
 * optional version. With no `--commit-protocol` the protocol the table records is followed.
 *
 * The commands open `s3://` tables: importing this module registers the AWS module
 * (`registerAws()` of `aws/mod.ts`), which the core and `ops/` leave out.
 *
 * @module
 */
import { registerAws } from "../aws/register_aws.ts";
import type { DynamoDbSettings } from "../core/log/resolve_commit_protocol.ts";
import { type OpenedTable, openTable as openTableOp } from "../ops/open_table.ts";
import type { TableFlags } from "./cli.ts";

registerAws();

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
export function openTable(uri: string, options: OpenTableOptions = {}): Promise<OpenedTable> {
  const dynamodb = dynamodbOf(options);
  return openTableOp(uri, {
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    ...(dynamodb === undefined ? {} : { dynamodb }),
  });
}
