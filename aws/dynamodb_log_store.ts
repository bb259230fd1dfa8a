/**
 * The `s3-dynamodb` commit protocol: Delta Spark's `S3DynamoDBLogStore` (`BaseExternalLogStore`),
 * also spoken by delta-rs up to 0.32 / Python 1.6.0, byte-compatible so that those writers can
 * share a table with lakestrike. DynamoDB gives the mutual exclusion per version that S3 without
 * conditional PUT lacks.
 *
 * One DynamoDB item per commit, in table `delta_log` (configurable):
 *
 * | attribute    | type | value                                                          |
 * |--------------|------|----------------------------------------------------------------|
 * | `tablePath`  | S    | hash key: the table's Hadoop path (`s3a://bucket/path`, below)  |
 * | `fileName`   | S    | range key: `%020d.json`                                        |
 * | `tempPath`   | S    | temp file relative to `_delta_log/`: `.tmp/N.json.<uuid>`      |
 * | `complete`   | S    | `"true"` or `"false"`                                          |
 * | `expireTime` | N    | epoch seconds, set when complete (TTL attribute)               |
 *
 * Commit of version N (Spark's steps; the writer keeps the bytes, so its copy is a PUT):
 *
 * ```
 *  HEAD N.json ──exists──▶ "exists" (a stale writer creates no entry and no temp file)
 *         │
 *  entry N-1 incomplete? ──yes──▶ repair N-1
 *         │ no: HEAD N-1.json ──missing──▶ COMMIT_FAILED (nothing written)
 *         │ (both skipped when this writer wrote or repaired N-1 itself)
 *  PUT _delta_log/.tmp/N.json.<uuid>
 *         │
 *  PutItem(N, tempPath, complete="false") if attribute_not_exists(fileName)
 *         │ ConditionalCheckFailed ──▶ repair entry N if incomplete ──▶ "exists"
 *         ▼ (the commit is decided here: a crash after this point is finished by any reader)
 *  PUT N.json if absent (from memory; a repairer GETs the temp file)
 *         │
 *  UpdateItem(N) SET complete="true", expireTime=now+86400 if complete = "false"
 *         ▼
 *     "committed"
 * ```
 *
 * Any reader or writer that finds the latest entry incomplete repairs it (copy temp to `N.json` if
 * absent, mark complete) before listing the log: {@linkcode S3DynamoDBLogStore.repair}.
 *
 * Spark qualifies `tablePath` with the scheme the table was opened with: `s3a://` on open-source
 * Hadoop (S3A), `s3://` on EMR; delta-rs uses the URL as given (normally `s3://`). The key must be
 * byte-equal for every writer of a table, so set {@linkcode S3DynamoDBLogStoreOptions.tablePath}
 * to `s3a://bucket/path` when sharing a table with Spark on S3A.
 *
 * Throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`,
 * `RequestLimitExceeded`, HTTP 5xx, network errors) is retried with full-jitter exponential
 * backoff, bounded; an exhausted budget is a `COMMIT_FAILED` error, never a crash.
 *
 * @module
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type Clock, systemClock } from "../core/clock.ts";
import {
  CorruptLogError,
  InvalidArgumentError,
  isLakestrikeError,
  LakestrikeError,
} from "../core/errors.ts";
import { dynamodbTablePath, dynamodbTablePathVariants } from "./s3_uri.ts";

export { dynamodbTablePath, dynamodbTablePathVariants };
import type { ObjectStorage } from "../core/storage/storage.ts";
import type { CommitFileOutcome, CommitProtocol } from "../core/log/commit_protocol.ts";
import { commitPath, formatVersion, LOG_DIR } from "../core/log/paths.ts";

/** Default DynamoDB table (Spark's `ddb.tableName`, delta-rs's `DELTA_DYNAMO_TABLE_NAME`). */
export const DEFAULT_DYNAMODB_TABLE = "delta_log";
/** Default DynamoDB region: Spark's `ddb.region` default (Spark ignores `AWS_REGION`). */
export const DEFAULT_DYNAMODB_REGION = "us-east-1";
/**
 * Seconds a complete entry lives before DynamoDB TTL may delete it: one day, Spark's
 * `DEFAULT_EXTERNAL_ENTRY_EXPIRATION_DELAY_SECONDS` (shorter values can lose data on stores
 * without put-if-absent, see `BaseExternalLogStore`).
 */
