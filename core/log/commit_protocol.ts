/**
 * Commit protocols: how the file `_delta_log/%020d.json` of a version comes into being.
 *
 * A Delta commit needs mutual exclusion per version: of several writers of version N exactly one
 * may create `N.json`. Each table commits through one protocol, recorded at creation in the table
 * property {@linkcode COMMIT_PROTOCOL_PROPERTY}:
 *
 * * `local` and `s3` — put-if-absent of `N.json` on the table's {@linkcode ObjectStorage} (a
 *   `link()` on disk, one `PutObject` with `If-None-Match: *` on S3, as current delta-rs does). A
 *   commit is one log PUT: no LIST, no GET, no HEAD in steady state.
 * * `s3-dynamodb` — the `S3DynamoDBLogStore` protocol of Delta Spark and delta-rs up to 0.32: a
 *   conditional PutItem in DynamoDB decides the winner, the commit is copied from a temp file and
 *   the entry marked complete (see `dynamodb_log_store.ts`).
 *
 * Mixing protocols on one table loses commits (a put-if-absent writer does not see a DynamoDB
 * entry whose copy is still pending, and a DynamoDB writer whose entry for N expired does not
 * see an `N.json` a put-if-absent writer created), so {@linkcode resolveCommitProtocol} refuses:
 *
 * * a table recorded with another protocol;
 * * a table on S3 that does not record its protocol (Delta Spark, delta-rs and others created it)
 *   unless the protocol is configured explicitly: lakestrike cannot tell whether its other writers
 *   commit through DynamoDB, and guessing `s3` would lose their commits;
 * * `s3` while the configured DynamoDB table holds entries for the table (under any spelling of
 *   its key): some writer commits it through `S3DynamoDBLogStore`;
 * * `s3-dynamodb` while another spelling of the table's key holds newer entries than this
 *   writer's key (two keys are two locks).
 *
 * The two DynamoDB checks need DynamoDB settings, so `s3` runs its check only when they are given
 * (docs/adr/0017-sharing-tables-with-delta-spark.md).
 *
 * @module
 */
import { InvalidArgumentError, isLakestrikeError, LakestrikeError } from "../errors.ts";
import type { CommitInfo, Metadata } from "./actions.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { commitPath } from "./paths.ts";
import type { S3DynamoDBLogStoreOptions } from "./dynamodb_log_store.ts";

/** Names of the commit protocols. */
export type CommitProtocolName = "local" | "s3" | "s3-dynamodb";

/** Every protocol name, in documentation order. */
export const COMMIT_PROTOCOL_NAMES: readonly CommitProtocolName[] = ["local", "s3", "s3-dynamodb"];

/** Table property (`metaData.configuration`) that records a table's commit protocol. */
export const COMMIT_PROTOCOL_PROPERTY = "lakestrike.commitProtocol";

/** What happened to one attempt to create the commit file of a version. */
export type CommitFileOutcome = "committed" | "exists";

/**
 * How commit files are created, one instance per table.
 *
 * * `writeCommit` is the only way `N.json` is created. It must resolve `"committed"` when these
 *   bytes are (now) the content of version `version`, `"exists"` when another writer owns that
 *   version, and throw only when it cannot tell (the caller then knows nothing was decided). When
 *   it resolves `"exists"`, `N.json` must be readable.
 * * `repair`, when present, must be awaited before the log is listed: it finishes commits that a
 *   crashed writer decided but did not make visible.
 * * `latestVersionHint`, when present, repairs like `repair` and returns the newest version the
 *   protocol knows of (`undefined` when it knows none); listing is still the source of truth.
 */
