/**
 * The S3 backend of {@linkcode ObjectStorage}, on `@aws-sdk/client-s3`, for `s3://bucket/prefix`
 * table URIs. It works on AWS S3 and on S3-compatible stores that support conditional writes
 * (`If-None-Match: *` on `PutObject`).
 *
 * How the contract's guarantees are met:
 *
 * * **atomic visibility** — S3 makes an object visible only once `PutObject` completed;
 * * **mutual exclusion** — `put` with `ifAbsent` sends `If-None-Match: *`; S3 answers
 *   `412 PreconditionFailed` to every writer but the first, which `put` returns as
 *   `{ ok: false, reason: "exists" }`. A `409 ConditionalRequestConflict` (two conditional writes
 *   of one key in flight) is retried;
 * * **durability** — S3 acknowledges a `PutObject` only once it is stored durably;
 * * **consistent listing** — S3 lists with strong read-after-write consistency (since December
 *   2020); `list` follows every `ListObjectsV2` page.
 *
 * Retries: every request is tried at most `maxAttempts` times (default 5). 500, 502, 503, 504,
 * 429, `SlowDown`, throttling codes and network errors are retried after a jittered exponential
 * backoff ("full jitter": a random delay in `[0, min(cap, base * 2^(attempt - 1)))`). The SDK's own
 * retries are switched off (`maxAttempts: 1` on the client this module creates) so requests are not
 * retried twice; a caller-supplied `client` keeps its own retry strategy, on top of this one.
 *
 * A retried put-if-absent is ambiguous: the earlier attempt may have written the object before the
 * connection broke, and the retry then gets 412. When an earlier attempt failed in a way that may
 * have taken effect (a network error, 500, 502, 504), a 412 makes `put` read the object back and
 * report `{ ok: true }` when it holds exactly the bytes of this put.
 *
 * Configuration follows the AWS SDK: credentials from the standard chain (environment, shared
 * config and credentials files, SSO, container and instance metadata), region from `AWS_REGION`
 * or the config file, endpoint from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` unless `endpoint`
 * is given. Path-style addressing (`http://host/bucket/key`) is switched on by default when an
 * `endpoint` option is given, because S3-compatible stores (MinIO, moto, Ceph) rarely have wildcard
 * DNS for virtual-hosted buckets; the SDK also uses path style by itself for IP-address endpoints.
 * Set `forcePathStyle` to override either default.
 *
 * `lastModifiedMs` is truncated to whole seconds: `HeadObject` answers with an HTTP date (second
 * precision) while `ListObjectsV2` has milliseconds, and `head` and `list` must agree.
 *
 * @module
 */

import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { mapBounded } from "../core/concurrency.ts";
import { InvalidArgumentError, LakestrikeError, NotFoundError } from "../core/errors.ts";
import {
  validateLimit,
  validatePath,
  validatePrefix,
  validateRange,
} from "../core/storage/path.ts";
import { normalizePrefix, parseS3Uri, validateBucket } from "./s3_uri.ts";
import type {
  ListOptions,
  ObjectMeta,
  ObjectStorage,
  PutOptions,
  PutResult,
} from "../core/storage/storage.ts";

/** Options of {@linkcode createS3Storage}. */
export interface S3StorageOptions {
  /** Bucket name. */
  bucket: string;
  /** Key prefix of the storage root inside the bucket, without leading or trailing `/`. */
  prefix?: string;
  /** A ready client; when given, `endpoint`, `region`, `forcePathStyle` and `credentials` are ignored. */
  client?: S3Client;
  /** Endpoint URL of an S3-compatible store, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  /** AWS region; default: the SDK's (`AWS_REGION`, config file). */
  region?: string;
  /** Path-style addressing; default: true when `endpoint` is given, otherwise the SDK's choice. */
  forcePathStyle?: boolean;
  /** Credentials or a provider; default: the SDK's standard credential chain. */
  credentials?: S3ClientConfig["credentials"];
  /** Attempts per request, at least 1; default 5. */
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts; default 50 ms. */
  retryBaseDelayMs?: number;
  /** Cap of one backoff delay; default 2,000 ms. */
  retryMaxDelayMs?: number;
  /** How many `DeleteObjects` batches of up to 1,000 keys run at once; default 4. */
  deleteConcurrency?: number;
  /** Called before every HTTP request (every attempt) with the S3 operation name, e.g. `PutObject`. */
  onRequest?: (command: S3Operation) => void;
}