export const DEFAULT_EXPIRATION_DELAY_SECONDS = 86_400;
/** Default attempts of one DynamoDB request under throttling. */
export const DEFAULT_THROTTLE_ATTEMPTS_MAX = 8;
/** Attempts to repair one entry (Spark's `fixDeltaLog` and delta-rs: 3 retries). */
export const REPAIR_ATTEMPTS_MAX = 4;

/** The part of a DynamoDB client this protocol uses (lets tests inject faults). */
export interface DynamoDBSender {
  // deno-lint-ignore no-explicit-any
  send(command: any): Promise<any>;
}

/** One DynamoDB item of the protocol, decoded. */
export interface ExternalCommitEntry {
  /** Hash key: the table's Hadoop path ({@linkcode dynamodbTablePath}). */
  tablePath: string;
  /** Range key: `%020d.json`. */
  fileName: string;
  /** The version `fileName` names. */
  version: number;
  /** Temp file of the commit, relative to `_delta_log/`. */
  tempPath: string;
  /** True once `fileName` exists in `_delta_log/`. */
  complete: boolean;
  /** Epoch seconds after which the entry may be deleted; set when complete. */
  expireTime?: number;
}

/** Options of {@linkcode createS3DynamoDBLogStore}. */
export interface S3DynamoDBLogStoreOptions {
  /** The table's storage, rooted at the table. */
  storage: ObjectStorage;
  /** DynamoDB table name; default {@linkcode DEFAULT_DYNAMODB_TABLE}. */
  tableName?: string;
  /**
   * Hash key of this table: an `s3://`, `s3a://` or `s3n://` URI of the same bucket and prefix as
   * the storage, written in Hadoop's form by {@linkcode dynamodbTablePath}. Default: the storage
   * location in that form (`s3://bucket/path`, `s3://bucket/` at a bucket root).
   */
  tablePath?: string;
  /** DynamoDB client; default a `DynamoDBClient` for `endpoint` and `region`. */
  client?: DynamoDBSender;
  /** DynamoDB endpoint URL (DynamoDB Local); default the SDK's. */
  endpoint?: string;
  /** AWS region of the DynamoDB table; default {@linkcode resolveDynamoDBRegion}'s. */
  region?: string;
  /** Lifetime of complete entries; default {@linkcode DEFAULT_EXPIRATION_DELAY_SECONDS}. */
  expirationDelaySeconds?: number;
  /** Attempts of one request under throttling; default {@linkcode DEFAULT_THROTTLE_ATTEMPTS_MAX}. */
  throttleAttemptsMax?: number;
  /** First backoff delay; default 25 ms (doubles per attempt, full jitter). */
  backoffBaseMs?: number;
  /** Largest backoff delay; default 2000 ms. */
  backoffMaxMs?: number;
  /**
   * How the temp file becomes `N.json`: `put-if-absent` (default; a conditional PUT, as on S3
   * since 2024) or `head-then-put` (Spark's S3A `create(overwrite=false)`, for stores without
   * conditional PUT, where DynamoDB is the only mutual exclusion).
   */
  copyMode?: "put-if-absent" | "head-then-put";
  /** Source of `expireTime`; default the system clock. */
  clock?: Clock;
  /** Test hooks. */
  hooks?: {
    /** Runs after this writer's entry is created and before the copy (crash tests). */
    afterEntryCreated?(version: number): void | Promise<void>;
  };
}

