/**
 * The AWS module of lakestrike: the S3 storage backend, the `s3-dynamodb` commit protocol (Delta
 * Spark's `S3DynamoDBLogStore`) and a DynamoDB maintenance lock. The core does not import it, so a
 * program that only reads local tables never loads the AWS SDK. Call {@linkcode registerAws} once
 * at start to make `openStorage("s3://...")` and the `s3` and `s3-dynamodb` protocols of
 * `resolveCommitProtocol` available.
 *
 * @example
 * ```ts
 * import { openStorage } from "../core/storage/open.ts";
 * import { registerAws } from "./mod.ts";
 * registerAws();
 * const storage = openStorage("s3://lake/tables/events"); // configured the AWS way
 * if (storage.location !== "s3://lake/tables/events") throw new Error(storage.location);
 * ```
 *
 * @module
 */
export { registerAws, type RegisterAwsOptions } from "./register_aws.ts";
export {
  createS3Storage,
  type S3Operation,
  type S3Storage,
  s3StorageFactory,
  type S3StorageFactoryOptions,
  type S3StorageOptions,
} from "./s3_storage.ts";
export {
  dynamodbTablePath,
  dynamodbTablePathVariants,
  parseS3Uri,
  type S3Location,
} from "./s3_uri.ts";
export {
  createS3DynamoDBLogStore,
  DEFAULT_DYNAMODB_REGION,
  DEFAULT_DYNAMODB_TABLE,
  DEFAULT_EXPIRATION_DELAY_SECONDS,
  DynamoDBKeyConflictError,
  type DynamoDBSender,
  type ExternalCommitEntry,
  resolveDynamoDBRegion,
  type S3DynamoDBLogStore,
  type S3DynamoDBLogStoreOptions,
} from "./dynamodb_log_store.ts";
export {
  createDynamoDbLock,
  createDynamoDbLockTable,
  type DynamoDbLockOptions,
} from "./dynamodb_lock.ts";