/** The S3 operations this backend sends. */
export type S3Operation =
  | "GetObject"
  | "HeadObject"
  | "ListObjectsV2"
  | "PutObject"
  | "DeleteObjects";

/** An {@linkcode ObjectStorage} on S3, with the bucket and key prefix it is rooted at. */
export interface S3Storage extends ObjectStorage {
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix of the root, `""` or without leading and trailing `/`. */
  readonly prefix: string;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_RETRY_BASE_DELAY_MS = 50;
const DEFAULT_RETRY_MAX_DELAY_MS = 2_000;
const DEFAULT_DELETE_CONCURRENCY = 4;
/** S3's limit of keys per `DeleteObjects` and per `ListObjectsV2` page. */
const KEYS_PER_REQUEST_MAX = 1_000;
/** Bound of `ListObjectsV2` pages of one `list` call (10 million keys). */
const LIST_PAGES_MAX = 10_000;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** Statuses after which the failed request may still have taken effect. */
const AMBIGUOUS_STATUS = new Set([500, 502, 504]);
const RETRYABLE_CODES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "ServiceUnavailable",
]);

/**
 * Create a storage rooted at `s3://bucket/prefix`. See the module doc for retries, configuration
 * and path-style addressing.
 *
 * @example
 * ```ts ignore
 * import { createS3Storage } from "./s3_storage.ts";
 * const storage = createS3Storage({
 *   bucket: "lake",
 *   prefix: "tables/events",
 *   endpoint: "http://127.0.0.1:5000", // an S3-compatible store; omit for AWS
 * });
 * const put = await storage.put("_delta_log/00000000000000000000.json", new Uint8Array([1]), {
 *   ifAbsent: true,
 * });
 * console.log(storage.location, put.ok); // s3://lake/tables/events true
 * ```
 */
