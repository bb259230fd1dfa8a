/**
 * Commit protocols: how the file `_delta_log/%020d.json` of a version comes into being.
 *
 * A Delta commit needs mutual exclusion per version: of several writers of version N exactly one
 * may create `N.json`. {@linkcode CommitProtocol} is that one operation (plus the repair a protocol
 * may need before the log is listed). Each table commits through one protocol, recorded at
 * creation in the table property {@linkcode COMMIT_PROTOCOL_PROPERTY}:
 *
 * * `local` and `s3` — put-if-absent of `N.json` on the table's {@linkcode ObjectStorage} (a
 *   `link()` on disk, one `PutObject` with `If-None-Match: *` on S3, as current delta-rs does). A
 *   commit is one log PUT: no LIST, no GET, no HEAD in steady state. This module implements it
 *   ({@linkcode createPutIfAbsentProtocol}).
 * * `s3-dynamodb` — the `S3DynamoDBLogStore` protocol of Delta Spark and delta-rs up to 0.32: a
 *   conditional PutItem in DynamoDB decides the winner. It lives in the AWS module
 *   (`aws/dynamodb_log_store.ts`), which registers it.
 *
 * This module is the interface, the names and the checks of a recorded protocol; choosing and
 * building a table's protocol is `./resolve_commit_protocol.ts`, a registry of protocol factories.
 *
 * @module
 */
import { InvalidArgumentError, isLakestrikeError, LakestrikeError } from "../errors.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { commitPath } from "./paths.ts";

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
