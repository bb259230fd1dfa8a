/**
 * Registers the AWS backends with the core, as delta-rs's `deltalake-aws` crate registers its
 * handlers at start: the `s3://` storage scheme (`openStorage`) and the commit protocols that need
 * AWS (`resolveCommitProtocol`):
 *
 * | registered | what |
 * |---|---|
 * | storage scheme `s3` | {@linkcode s3StorageFactory}, configured the AWS way (`AWS_REGION`, `AWS_ENDPOINT_URL_S3`, credential chain) unless options say otherwise |
 * | protocol `s3` | put-if-absent on S3; with DynamoDB settings it first refuses a table that DynamoDB holds `S3DynamoDBLogStore` entries of |
 * | protocol `s3-dynamodb` | Delta Spark's `S3DynamoDBLogStore` (`./dynamodb_log_store.ts`), after refusing another spelling of the table's key that holds newer entries |
 *
 * The DynamoDB client is only loaded when a table uses DynamoDB settings. The core never imports
 * this module: an application (the runner, the table tools, a test) calls {@linkcode registerAws}
 * once at start.
 *
 * @module
 */
import { InvalidArgumentError } from "../core/errors.ts";
import { createPutIfAbsentProtocol } from "../core/log/commit_protocol.ts";
import {
  type DynamoDbSettings,
  registerCommitProtocol,
} from "../core/log/resolve_commit_protocol.ts";
import { registerStorageScheme } from "../core/storage/open.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import type { S3DynamoDBLogStoreOptions } from "./dynamodb_log_store.ts";
import { s3StorageFactory, type S3StorageFactoryOptions } from "./s3_storage.ts";
import { dynamodbTablePath, dynamodbTablePathVariants } from "./s3_uri.ts";

/** Options of {@linkcode registerAws}. */
export interface RegisterAwsOptions {
  /** Options of every S3 storage `openStorage` makes (endpoint, path style, retries). */
  s3?: S3StorageFactoryOptions;
}

/** The settings of the protocol as the DynamoDB log store takes them. */
function storeOptions(settings: DynamoDbSettings): Omit<S3DynamoDBLogStoreOptions, "storage"> {
  return settings as Omit<S3DynamoDBLogStoreOptions, "storage">;
}

/** Refuse `s3` when the configured DynamoDB table holds entries of the table. */
async function assertNoDynamoDBEntries(
  storage: ObjectStorage,
  settings: DynamoDbSettings,
): Promise<void> {
  const ddb = await import("./dynamodb_log_store.ts");
  const dynamodb = storeOptions(settings);
  const keys = [
    ...(dynamodb.tablePath === undefined ? [] : [dynamodbTablePath(dynamodb.tablePath)]),
    ...dynamodbTablePathVariants(storage.location),
  ];
  const region = dynamodb.client === undefined
    ? ddb.resolveDynamoDBRegion(dynamodb.region)
    : dynamodb.region;
  const found = (await ddb.findLatestEntries({ ...dynamodb, ...(region ? { region } : {}) }, keys))
    .sort((a, b) => b.version - a.version)[0];
  if (found === undefined) return;
  const tableName = dynamodb.tableName ?? ddb.DEFAULT_DYNAMODB_TABLE;
  const where = `DynamoDB table ${tableName}${region === undefined ? "" : ` (region ${region})`}`;
  throw new ddb.DynamoDBKeyConflictError(
    `Cannot open ${storage.location} with commit protocol 's3': ${where} holds S3DynamoDBLogStore commit entries for ${found.tablePath} (latest version ${found.version}), so a writer such as Delta Spark commits this table through DynamoDB; configure commitProtocol 's3-dynamodb' with dynamodb.tablePath ${found.tablePath} and this DynamoDB table and region (--commit-protocol s3-dynamodb --dynamodb-table ${tableName} --dynamodb-table-path ${found.tablePath}${
      region === undefined ? "" : ` --dynamodb-region ${region}`
    }). If no writer uses S3DynamoDBLogStore any more, delete those entries or wait for their TTL`,
    found.tablePath,
  );
}

/**
 * Registers the `s3://` storage scheme and the `s3` and `s3-dynamodb` commit protocols (see the
 * module doc). Calling it again replaces the earlier registration (new S3 options). Returns a
 * function that restores what was registered before.
 *
 * @example
 * ```ts
 * import { openStorage } from "../core/storage/open.ts";
 * import { registerAws } from "./register_aws.ts";
 * const unregister = registerAws({ s3: { endpoint: "http://127.0.0.1:9000", region: "us-east-1" } });
 * try {
 *   const storage = openStorage("s3://lake/tables/events"); // no request is sent yet
 *   if (storage.location !== "s3://lake/tables/events") throw new Error(storage.location);
 * } finally {
 *   unregister();
 * }
 * ```
 */
export function registerAws(options: RegisterAwsOptions = {}): () => void {
  const restores = [
    registerStorageScheme("s3", s3StorageFactory(options.s3)),
    registerCommitProtocol("s3", async (storage, config) => {
      if (config.dynamodb !== undefined) await assertNoDynamoDBEntries(storage, config.dynamodb);
      return createPutIfAbsentProtocol(storage, "s3");
    }),
    registerCommitProtocol("s3-dynamodb", async (storage, config) => {
      if (config.dynamodb === undefined) {
        throw new InvalidArgumentError(
          `Cannot write to ${storage.location}: commit protocol 's3-dynamodb' needs DynamoDB settings`,
        );
      }
      const { createS3DynamoDBLogStore } = await import("./dynamodb_log_store.ts");
      const store = createS3DynamoDBLogStore({ ...storeOptions(config.dynamodb), storage });
      await store.checkTablePathVariants();
      return store;
    }),
  ];
  return () => {
    for (const restore of restores.reverse()) restore();
  };
}