export interface CommitProtocol {
  /** The protocol's name, as recorded in {@linkcode COMMIT_PROTOCOL_PROPERTY}. */
  readonly name: CommitProtocolName;
  /** Create the commit file of `version` with `bytes`, unless another writer did. */
  writeCommit(version: number, bytes: Uint8Array): Promise<CommitFileOutcome>;
  /** Finish commits decided but not yet visible. */
  repair?(): Promise<void>;
  /** Repair, then return the newest version known to the protocol. */
  latestVersionHint?(): Promise<number | undefined>;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Put `bytes` at `path` with put-if-absent, deciding an unknown outcome. A put that throws may have
 * landed with only its answer lost: the object is read back and compared, so equal bytes are
 * `committed`, other bytes are `exists`, and a missing object rethrows the put's error.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { putIfAbsentDecided } from "./commit_protocol.ts";
 * const storage = createMemoryStorage();
 * const bytes = new Uint8Array([1, 2]);
 * if (await putIfAbsentDecided(storage, "a", bytes, "Cannot commit version 0") !== "committed") {
 *   throw new Error("not written");
 * }
 * if (await putIfAbsentDecided(storage, "a", new Uint8Array([3]), "x") !== "exists") {
 *   throw new Error("overwritten");
 * }
 * ```
 */
export async function putIfAbsentDecided(
  storage: ObjectStorage,
  path: string,
  bytes: Uint8Array,
  what: string,
): Promise<CommitFileOutcome> {
  try {
    const result = await storage.put(path, bytes, { ifAbsent: true });
    return result.ok ? "committed" : "exists";
  } catch (putError) {
    let stored: Uint8Array;
    try {
      stored = await storage.get(path);
    } catch (readError) {
      if (isLakestrikeError(readError, "NOT_FOUND")) throw putError;
      throw new AggregateError(
        [putError, readError],
        `${what}: the put failed and reading it back failed too`,
      );
    }
    return equalBytes(stored, bytes) ? "committed" : "exists";
  }
}

/**
 * The `local` or `s3` protocol: put-if-absent of `N.json` on the table's storage. One request per
 * commit; the storage's put-if-absent is the mutual exclusion.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createPutIfAbsentProtocol } from "./commit_protocol.ts";
 * const protocol = createPutIfAbsentProtocol(createMemoryStorage(), "local");
 * const bytes = new TextEncoder().encode('{"commitInfo":{}}\n');
 * if (await protocol.writeCommit(0, bytes) !== "committed") throw new Error("not written");
 * if (await protocol.writeCommit(0, bytes) !== "exists") throw new Error("written twice");
 * ```
 */
export function createPutIfAbsentProtocol(
  storage: ObjectStorage,
  name: "local" | "s3" = defaultCommitProtocolName(storage.location) === "s3" ? "s3" : "local",
): CommitProtocol {
  return {
    name,
    writeCommit: (version, bytes) =>
      putIfAbsentDecided(storage, commitPath(version), bytes, `Cannot commit version ${version}`),
  };
}

/**
 * The protocol a table at `location` uses when nothing else is said: `s3` for `s3://` and
 * `s3a://` locations, `local` otherwise.
 *
 * @example
 * ```ts
 * import { defaultCommitProtocolName } from "./commit_protocol.ts";
 * if (defaultCommitProtocolName("s3://b/t") !== "s3") throw new Error("s3");
 * if (defaultCommitProtocolName("file:///data/t") !== "local") throw new Error("local");
 * ```
 */
export function defaultCommitProtocolName(location: string): CommitProtocolName {
  return /^s3a?:\/\//i.test(location) ? "s3" : "local";
}

/**
 * Parse a protocol name (from configuration or a flag).
 *
 * @throws {InvalidArgumentError} naming the accepted values
 *
 * @example
 * ```ts
 * import { parseCommitProtocolName } from "./commit_protocol.ts";
 * if (parseCommitProtocolName("s3-dynamodb") !== "s3-dynamodb") throw new Error("bad");
 * ```
 */
export function parseCommitProtocolName(
  value: string,
  what = "commit protocol",
): CommitProtocolName {
  if ((COMMIT_PROTOCOL_NAMES as readonly string[]).includes(value)) {
    return value as CommitProtocolName;
  }
  throw new InvalidArgumentError(
    `Invalid ${what} ${JSON.stringify(value)}: must be one of ${COMMIT_PROTOCOL_NAMES.join(", ")}`,
  );
}

/** The protocol recorded in a table's configuration, or `undefined` (tables of Spark, delta-rs). */
export function recordedCommitProtocol(
  configuration: Readonly<Record<string, string>>,
): CommitProtocolName | undefined {
  const v = configuration[COMMIT_PROTOCOL_PROPERTY];
  return v === undefined
    ? undefined
    : parseCommitProtocolName(v, `table property ${COMMIT_PROTOCOL_PROPERTY}`);
}

/** A writer configured with one protocol met a table recorded with another. */
export class CommitProtocolMismatchError extends LakestrikeError {
  /** The protocol recorded in the table. */
  readonly recorded: CommitProtocolName;
  /** The protocol of this writer. */
  readonly configured: CommitProtocolName;
  /** Create the error for the table at `location`. */
  constructor(location: string, recorded: CommitProtocolName, configured: CommitProtocolName) {
    super(
      "INVALID_ARGUMENT",
      `Cannot write to ${location}: the table commits through '${recorded}' but this writer uses '${configured}'; mixing commit protocols can lose commits`,
    );
    this.name = "CommitProtocolMismatchError";
    this.recorded = recorded;
    this.configured = configured;
  }
}

/**
 * Refuse a table whose recorded protocol differs from the writer's.
 *
 * @throws {CommitProtocolMismatchError}
 *
 * @example
 * ```ts
 * import { assertCommitProtocol } from "./commit_protocol.ts";
 * assertCommitProtocol("s3://b/t", { "lakestrike.commitProtocol": "s3" }, "s3");
 * assertCommitProtocol("s3://b/t", {}, "s3-dynamodb"); // not recorded: the writer's protocol
 * let refused = false;
 * try {
 *   assertCommitProtocol("s3://b/t", { "lakestrike.commitProtocol": "s3-dynamodb" }, "s3");
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("mixing protocols must be refused");
 * ```
 */
export function assertCommitProtocol(
  location: string,
  configuration: Readonly<Record<string, string>>,
  configured: CommitProtocolName,
): void {
  const recorded = recordedCommitProtocol(configuration);
  if (recorded !== undefined && recorded !== configured) {
    throw new CommitProtocolMismatchError(location, recorded, configured);
  }
}

/** What a writer is configured with, for {@linkcode resolveCommitProtocol}. */
export interface CommitProtocolConfig {
  /**
   * The writer's protocol, configured explicitly (or read from the table by the caller); default
   * {@linkcode defaultCommitProtocolName} of the location, which a table on S3 that does not
   * record its protocol refuses.
   */
  protocol?: CommitProtocolName;
  /**
   * DynamoDB settings: required by `s3-dynamodb` (`{}` takes the defaults); with `s3`, where to
   * look for `S3DynamoDBLogStore` entries of the table before accepting it.
   */
  dynamodb?: Omit<S3DynamoDBLogStoreOptions, "storage">;
}

/** A table on S3 that does not record its commit protocol, opened without one configured. */
export class CommitProtocolUnknownError extends LakestrikeError {
  /** Create the error; `engineInfo` names the writer of the latest commit when known. */
  constructor(location: string, engineInfo?: string) {
    const by = engineInfo === undefined ? "" : ` (its latest commit was written by ${engineInfo})`;
    super(
      "INVALID_ARGUMENT",
      `Cannot open ${location}: the table does not record its commit protocol (table property ${COMMIT_PROTOCOL_PROPERTY}), so another engine created it${by}, and lakestrike will not guess; configure the protocol its other writers use: 's3-dynamodb' with the DynamoDB table, region and tablePath of Delta Spark's S3DynamoDBLogStore, or 's3' when every writer uses conditional PUT (config commitProtocol, --commit-protocol)`,
    );
    this.name = "CommitProtocolUnknownError";
  }
}

/** The snapshot fields {@linkcode resolveCommitProtocol} reads. */
export interface ResolvedTableState {
  /** The table's metadata (its configuration holds the recorded protocol). */
  readonly metadata: Pick<Metadata, "configuration">;
  /** The snapshot's version, to name the writer of the latest commit in an error. */
  readonly version?: number;
}

/** `commitInfo.engineInfo` of `version`, or `undefined` (best effort, for error messages). */
async function engineInfoOf(storage: ObjectStorage, version: number | undefined) {
  if (version === undefined) return undefined;
  try {
    const text = new TextDecoder().decode(await storage.get(commitPath(version)));
    for (const line of text.split("\n")) {
      if (!line.includes('"commitInfo"')) continue;
      const engine = (JSON.parse(line) as { commitInfo?: CommitInfo }).commitInfo?.engineInfo;
      return typeof engine === "string" ? engine : undefined;
    }
  } catch { /* the refusal stands without the detail */ }
  return undefined;
}

/** Refuse `s3` when the configured DynamoDB table holds entries of the table. */
async function assertNoDynamoDBEntries(
  storage: ObjectStorage,
  dynamodb: Omit<S3DynamoDBLogStoreOptions, "storage">,
): Promise<void> {
  const ddb = await import("./dynamodb_log_store.ts");
  const keys = [
    ...(dynamodb.tablePath === undefined ? [] : [ddb.dynamodbTablePath(dynamodb.tablePath)]),
    ...ddb.dynamodbTablePathVariants(storage.location),
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
 * The commit protocol a writer uses for a table: the configured one (or the location's default),
 * after checking it against the protocol the table recorded and against DynamoDB (see the module
 * doc for every refusal). `snapshot` is `undefined` for a table that does not exist yet. Tables
 * without the property (written by Spark or delta-rs) use the configured protocol; on S3 one must
 * be configured. The DynamoDB client is only loaded when DynamoDB settings are given.
 *
 * @throws {CommitProtocolMismatchError} when the table recorded another protocol
 * @throws {CommitProtocolUnknownError} for a table on S3 that records none, without `protocol`
 * @throws {DynamoDBKeyConflictError} when DynamoDB entries show another protocol or key
 * @throws {InvalidArgumentError} when `s3-dynamodb` is configured without DynamoDB settings, or
 * DynamoDB settings are given for a `local` table
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { resolveCommitProtocol } from "./commit_protocol.ts";
 * const storage = createMemoryStorage({ location: "memory://t" });
 * const protocol = await resolveCommitProtocol(storage, undefined, {});
 * if (protocol.name !== "local") throw new Error("memory tables commit with put-if-absent");
 * ```
 */
export async function resolveCommitProtocol(
  storage: ObjectStorage,
  snapshot: ResolvedTableState | undefined,
  config: CommitProtocolConfig = {},
): Promise<CommitProtocol> {
  const name = config.protocol ?? defaultCommitProtocolName(storage.location);
  if (snapshot !== undefined) {
    const configuration = snapshot.metadata.configuration;
    assertCommitProtocol(storage.location, configuration, name);
    if (
      config.protocol === undefined && name === "s3" &&
      recordedCommitProtocol(configuration) === undefined
    ) {
      throw new CommitProtocolUnknownError(
        storage.location,
        await engineInfoOf(storage, snapshot.version),
      );
    }
  }
  if (name === "local") {
    if (config.dynamodb !== undefined) {
      throw new InvalidArgumentError(
        `Cannot open ${storage.location}: DynamoDB settings are only used by the commit protocols 's3' (as a check) and 's3-dynamodb'`,
      );
    }
    return createPutIfAbsentProtocol(storage, name);
  }
  if (name === "s3") {
    if (config.dynamodb !== undefined) await assertNoDynamoDBEntries(storage, config.dynamodb);
    return createPutIfAbsentProtocol(storage, name);
  }
  if (config.dynamodb === undefined) {
    throw new InvalidArgumentError(
      `Cannot write to ${storage.location}: commit protocol 's3-dynamodb' needs DynamoDB settings`,
    );
  }
  const { createS3DynamoDBLogStore } = await import("./dynamodb_log_store.ts");
  const store = createS3DynamoDBLogStore({ ...config.dynamodb, storage });
  await store.checkTablePathVariants();
  return store;
}