export function createS3Storage(options: S3StorageOptions): S3Storage {
  const bucket = options.bucket;
  validateBucket(bucket, `s3://${bucket}`);
  const prefix = normalizePrefix(options.prefix ?? "", `s3://${bucket}/${options.prefix ?? ""}`);
  const root = prefix === "" ? "" : `${prefix}/`;
  const location = prefix === "" ? `s3://${bucket}` : `s3://${bucket}/${prefix}`;
  const maxAttempts = positiveInteger(options.maxAttempts, DEFAULT_MAX_ATTEMPTS, "maxAttempts");
  const deleteConcurrency = positiveInteger(
    options.deleteConcurrency,
    DEFAULT_DELETE_CONCURRENCY,
    "deleteConcurrency",
  );
  const baseDelayMs = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
  const maxDelayMs = options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
  const client = options.client ?? createClient(options);
  const onRequest = options.onRequest;

  /**
   * Send one request with retries. `attempt` builds and sends the command and may itself turn an
   * error into a value (404 into `undefined`, 412 into "exists"); `retryAlso` marks further errors
   * as retryable for this operation.
   */
  async function send<T>(
    operation: S3Operation,
    verb: string,
    path: string,
    attempt: () => Promise<T>,
    retryAlso?: (e: S3Failure) => boolean,
  ): Promise<T> {
    for (let n = 1;; n++) {
      onRequest?.(operation);
      try {
        return await attempt();
      } catch (e) {
        const failure = describeFailure(e);
        const retryable = failure.retryable || (retryAlso?.(failure) ?? false);
        if (!retryable || n >= maxAttempts) {
          throw storageError(verb, path, failure, n, e);
        }
        await sleep(backoffMs(n, baseDelayMs, maxDelayMs));
      }
    }
  }

  const key = (path: string) => root + path;

  async function readBody(path: string, range: string | undefined): Promise<Uint8Array> {
    return await send("GetObject", "read", path, async () => {
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key(path),
            ...(range === undefined ? {} : { Range: range }),
          }),
        );
        if (res.Body === undefined) return new Uint8Array(0);
        return await res.Body.transformToByteArray();
      } catch (e) {
        const failure = describeFailure(e);
        if (failure.status === 404) throw new NotFoundError(path);
        // Real S3 answers 416 to a range that starts at or after the end of the object.
        if (failure.status === 416 || failure.code === "InvalidRange") return new Uint8Array(0);
        throw e;
      }
    });
  }

  async function headObject(path: string): Promise<ObjectMeta | undefined> {
    return await send("HeadObject", "stat", path, async () => {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(path) }));
        return {
          path,
          size: res.ContentLength ?? 0,
          lastModifiedMs: wholeSecondsMs(res.LastModified),
        };
      } catch (e) {
        if (describeFailure(e).status === 404) return undefined;
        throw e;
      }
    });
  }

  async function putObject(path: string, bytes: Uint8Array, ifAbsent: boolean): Promise<PutResult> {
    // Copy so that a caller changing its buffer during a retry cannot change what is stored.
    const body = bytes.slice();
    let ambiguous = false;
    const result = await send(
      "PutObject",
      "put",
      path,
      async () => {
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key(path),
              Body: body,
              ContentLength: body.length,
              ...(ifAbsent ? { IfNoneMatch: "*" } : {}),
            }),
          );
          return "ok" as const;
        } catch (e) {
          const failure = describeFailure(e);
          if (ifAbsent && (failure.status === 412 || failure.code === "PreconditionFailed")) {
            return "exists" as const;
          }
          if (failure.status === undefined || AMBIGUOUS_STATUS.has(failure.status)) {
            ambiguous = true;
          }
          throw e;
        }
      },
      (failure) => ifAbsent && failure.code === "ConditionalRequestConflict",
    );
    if (result === "ok") return { ok: true };
    if (ambiguous && await holdsBytes(path, body)) return { ok: true };
    return { ok: false, reason: "exists" };
  }

  async function holdsBytes(path: string, bytes: Uint8Array): Promise<boolean> {
    try {
      const stored = await readBody(path, undefined);
      return stored.length === bytes.length && stored.every((b, i) => b === bytes[i]);
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async function listObjects(
    listPrefix: string,
    startAfter: string | undefined,
    limit: number,
  ): Promise<ObjectMeta[]> {
    const out: ObjectMeta[] = [];
    let token: string | undefined;
    for (let page = 0; out.length < limit; page++) {
      if (page >= LIST_PAGES_MAX) {
        throw new LakestrikeError(
          "STORAGE",
          `Cannot list ${location}/${listPrefix}: more than ${LIST_PAGES_MAX} pages`,
        );
      }
      const res = await send("ListObjectsV2", "list", listPrefix || "/", () =>
        client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: root + listPrefix,
            MaxKeys: Math.min(KEYS_PER_REQUEST_MAX, limit - out.length),
            ...(token !== undefined
              ? { ContinuationToken: token }
              : startAfter !== undefined
              ? { StartAfter: root + startAfter }
              : {}),
          }),
        ));
      for (const object of res.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(root)) continue;
        if (out.length >= limit) break;
        out.push({
          path: object.Key.slice(root.length),
          size: object.Size ?? 0,
          lastModifiedMs: wholeSecondsMs(object.LastModified),
        });
      }
      if (res.IsTruncated !== true || res.NextContinuationToken === undefined) break;
      token = res.NextContinuationToken;
    }
    return out;
  }

  /** Delete one batch of at most 1,000 paths, retrying keys S3 reports as retryable failures. */
  async function deleteBatch(paths: readonly string[]): Promise<void> {
    let pending = paths;
    for (let n = 1; pending.length > 0; n++) {
      const res = await send("DeleteObjects", "delete", pending[0] as string, () =>
        client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: pending.map((p) => ({ Key: key(p) })), Quiet: true },
          }),
        ));
      const retry: string[] = [];
      for (const error of res.Errors ?? []) {
        const path = (error.Key ?? "").slice(root.length);
        if (error.Code === "NoSuchKey") continue; // already gone: delete is idempotent
        if (error.Code !== undefined && RETRYABLE_CODES.has(error.Code) && n < maxAttempts) {
          retry.push(path);
          continue;
        }
        throw new LakestrikeError(
          "STORAGE",
          `Cannot delete ${path}: S3 answered ${error.Code ?? "an error"}${
            error.Message ? ` (${error.Message})` : ""
          } after ${n} attempt${n === 1 ? "" : "s"}`,
        );
      }
      if (retry.length > 0) await sleep(backoffMs(n, baseDelayMs, maxDelayMs));
      pending = retry;
    }
  }

  return {
    location,
    bucket,
    prefix,
    async get(path) {
      validatePath(path);
      return await readBody(path, undefined);
    },
    async getRange(path, offset, length) {
      validatePath(path);
      validateRange(path, offset, length);
      if (length === 0) {
        // An HTTP range cannot be empty; still report a missing object as missing.
        if (await headObject(path) === undefined) throw new NotFoundError(path);
        return new Uint8Array(0);
      }
      return await readBody(path, `bytes=${offset}-${offset + length - 1}`);
    },
    async head(path) {
      validatePath(path);
      return await headObject(path);
    },
    async list(listPrefix: string, listOptions: ListOptions = {}) {
      validatePrefix(listPrefix);
      const limit = validateLimit(listPrefix, listOptions.limit);
      if (limit === 0) return [];
      return await listObjects(listPrefix, listOptions.startAfter, limit);
    },
    async put(path: string, bytes: Uint8Array, putOptions: PutOptions = {}) {
      validatePath(path);
      return await putObject(path, bytes, putOptions.ifAbsent === true);
    },
    async delete(paths) {
      for (const path of paths) validatePath(path);
      const unique = [...new Set(paths)];
      const batches: string[][] = [];
      for (let i = 0; i < unique.length; i += KEYS_PER_REQUEST_MAX) {
        batches.push(unique.slice(i, i + KEYS_PER_REQUEST_MAX));
      }
      await mapBounded(batches, deleteConcurrency, (batch) => deleteBatch(batch));
    },
  };
}