/** The `s3-dynamodb` commit protocol of one table. */
export interface S3DynamoDBLogStore extends CommitProtocol {
  readonly name: "s3-dynamodb";
  /** DynamoDB table name. */
  readonly tableName: string;
  /** Hash key of this table. */
  readonly tablePath: string;
  /** Region of the DynamoDB table; `undefined` when the client was given. */
  readonly region: string | undefined;
  /**
   * Refuse this key while another spelling of the same table ({@linkcode dynamodbTablePathVariants})
   * holds an entry at least as new as this key's newest: another writer keys the table
   * differently, and two keys are two locks.
   *
   * @throws {DynamoDBKeyConflictError}
   */
  checkTablePathVariants(): Promise<void>;
  /** Repair the latest entry if incomplete. */
  repair(): Promise<void>;
  /** Repair the latest entry if incomplete and return its version. */
  latestVersionHint(): Promise<number | undefined>;
  /** The entry of `version`, read consistently. */
  getEntry(version: number): Promise<ExternalCommitEntry | undefined>;
  /** The entry with the highest `fileName`, read consistently. */
  getLatestEntry(): Promise<ExternalCommitEntry | undefined>;
  /** Copy the entry's temp file to `N.json` if absent and mark it complete. */
  repairEntry(entry: ExternalCommitEntry): Promise<void>;
}

const RETRYABLE_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
]);

/**
 * True when a DynamoDB error may succeed if retried: throttling, HTTP 5xx, network failures.
 *
 * @example
 * ```ts
 * import { isRetryableDynamoDBError } from "./dynamodb_log_store.ts";
 * const throttled = Object.assign(new Error("slow down"), { name: "ThrottlingException" });
 * if (!isRetryableDynamoDBError(throttled)) throw new Error("throttling is retried");
 * if (isRetryableDynamoDBError(new RangeError("bug"))) throw new Error("bugs are not retried");
 * ```
 */
export function isRetryableDynamoDBError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (RETRYABLE_NAMES.has(e.name)) return true;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 500) return true;
  // fetch and socket failures: the request may or may not have reached DynamoDB.
  return e.name === "TypeError" || /ECONNRESET|ECONNREFUSED|socket|network/i.test(e.message);
}

function isConditionalCheckFailed(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException ||
    (e instanceof Error && e.name === "ConditionalCheckFailedException");
}

/**
 * Encode an entry as the DynamoDB item Spark and delta-rs write.
 *
 * @example
 * ```ts
 * import { entryToItem } from "./dynamodb_log_store.ts";
 * const item = entryToItem({
 *   tablePath: "s3://b/t", fileName: "00000000000000000003.json", version: 3,
 *   tempPath: ".tmp/00000000000000000003.json.u", complete: true, expireTime: 86400,
 * });
 * if (item.complete?.S !== "true" || item.expireTime?.N !== "86400") throw new Error("bad item");
 * ```
 */
export function entryToItem(entry: ExternalCommitEntry): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    tablePath: { S: entry.tablePath },
    fileName: { S: entry.fileName },
    tempPath: { S: entry.tempPath },
    complete: { S: entry.complete ? "true" : "false" },
  };
  if (entry.expireTime !== undefined) item.expireTime = { N: String(entry.expireTime) };
  return item;
}

const FILE_NAME_RE = /^(\d{20})\.json$/;

/**
 * Decode a DynamoDB item of the protocol.
 *
 * @throws {CorruptLogError} when a mandatory attribute is missing or has the wrong type
 */
