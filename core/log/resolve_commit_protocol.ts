/**
 * Choosing and building the commit protocol of a table: a registry of protocol factories, one per
 * protocol name, and {@linkcode resolveCommitProtocol}, which checks the writer's choice against the
 * table and calls the factory.
 *
 * The core registers `local` and `s3` (put-if-absent on the table's storage). `s3-dynamodb`, and the
 * DynamoDB check of `s3`, belong to the AWS module: `registerAws()` of `aws/mod.ts` registers them,
 * so a program that never uses them never loads the DynamoDB client.
 *
 * Mixing protocols on one table loses commits (a put-if-absent writer does not see a DynamoDB
 * entry whose copy is still pending, and a DynamoDB writer whose entry for N expired does not
 * see an `N.json` a put-if-absent writer created), so {@linkcode resolveCommitProtocol} refuses:
 *
 * * a table recorded with another protocol;
 * * a table on S3 that does not record its protocol (Delta Spark, delta-rs and others created it)
 *   unless the protocol is configured explicitly: lakestrike cannot tell whether its other writers
 *   commit through DynamoDB, and guessing `s3` would lose their commits;
 * * (AWS module) `s3` while the configured DynamoDB table holds entries for the table (under any
 *   spelling of its key): some writer commits it through `S3DynamoDBLogStore`;
 * * (AWS module) `s3-dynamodb` while another spelling of the table's key holds newer entries than
 *   this writer's key (two keys are two locks).
 *
 * The two DynamoDB checks need DynamoDB settings, so `s3` runs its check only when they are given
 * (docs/adr/0017-sharing-tables-with-delta-spark.md).
 *
 * ```
 *  configured name (or the location's default)
 *        │
 *  recorded protocol differs? ──yes──▶ CommitProtocolMismatchError
 *        │ unrecorded S3 table, nothing configured? ──yes──▶ CommitProtocolUnknownError
 *        ▼
 *  factory registered for the name? ──no──▶ InvalidArgumentError (register the AWS module)
 *        ▼
 *  factory(storage, config) ──▶ CommitProtocol
 * ```
 *
 * @module
 */
import { InvalidArgumentError, LakestrikeError } from "../errors.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import type { CommitInfo, Metadata } from "./actions.ts";
import {
  assertCommitProtocol,
  COMMIT_PROTOCOL_PROPERTY,
  type CommitProtocol,
  type CommitProtocolName,
  createPutIfAbsentProtocol,
  defaultCommitProtocolName,
  recordedCommitProtocol,
} from "./commit_protocol.ts";
import { commitPath } from "./paths.ts";

/**
 * DynamoDB settings of the `s3-dynamodb` protocol (and of the check of `s3`), read by the factory
 * the AWS module registers. These are the settings of a config; the AWS module's factory also reads
 * the further options of `S3DynamoDBLogStoreOptions` (a client, a clock, test hooks) when the object
 * carries them.
 */
export interface DynamoDbSettings {
  /** DynamoDB table name (default `delta_log`). */
  readonly tableName?: string;
  /** Endpoint URL (DynamoDB Local); default the AWS SDK's. */
  readonly endpoint?: string;
  /** AWS region of the DynamoDB table. */
  readonly region?: string;
  /** The table's DynamoDB key, `s3a://bucket/path` to share the table with Spark on S3A. */
  readonly tablePath?: string;
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
  dynamodb?: DynamoDbSettings;
}

/**
 * Builds the protocol of one table, after {@linkcode resolveCommitProtocol} checked the name against
 * the table. It must refuse settings it does not use rather than ignore them.
 */
export type CommitProtocolFactory = (
  storage: ObjectStorage,
  config: CommitProtocolConfig,
) => Promise<CommitProtocol>;

const factories = new Map<CommitProtocolName, CommitProtocolFactory>();

factories.set("local", (storage, config) => {
  if (config.dynamodb !== undefined) {
    throw new InvalidArgumentError(
      `Cannot open ${storage.location}: DynamoDB settings are only used by the commit protocols 's3' (as a check) and 's3-dynamodb'`,
    );
  }
  return Promise.resolve(createPutIfAbsentProtocol(storage, "local"));
});

factories.set("s3", (storage, config) => {
  if (config.dynamodb !== undefined) {
    throw new InvalidArgumentError(
      `Cannot open ${storage.location}: the DynamoDB check of commit protocol 's3' needs the AWS module (registerAws() of aws/mod.ts)`,
    );
  }
  return Promise.resolve(createPutIfAbsentProtocol(storage, "s3"));
});

/**
 * Register the factory of a commit protocol, replacing any earlier one. Returns a function that
 * restores the previous registration.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createPutIfAbsentProtocol } from "./commit_protocol.ts";
 * import { registerCommitProtocol, resolveCommitProtocol } from "./resolve_commit_protocol.ts";
 * const restore = registerCommitProtocol("s3-dynamodb", (storage) =>
 *   Promise.resolve({ ...createPutIfAbsentProtocol(storage), name: "s3-dynamodb" }));
 * try {
 *   const storage = createMemoryStorage({ location: "s3://b/t" });
 *   const protocol = await resolveCommitProtocol(storage, undefined, { protocol: "s3-dynamodb" });
 *   if (protocol.name !== "s3-dynamodb") throw new Error("not registered");
 * } finally {
 *   restore();
 * }
 * ```
 */
export function registerCommitProtocol(
  name: CommitProtocolName,
  factory: CommitProtocolFactory,
): () => void {
  const previous = factories.get(name);
  factories.set(name, factory);
  return () => {
    if (factories.get(name) !== factory) return; // replaced again since: leave the newer one
    if (previous === undefined) factories.delete(name);
    else factories.set(name, previous);
  };
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

/**
 * The commit protocol a writer uses for a table: the configured one (or the location's default),
 * after checking it against the protocol the table recorded, built by the factory registered for
 * its name (see the module doc for every refusal). `snapshot` is `undefined` for a table that does
 * not exist yet. Tables without the property (written by Spark or delta-rs) use the configured
 * protocol; on S3 one must be configured.
 *
 * @throws {CommitProtocolMismatchError} when the table recorded another protocol
 * @throws {CommitProtocolUnknownError} for a table on S3 that records none, without `protocol`
 * @throws {InvalidArgumentError} when no factory is registered for the protocol, or the factory
 * refuses the settings (DynamoDB settings for a `local` table, `s3-dynamodb` without them)
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { resolveCommitProtocol } from "./resolve_commit_protocol.ts";
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
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new InvalidArgumentError(
      `Cannot open ${storage.location}: commit protocol '${name}' is not registered (the AWS module registers it: registerAws() of aws/mod.ts)`,
    );
  }
  return await factory(storage, config);
}
