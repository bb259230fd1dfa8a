/**
 * S3 locations as text: `s3://bucket/prefix` URIs and the DynamoDB key of a table in the
 * `s3-dynamodb` protocol. No AWS SDK here, so the config checks may use them without loading it.
 *
 * @module
 */
import { InvalidArgumentError } from "../core/errors.ts";
import { validatePath } from "../core/storage/path.ts";

/** Bucket and key prefix of an `s3://` URI. */
export interface S3Location {
  /** Bucket name. */
  bucket: string;
  /** Key prefix, `""` or without leading and trailing `/`. */
  prefix: string;
}

/**
 * Parse `s3://bucket` or `s3://bucket/some/prefix/` into bucket and key prefix (leading and
 * trailing `/` removed). Throws {@linkcode InvalidArgumentError} for anything else.
 *
 * @example
 * ```ts
 * import { parseS3Uri } from "./s3_uri.ts";
 * const { bucket, prefix } = parseS3Uri("s3://lake/tables/events/");
 * if (bucket !== "lake" || prefix !== "tables/events") throw new Error("bad parse");
 * ```
 */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/.exec(uri);
  if (match === null) {
    throw new InvalidArgumentError(
      `Cannot open ${JSON.stringify(uri)}: not an s3://bucket/prefix URI`,
    );
  }
  const bucket = match[1] ?? "";
  validateBucket(bucket, uri);
  // The prefix is taken literally, without percent-decoding: `%` is a valid key character.
  const prefix = normalizePrefix(match[2] ?? "", uri);
  return { bucket, prefix };
}

const S3_SCHEME_RE = /^(s3|s3a|s3n):\/\//i;

/**
 * The DynamoDB key of a table at `uri` (`s3://`, `s3a://` or `s3n://`) in the `s3-dynamodb`
 * commit protocol, as Spark's `S3DynamoDBLogStore` writes it: the Hadoop path of the table, which
 * has no trailing slash except at the root of a bucket. The scheme is kept (it is part of the
 * key); use the one the other writers open the table with.
 *
 * @throws {InvalidArgumentError} when `uri` is not an S3 URI
 *
 * @example
 * ```ts
 * import { dynamodbTablePath } from "./s3_uri.ts";
 * if (dynamodbTablePath("s3a://lake/events/") !== "s3a://lake/events") throw new Error("path");
 * if (dynamodbTablePath("s3a://lake") !== "s3a://lake/") throw new Error("bucket root");
 * ```
 */
export function dynamodbTablePath(uri: string): string {
  const scheme = S3_SCHEME_RE.exec(uri)?.[1]?.toLowerCase();
  let location: S3Location | undefined;
  try {
    if (scheme !== undefined) location = parseS3Uri(`s3://${uri.slice(scheme.length + 3)}`);
  } catch { /* reported below */ }
  if (location === undefined) {
    throw new InvalidArgumentError(
      `Invalid DynamoDB tablePath ${
        JSON.stringify(uri)
      }: expected s3a://bucket/path (or s3://, s3n://)`,
    );
  }
  return `${scheme}://${location.bucket}/${location.prefix}`;
}

/**
 * Every key another writer may use for the table at `location`: its Hadoop path under `s3`, `s3a`
 * and `s3n`, and at a bucket root also without the trailing slash (the key of delta-rs and of
 * lakestrike before ADR 0017). Empty for a location that is not on S3.
 *
 * @example
 * ```ts
 * import { dynamodbTablePathVariants } from "./s3_uri.ts";
 * const keys = dynamodbTablePathVariants("s3://lake/events");
 * if (!keys.includes("s3a://lake/events") || keys.length !== 3) throw new Error("variants");
 * ```
 */
export function dynamodbTablePathVariants(location: string): string[] {
  if (!S3_SCHEME_RE.test(location)) return [];
  const path = dynamodbTablePath(location);
  const rest = path.slice(path.indexOf("://") + 3);
  const keys: string[] = [];
  for (const scheme of ["s3", "s3a", "s3n"]) {
    keys.push(`${scheme}://${rest}`);
    if (rest.endsWith("/")) keys.push(`${scheme}://${rest.slice(0, -1)}`);
  }
  return keys;
}

/**
 * S3 bucket naming rules (general purpose buckets): 3-63 of `a-z 0-9 . -`, alphanumeric ends.
 *
 * @throws {InvalidArgumentError} naming `uri`
 */
export function validateBucket(bucket: string, uri: string): void {
  if (typeof bucket !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidArgumentError(
      `Cannot open ${JSON.stringify(uri)}: ${JSON.stringify(bucket)} is not a valid bucket name`,
    );
  }
}

/**
 * A key prefix without leading and trailing `/`, `""` for none.
 *
 * @throws {InvalidArgumentError} naming `uri` when the prefix is no valid key path
 */
export function normalizePrefix(prefix: string, uri: string): string {
  let start = 0;
  let end = prefix.length;
  while (start < end && prefix[start] === "/") start++;
  while (end > start && prefix[end - 1] === "/") end--;
  const trimmed = prefix.slice(start, end);
  if (trimmed === "") return "";
  try {
    validatePath(trimmed);
  } catch {
    throw new InvalidArgumentError(
      `Cannot open ${JSON.stringify(uri)}: ${JSON.stringify(prefix)} is not a valid key prefix`,
    );
  }
  return trimmed;
}