export function itemToEntry(item: Record<string, AttributeValue>): ExternalCommitEntry {
  const str = (name: string): string => {
    const v = item[name]?.S;
    if (v === undefined) {
      throw new CorruptLogError(
        `Cannot read DynamoDB commit entry: string attribute ${name} missing`,
      );
    }
    return v;
  };
  const fileName = str("fileName");
  const m = FILE_NAME_RE.exec(fileName);
  if (m === null) {
    throw new CorruptLogError(`Cannot read DynamoDB commit entry: bad fileName ${fileName}`);
  }
  const entry: ExternalCommitEntry = {
    tablePath: str("tablePath"),
    fileName,
    version: Number(m[1]),
    tempPath: str("tempPath"),
    // Spark and delta-rs compare with "true" exactly; anything else is repaired (idempotent).
    complete: str("complete") === "true",
  };
  const expire = item.expireTime?.N;
  if (expire !== undefined) entry.expireTime = Number(expire);
  return entry;
}

/** The key of `tablePath` for a table stored at `location`, refusing another table's key. */
function checkedTablePath(location: string, tablePath: string | undefined): string {
  const variants = dynamodbTablePathVariants(location);
  if (tablePath === undefined) {
    // A location that is not on S3 (tests on memory storage) is its own key.
    return variants.length > 0 ? dynamodbTablePath(location) : location;
  }
  const key = dynamodbTablePath(tablePath);
  if (variants.length > 0 && !variants.includes(key)) {
    throw new InvalidArgumentError(
      `Invalid DynamoDB tablePath ${
        JSON.stringify(tablePath)
      }: it names another table than ${location}`,
    );
  }
  return key;
}

/**
 * The DynamoDB region of the `s3-dynamodb` protocol: `region` when given, else `us-east-1`, the
 * default of Spark's `spark.io.delta.storage.S3DynamoDBLogStore.ddb.region`. Spark ignores
 * `AWS_REGION`; when the environment names another region (`AWS_REGION`, `AWS_DEFAULT_REGION`)
 * the intent is ambiguous, so this refuses to guess.
 *
 * @throws {LakestrikeError} `INVALID_ARGUMENT` when no region is given and the environment names
 * one other than `us-east-1`
 *
 * @example
 * ```ts
 * import { resolveDynamoDBRegion } from "./dynamodb_log_store.ts";
 * if (resolveDynamoDBRegion("eu-west-1", () => undefined) !== "eu-west-1") throw new Error("given");
 * if (resolveDynamoDBRegion(undefined, () => undefined) !== "us-east-1") throw new Error("default");
 * ```
 */
export function resolveDynamoDBRegion(
  region: string | undefined,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  if (region !== undefined && region !== "") return region;
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const value = env(name);
    if (value !== undefined && value !== "" && value !== DEFAULT_DYNAMODB_REGION) {
      throw new LakestrikeError(
        "INVALID_ARGUMENT",
        `No DynamoDB region configured while ${name} is ${value}: Delta Spark's S3DynamoDBLogStore uses spark.io.delta.storage.S3DynamoDBLogStore.ddb.region (default ${DEFAULT_DYNAMODB_REGION}) and ignores ${name}; set the region every writer uses (config dynamodb.region, --dynamodb-region)`,
      );
    }
  }
  return DEFAULT_DYNAMODB_REGION;
}

/** Where to find the DynamoDB table of the protocol (see {@linkcode S3DynamoDBLogStoreOptions}). */
export interface DynamoDBTableOptions {
  /** DynamoDB table name; default {@linkcode DEFAULT_DYNAMODB_TABLE}. */
  tableName?: string;
  /** DynamoDB client; default a `DynamoDBClient` for `endpoint` and `region`. */
  client?: DynamoDBSender;
  /** DynamoDB endpoint URL (DynamoDB Local); default the SDK's. */
  endpoint?: string;
  /** AWS region; default {@linkcode resolveDynamoDBRegion}'s. */
  region?: string;
}

/** The client and region of `options` (a client is made when none is given). */
function senderOf(options: DynamoDBTableOptions): {
  client: DynamoDBSender;
  region: string | undefined;
} {
  if (options.client !== undefined) return { client: options.client, region: options.region };
  const region = resolveDynamoDBRegion(options.region);
  const client = new DynamoDBClient({
    region,
    // Retries are ours (bounded, jittered, and aware of unknown outcomes).
    maxAttempts: 1,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  });
  return { client, region };
}

