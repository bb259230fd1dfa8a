/**
 * `deno task setup-dynamodb [--table NAME] [--endpoint URL] [--region REGION]`: create the DynamoDB
 * table of the `s3-dynamodb` commit protocol, in the region the protocol uses (default `us-east-1`,
 * as Spark's; see `resolveDynamoDBRegion`), as Delta Spark and delta-rs expect it: hash key
 * `tablePath` (S), range key `fileName` (S), on-demand billing (`PAY_PER_REQUEST`), TTL on
 * `expireTime`. Waits until the table is `ACTIVE`.
 *
 * Idempotent: an existing table with this key schema is fine (TTL is enabled if it is not); an
 * existing table with another key schema is an error (exit 1), since commits would fail on it.
 *
 * @module
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { LakestrikeError } from "../core/errors.ts";
import {
  DEFAULT_DYNAMODB_TABLE,
  type DynamoDBSender,
  resolveDynamoDBRegion,
} from "../aws/dynamodb_log_store.ts";
import { AWS_REGION_RE, parseFlags, runCli, UsageError } from "./cli.ts";

/** Options of {@linkcode setupDynamoDBTable}. */
export interface SetupDynamoDBOptions {
  /** Table name; default `delta_log`. */
  tableName?: string;
  /** DynamoDB client; default one for `endpoint` and `region`. */
  client?: DynamoDBSender;
  /** Endpoint URL (DynamoDB Local); default the SDK's. */
  endpoint?: string;
  /**
   * Region; default `us-east-1` (Spark's `ddb.region` default), refused when `AWS_REGION` names
   * another (see `resolveDynamoDBRegion`).
   */
  region?: string;
  /** Give up waiting for `ACTIVE` after this long; default 60 s. */
  activeTimeoutMs?: number;
}

/** What {@linkcode setupDynamoDBTable} did. */
export interface SetupDynamoDBResult {
  tableName: string;
  /** Region of the table; `undefined` when the client was given. */
  region?: string;
  /** True when the table was created by this call. */
  created: boolean;
  /** True when TTL on `expireTime` was enabled by this call. */
  ttlEnabled: boolean;
}

const KEY_SCHEMA = [
  { AttributeName: "tablePath", KeyType: "HASH" as const },
  { AttributeName: "fileName", KeyType: "RANGE" as const },
];

/** Describe the key schema problem of an existing table, or `undefined` when it is right. */
function keySchemaProblem(table: TableDescription): string | undefined {
  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(", ");
  const want = KEY_SCHEMA.map((k) => `${k.AttributeName}:${k.KeyType}`).join(", ");
  if (keys !== want) return `key schema is [${keys}], expected [${want}]`;
  for (const k of KEY_SCHEMA) {
    const type = table.AttributeDefinitions?.find((d) => d.AttributeName === k.AttributeName)
      ?.AttributeType;
    if (type !== "S") return `key ${k.AttributeName} has type ${type}, expected S`;
  }
  return undefined;
}

async function describe(client: DynamoDBSender, name: string) {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    return out.Table as TableDescription | undefined;
  } catch (e) {
    if (e instanceof Error && e.name === "ResourceNotFoundException") return undefined;
    throw e;
  }
}

/**
 * Create (or check) the commit-protocol table and enable TTL on `expireTime`.
 *
 * @throws {LakestrikeError} `INVALID_ARGUMENT` when the table exists with another key schema
 *
 * @example
 * ```ts ignore
 * import { setupDynamoDBTable } from "./setup_dynamodb.ts";
 * const r = await setupDynamoDBTable({ endpoint: "http://127.0.0.1:8000" });
 * console.log(r.created ? "created" : "already there");
 * ```
 */
export async function setupDynamoDBTable(
  options: SetupDynamoDBOptions = {},
): Promise<SetupDynamoDBResult> {
  const tableName = options.tableName ?? DEFAULT_DYNAMODB_TABLE;
  // The region the commit protocol will use, so writers find the table this creates.
  const region = options.client === undefined ? resolveDynamoDBRegion(options.region) : undefined;
  const client: DynamoDBSender = options.client ?? new DynamoDBClient({
    region: region!,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  });
  let created = false;
  let table = await describe(client, tableName);
  if (table === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [
            { AttributeName: "tablePath", AttributeType: "S" },
            { AttributeName: "fileName", AttributeType: "S" },
          ],
          KeySchema: KEY_SCHEMA,
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      created = true;
    } catch (e) {
      // Created concurrently by another setup: check it like any existing table.
      if (!(e instanceof Error && e.name === "ResourceInUseException")) throw e;
    }
    table = await describe(client, tableName);
  }
  const deadline = Date.now() + (options.activeTimeoutMs ?? 60_000);
  while (table?.TableStatus !== "ACTIVE") {
    if (table === undefined) {
      throw new LakestrikeError(
        "STORAGE",
        `Cannot set up DynamoDB table ${tableName}: it vanished`,
      );
    }
    if (Date.now() > deadline) {
      throw new LakestrikeError(
        "STORAGE",
        `Cannot set up DynamoDB table ${tableName}: still ${table.TableStatus} after waiting`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    table = await describe(client, tableName);
  }
  const problem = keySchemaProblem(table);
  if (problem !== undefined) {
    throw new LakestrikeError(
      "INVALID_ARGUMENT",
      `Cannot use DynamoDB table ${tableName} for commits: its ${problem}`,
    );
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  const attribute = ttl.TimeToLiveDescription?.AttributeName;
  let ttlEnabled = false;
  if ((status === "ENABLED" || status === "ENABLING") && attribute !== "expireTime") {
    throw new LakestrikeError(
      "INVALID_ARGUMENT",
      `Cannot use DynamoDB table ${tableName} for commits: TTL is on ${attribute}, expected expireTime`,
    );
  }
  if (status !== "ENABLED" && status !== "ENABLING") {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: "expireTime", Enabled: true },
      }),
    );
    ttlEnabled = true;
  }
  return { tableName, ...(region === undefined ? {} : { region }), created, ttlEnabled };
}

const USAGE = "usage: deno task setup-dynamodb [--table NAME] [--endpoint URL] [--region REGION]";

if (import.meta.main) {
  await runCli(USAGE, async () => {
    const { values, positionals } = parseFlags(Deno.args, {
      table: { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
    });
    if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`);
    const options: SetupDynamoDBOptions = {};
    if (typeof values.table === "string") {
      if (!/^[A-Za-z0-9_.-]{3,255}$/.test(values.table)) {
        throw new UsageError(
          `Invalid value for --table: '${values.table}' is not a DynamoDB table name`,
        );
      }
      options.tableName = values.table;
    }
    if (typeof values.endpoint === "string") {
      try {
        new URL(values.endpoint);
      } catch {
        throw new UsageError(`Invalid value for --endpoint: '${values.endpoint}' is not a URL`);
      }
      options.endpoint = values.endpoint;
    }
    if (typeof values.region === "string") {
      if (!AWS_REGION_RE.test(values.region)) {
        throw new UsageError(`Invalid value for --region: '${values.region}' is not an AWS region`);
      }
      options.region = values.region;
    }
    const r = await setupDynamoDBTable(options);
    console.log(
      `${r.created ? "created" : "ok"}: DynamoDB table ${r.tableName}${
        r.region === undefined ? "" : ` in ${r.region}`
      } (tablePath S HASH, fileName S RANGE, PAY_PER_REQUEST, TTL on expireTime${
        r.ttlEnabled ? " enabled now" : ""
      })`,
    );
  });
}