/** Options of {@linkcode s3StorageFactory}: those of {@linkcode createS3Storage} but the location. */
export type S3StorageFactoryOptions = Omit<S3StorageOptions, "bucket" | "prefix">;

/**
 * A factory of S3 storages from `s3://bucket/prefix` URIs, for `registerStorageScheme` of
 * `core/storage/open.ts` (`registerAws` does so). All storages it makes share one client (one connection pool), created on first use
 * from `options` and the AWS environment.
 *
 * @example
 * ```ts
 * import { s3StorageFactory } from "./s3_storage.ts";
 * const open = s3StorageFactory({ endpoint: "http://127.0.0.1:9000", region: "us-east-1" });
 * const storage = open("s3://lake/tables/events"); // no request is sent yet
 * if (storage.location !== "s3://lake/tables/events") throw new Error(storage.location);
 * ```
 */
export function s3StorageFactory(
  options: S3StorageFactoryOptions = {},
): (uri: string) => S3Storage {
  let client = options.client;
  return (uri) => {
    const location = parseS3Uri(uri);
    client ??= createClient(options);
    return createS3Storage({ ...options, ...location, client });
  };
}

function createClient(options: S3StorageFactoryOptions): S3Client {
  const forcePathStyle = options.forcePathStyle ??
    (options.endpoint !== undefined ? true : undefined);
  return new S3Client({
    // Retries happen in this module, with a bound and an error message that counts attempts.
    maxAttempts: 1,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(forcePathStyle !== undefined ? { forcePathStyle } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

/** What this module needs to know of a failed SDK call. */
interface S3Failure {
  /** HTTP status; `undefined` when no answer came (network error, timeout). */
  status: number | undefined;
  /** S3 error code (`SlowDown`) or the error's name (`ECONNREFUSED`, `TimeoutError`). */
  code: string;
  message: string;
  retryable: boolean;
}

function describeFailure(e: unknown): S3Failure {
  const err = e as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const rawStatus = err?.$metadata?.httpStatusCode;
  const status = typeof rawStatus === "number" ? rawStatus : undefined;
  const code = typeof err?.Code === "string"
    ? err.Code
    : typeof err?.code === "string"
    ? err.code
    : typeof err?.name === "string"
    ? err.name
    : "Error";
  const message = typeof err?.message === "string" ? err.message : String(e);
  const ours = e instanceof LakestrikeError;
  const retryable = !ours &&
    (status === undefined || RETRYABLE_STATUS.has(status) || RETRYABLE_CODES.has(code));
  return { status, code, message, retryable };
}

function storageError(
  verb: string,
  path: string,
  failure: S3Failure,
  attempts: number,
  cause: unknown,
): Error {
  if (cause instanceof LakestrikeError) return cause;
  const answer = failure.status === undefined
    ? `no answer from S3 (${failure.code}: ${failure.message})`
    : `S3 answered ${failure.status} ${failure.code}`;
  return new LakestrikeError(
    "STORAGE",
    `Cannot ${verb} ${path}: ${answer} after ${attempts} attempt${attempts === 1 ? "" : "s"}`,
    { cause },
  );
}

/** Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function wholeSecondsMs(date: Date | undefined): number {
  if (date === undefined) return 0;
  return Math.floor(date.getTime() / 1000) * 1000;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `Cannot create S3 storage: ${name} ${value} is not a positive integer`,
    );
  }
  return value;
}