async function queryLatestEntry(
  client: DynamoDBSender,
  tableName: string,
  tablePath: string,
): Promise<ExternalCommitEntry | undefined> {
  const out = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "tablePath = :tp",
      ExpressionAttributeValues: { ":tp": { S: tablePath } },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  ) as { Items?: Record<string, AttributeValue>[] };
  const item = out.Items?.[0];
  return item === undefined ? undefined : itemToEntry(item);
}

/** A missing DynamoDB table, as an error that says what to check. */
function missingTableError(
  what: string,
  tableName: string,
  region: string | undefined,
  e: unknown,
) {
  const where = region === undefined ? "" : ` in region ${region}`;
  return new LakestrikeError(
    "INVALID_ARGUMENT",
    `${what}: DynamoDB table ${tableName} does not exist${where}; every writer of a table must use the same DynamoDB table and region (Spark: spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName and .ddb.region), and deno task setup-dynamodb creates it`,
    { cause: e },
  );
}

function isMissingTable(e: unknown): boolean {
  return e instanceof Error && e.name === "ResourceNotFoundException";
}

/**
 * The newest entry under each of `keys` that has one, in the order of `keys`. A DynamoDB table that
 * does not exist holds none (Spark creates its table on first use, so no Spark writer used it).
 *
 * @example
 * ```ts ignore
 * import { findLatestEntries } from "./dynamodb_log_store.ts";
 * const found = await findLatestEntries({ region: "eu-west-1" }, ["s3a://lake/events"]);
 * ```
 */
export async function findLatestEntries(
  options: DynamoDBTableOptions,
  keys: readonly string[],
): Promise<ExternalCommitEntry[]> {
  const { client } = senderOf(options);
  const tableName = options.tableName ?? DEFAULT_DYNAMODB_TABLE;
  const found: ExternalCommitEntry[] = [];
  for (const key of new Set(keys)) {
    try {
      const latest = await queryLatestEntry(client, tableName, key);
      if (latest !== undefined) found.push(latest);
    } catch (e) {
      if (isMissingTable(e)) return [];
      throw e;
    }
  }
  return found;
}

/** DynamoDB entries show that the table is committed under another key or another protocol. */
export class DynamoDBKeyConflictError extends LakestrikeError {
  /** The key whose entries were found. */
  readonly foundTablePath: string;
  /** Create the error; `message` says what to configure. */
  constructor(message: string, foundTablePath: string) {
    super("INVALID_ARGUMENT", message);
    this.name = "DynamoDBKeyConflictError";
    this.foundTablePath = foundTablePath;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Create the `s3-dynamodb` protocol for one table. The DynamoDB table must exist (create it with
 * `deno task setup-dynamodb`).
 *
 * @example
 * ```ts ignore
 * import { createS3DynamoDBLogStore } from "./dynamodb_log_store.ts";
 * import { openStorage } from "../storage/mod.ts";
 * const storage = await openStorage("s3://bucket/events");
 * const protocol = createS3DynamoDBLogStore({ storage, endpoint: "http://127.0.0.1:8000" });
 * await protocol.repair(); // before loading the snapshot
 * ```
 */
export function createS3DynamoDBLogStore(options: S3DynamoDBLogStoreOptions): S3DynamoDBLogStore {
  const storage = options.storage;
  const tableName = options.tableName ?? DEFAULT_DYNAMODB_TABLE;
  const tablePath = checkedTablePath(storage.location, options.tablePath);
  const expirationDelaySeconds = options.expirationDelaySeconds ??
    DEFAULT_EXPIRATION_DELAY_SECONDS;
  if (!Number.isSafeInteger(expirationDelaySeconds) || expirationDelaySeconds < 0) {
    throw new LakestrikeError(
      "INVALID_ARGUMENT",
      `Invalid expirationDelaySeconds ${expirationDelaySeconds}: must be a non-negative integer`,
    );
  }
  const attemptsMax = Math.max(1, options.throttleAttemptsMax ?? DEFAULT_THROTTLE_ATTEMPTS_MAX);
  const backoffBaseMs = options.backoffBaseMs ?? 25;
  const backoffMaxMs = options.backoffMaxMs ?? 2000;
  const copyMode = options.copyMode ?? "put-if-absent";
  const clock = options.clock ?? systemClock;
  const hooks = options.hooks ?? {};
  const { client, region } = senderOf(options);
  // The newest version this instance wrote or repaired itself: its entry is complete and its
  // `N.json` exists, so the checks of version N-1 before writing N are skipped for it (steady
  // state of a single writer: no GetItem and no HEAD of N-1 per commit).
  let verifiedThrough = -1;

  /** Send with bounded full-jitter backoff on retryable errors. */
  async function send<T>(what: string, command: unknown): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await client.send(command) as T;
      } catch (e) {
        if (isMissingTable(e)) throw missingTableError(what, tableName, region, e);
        if (!isRetryableDynamoDBError(e)) throw e;
        if (attempt >= attemptsMax) {
          throw new LakestrikeError(
            "COMMIT_FAILED",
            `${what}: DynamoDB throttled after ${attempt} attempts (${(e as Error).name})`,
            { cause: e },
          );
        }
        const capMs = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, Math.random() * capMs));
      }
    }
  }

  function keyOf(version: number): Record<string, AttributeValue> {
    return { tablePath: { S: tablePath }, fileName: { S: `${formatVersion(version)}.json` } };
  }

  async function getEntry(version: number): Promise<ExternalCommitEntry | undefined> {
    const out = await send<{ Item?: Record<string, AttributeValue> }>(
      `Cannot read DynamoDB entry of version ${version}`,
      new GetItemCommand({ TableName: tableName, Key: keyOf(version), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : itemToEntry(out.Item);
  }

  function getLatestEntry(): Promise<ExternalCommitEntry | undefined> {
    return queryLatestEntry(
      { send: (command) => send(`Cannot read the latest DynamoDB entry of ${tablePath}`, command) },
      tableName,
      tablePath,
    );
  }

  async function checkTablePathVariants(): Promise<void> {
    const others = dynamodbTablePathVariants(storage.location).filter((k) => k !== tablePath);
    if (others.length === 0) return;
    const ours = await getLatestEntry();
    const found = await findLatestEntries({ client, tableName }, others);
    const newer = found.filter((e) => ours === undefined || e.version >= ours.version)
      .sort((a, b) => b.version - a.version)[0];
    if (newer === undefined) return;
    const where = `DynamoDB table ${tableName}${region === undefined ? "" : ` (region ${region})`}`;
    throw new DynamoDBKeyConflictError(
      `Cannot open ${storage.location}: ${where} holds commit entries for ${newer.tablePath} up to version ${newer.version}, ${
        ours === undefined
          ? `and none for ${tablePath}`
          : `newer than those for ${tablePath} (up to version ${ours.version})`
      }, the key this writer uses; another writer keys the table as ${newer.tablePath} (Delta Spark uses the path it opens the table with, s3a:// on S3A), and two keys are two locks. Set dynamodb.tablePath (--dynamodb-table-path) to ${newer.tablePath} here, or make every writer use ${tablePath}`,
      newer.tablePath,
    );
  }

  /** Mark the entry complete; an entry already complete is fine. */
  async function markComplete(version: number): Promise<void> {
    const expireTime = Math.floor(clock.nowMs() / 1000) + expirationDelaySeconds;
    try {
      await send(
        `Cannot mark version ${version} complete`,
        new UpdateItemCommand({
          TableName: tableName,
          Key: keyOf(version),
          UpdateExpression: "SET complete = :c, expireTime = :e",
          ConditionExpression: "complete = :f",
          ExpressionAttributeValues: {
            ":c": { S: "true" },
            ":e": { N: String(expireTime) },
            ":f": { S: "false" },
          },
        }),
      );
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
    }
  }

  /**
   * Make `bytes` the content of `N.json` unless it exists. Returns whether `N.json` now holds
   * these bytes (a repairer may have copied our temp file before us).
   */
  async function copyToCommit(version: number, bytes: Uint8Array): Promise<boolean> {
    const path = commitPath(version);
    if (copyMode === "head-then-put") {
      if (await storage.head(path) === undefined) {
        await storage.put(path, bytes);
        return true;
      }
    } else {
      try {
        const put = await storage.put(path, bytes, { ifAbsent: true });
        if (put.ok) return true;
      } catch (e) {
        // Unknown outcome: decided below by reading the file back.
        if (await storage.head(path) === undefined) throw e;
      }
    }
    return equalBytes(await storage.get(path), bytes);
  }

  async function repairEntry(entry: ExternalCommitEntry): Promise<void> {
    if (entry.complete) return;
    const version = entry.version;
    for (let attempt = 1;; attempt++) {
      try {
        if (await storage.head(commitPath(version)) === undefined) {
          let temp: Uint8Array;
          try {
            temp = await storage.get(`${LOG_DIR}/${entry.tempPath}`);
          } catch (e) {
            if (!isLakestrikeError(e, "NOT_FOUND")) throw e;
            // delta-rs renames (copy, then delete) the temp file: gone means moved, unless
            // N.json is missing too.
            if (await storage.head(commitPath(version)) !== undefined) break;
            throw new CorruptLogError(
              `Cannot repair version ${version} of ${tablePath}: temp file ${LOG_DIR}/${entry.tempPath} and ${
                commitPath(version)
              } are both missing`,
            );
          }
          await copyToCommit(version, temp);
        }
        break;
      } catch (e) {
        if (e instanceof CorruptLogError || attempt >= REPAIR_ATTEMPTS_MAX) throw e;
      }
    }
    await markComplete(version);
    verifiedThrough = Math.max(verifiedThrough, version);
  }

  async function latestVersionHint(): Promise<number | undefined> {
    const latest = await getLatestEntry();
    if (latest === undefined) return undefined;
    if (!latest.complete) await repairEntry(latest);
    return latest.version;
  }

  /** After losing PutItem: make `N.json` visible if the winner has not, then report `exists`. */
  async function settleLost(version: number, winner: ExternalCommitEntry | undefined) {
    if (winner !== undefined && !winner.complete) await repairEntry(winner);
    if (
      version === 0 && winner?.complete && await storage.head(commitPath(0)) === undefined
    ) {
      // Spark: "Old entries for table ... still exist in the external store".
      throw new LakestrikeError(
        "TABLE_EXISTS",
        `Cannot commit version 0 of ${tablePath}: old entries of this table still exist in DynamoDB table ${tableName}; delete them before re-creating the table`,
      );
    }
  }

  /** PutItem of our entry: true when it is ours (also after a lost answer), false when lost. */
  async function putEntry(version: number, tempPath: string): Promise<boolean> {
    const what = `Cannot commit version ${version}`;
    const entry: ExternalCommitEntry = {
      tablePath,
      fileName: `${formatVersion(version)}.json`,
      version,
      tempPath,
      complete: false,
    };
    let putError: unknown;
    try {
      await send(
        what,
        new PutItemCommand({
          TableName: tableName,
          Item: entryToItem(entry),
          ConditionExpression: "attribute_not_exists(fileName)",
        }),
      );
      return true;
    } catch (e) {
      putError = e;
    }
    // Lost the race, or the outcome is unknown (an earlier attempt may have landed): the entry
    // says whose it is; every attempt's tempPath is unique.
    let current: ExternalCommitEntry | undefined;
    try {
      current = await getEntry(version);
    } catch (readError) {
      const reason = putError instanceof Error ? putError.message : String(putError);
      throw new LakestrikeError(
        "COMMIT_FAILED",
        `${
          reason.startsWith(what) ? reason : `${what}: ${reason}`
        }; reading the entry back failed too, so the outcome is unknown`,
        { cause: new AggregateError([putError, readError]) },
      );
    }
    if (current?.tempPath === tempPath) return true;
    if (!isConditionalCheckFailed(putError) && current === undefined) throw putError;
    await settleLost(version, current);
    return false;
  }

  /**
   * Spark's steps 0 and 1, before anything is written: `N.json` must not exist, and `N-1.json`
   * must (an incomplete entry of N-1 is repaired first). Returns `exists` when `N.json` does.
   */
  async function checkBeforeEntry(version: number): Promise<"exists" | undefined> {
    if (await storage.head(commitPath(version)) !== undefined) return "exists";
    if (version === 0) {
      const entry = await getEntry(0);
      if (entry !== undefined && !entry.complete) {
        await repairEntry(entry);
        return "exists";
      }
      if (entry !== undefined) await settleLost(0, entry);
      return undefined;
    }
    if (verifiedThrough >= version - 1) return undefined;
    const previous = await getEntry(version - 1);
    if (previous !== undefined && !previous.complete) {
      await repairEntry(previous);
    } else if (await storage.head(commitPath(version - 1)) === undefined) {
      throw new LakestrikeError(
        "COMMIT_FAILED",
        `Cannot commit version ${version}: version ${version - 1} does not exist (no ${
          commitPath(version - 1)
        } and no incomplete DynamoDB entry for it under ${tablePath})`,
      );
    } else {
      verifiedThrough = Math.max(verifiedThrough, version - 1);
    }
    return undefined;
  }

  async function writeCommit(version: number, bytes: Uint8Array): Promise<CommitFileOutcome> {
    // Steps 0 and 1 (Spark): a stale writer stops here, before it creates an entry for a version
    // whose entry may have expired, and no version is written after a gap.
    if (await checkBeforeEntry(version) === "exists") return "exists";
    // Step 2: PREPARE — temp file, then the entry that decides the version.
    const tempPath = `.tmp/${formatVersion(version)}.json.${crypto.randomUUID()}`;
    await storage.put(`${LOG_DIR}/${tempPath}`, bytes);
    if (!(await putEntry(version, tempPath))) return "exists";
    await hooks.afterEntryCreated?.(version);
    // Step 3: COMMIT — copy to N.json. The version is ours from here on; failures below leave
    // an incomplete entry that the next reader or writer repairs (as Spark ignores them).
    let ours = true;
    try {
      ours = await copyToCommit(version, bytes);
    } catch {
      try {
        await repairEntry({
          tablePath,
          fileName: `${formatVersion(version)}.json`,
          version,
          tempPath,
          complete: false,
        });
      } catch { /* left for the next reader's repair */ }
      return "committed";
    }
    // Step 4: ACKNOWLEDGE.
    try {
      await markComplete(version);
      if (ours) verifiedThrough = Math.max(verifiedThrough, version);
    } catch { /* the next reader repairs: N.json exists, only the mark is missing */ }
    // `N.json` held other bytes: our entry had expired-and-been-recreated over an existing
    // version (a writer more than `expireTime` behind). The version is not ours.
    return ours ? "committed" : "exists";
  }

  return {
    name: "s3-dynamodb",
    tableName,
    tablePath,
    region,
    checkTablePathVariants,
    writeCommit,
    repair: async () => {
      await latestVersionHint();
    },
    latestVersionHint,
    getEntry,
    getLatestEntry,
    repairEntry,
  };
}
