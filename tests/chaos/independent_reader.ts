/**
 * The chaos harness's own Delta reader: log replay and Parquet read written from the Delta
 * PROTOCOL alone, sharing no code with the writer path (nothing from `core/`, `plugins/`, `batch/`
 * or `edge/`). When the service and this reader disagree, one of them is wrong, and the checker
 * (`invariants.ts`) says so instead of trusting the code under test to judge itself.
 *
 * What it reads (Delta PROTOCOL, "Delta Log Entries", "Checkpoints", "Action Reconciliation"):
 *
 * ```text
 *   list _delta_log/ ──► commits  NNN.json                       (versions with a commit file)
 *                   └──► checkpoints NNN.checkpoint.parquet      (classic, single part)
 *                                    NNN.checkpoint.o.p.parquet  (multi-part, only when complete)
 *
 *   snapshot at v = newest checkpoint c <= v  +  commits c+1 .. v, in order
 *                   (no checkpoint: commits 0 .. v)
 * ```
 *
 * `_last_checkpoint` is not read: the listing is the truth and `_last_checkpoint` may be missing
 * or stale. UUID-named (V2) checkpoints and checkpoints with sidecars are refused; lakestrike writes
 * classic V1 checkpoints.
 *
 * Reconciliation: the newest `protocol` and `metaData` win; the newest `txn` per `appId` wins;
 * logical files are keyed by `(path, deletionVector.uniqueId)`, an `add` makes the key active (in
 * place of another key of the same path: active adds have unique paths) and drops its tombstone, a
 * `remove` drops it from the active set and keeps the remove as a tombstone.
 * Actions are applied in file order. Paths are URI-decoded (RFC 2396) once.
 *
 * Commit timestamps: the commit's `inCommitTimestamp` when the table enables in-commit timestamps,
 * else the commit file's modification time; a version whose commit file was cleaned up takes its
 * checkpoint file's modification time.
 *
 * Data files are read with `hyparquet` (codecs from `node:zlib`); partition columns are not in the
 * data files, their values come from `add.partitionValues`. Deletion vectors and column mapping
 * are refused clearly: the chaos tables never have them.
 *
 * @module
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import type { Compressors } from "hyparquet";
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib";
import type { TableAccess, TableObject } from "./table_access.ts";

// ---------------------------------------------------------------------------------------------
// Types

/** A `protocol` action (Delta PROTOCOL, "Protocol Evolution"). */
export interface IndependentProtocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

/** A `metaData` action (Delta PROTOCOL, "Change Metadata"). */
export interface IndependentMetaData {
  id: string;
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string>;
  createdTime?: number;
}

/** An active logical file. `path` is URI-decoded, as it is in storage. */
export interface IndependentFile {
  path: string;
  size: number;
  modificationTime: number;
  partitionValues: Record<string, string | null>;
  dataChange: boolean;
  /** `deletionVector.uniqueId` (Delta PROTOCOL, "Deletion Vectors", derived fields). */
  deletionVectorId?: string;
  /** The `stats` JSON text, when present. */
  stats?: string;
}

/** A tombstone: a `remove` of a logical file that is not active. */
export interface IndependentRemove {
  path: string;
  deletionTimestamp?: number;
  dataChange: boolean;
  deletionVectorId?: string;
}

/** A `txn` action (Delta PROTOCOL, "Transaction Identifiers"). */
export interface IndependentTxn {
  appId: string;
  version: number;
  lastUpdated?: number;
}

/** The table state at one version, reconciled. */
export interface IndependentSnapshot {
  version: number;
  /** Commit timestamp of `version` in epoch ms (see the module documentation). */
  timestampMs: number;
  protocol: IndependentProtocol;
  metaData: IndependentMetaData;
  /** Active files, sorted by path (then deletion vector id). */
  files: IndependentFile[];
  /** Tombstones, sorted by path (then deletion vector id). */
  tombstones: IndependentRemove[];
  /** The newest `txn` per `appId`. */
  txns: Map<string, IndependentTxn>;
  /** Non-removed `domainMetadata` configuration per domain. */
  domainMetadata: Map<string, string>;
  /** The checkpoint replay started from, if any. */
  checkpointVersion?: number;
}

/** What the `_delta_log/` listing holds. */
export interface IndependentLogListing {
  /** Highest version with a commit file or a complete checkpoint; -1 when there is none. */
  latestVersion: number;
  /** Versions with a commit file, ascending. */
  commitVersions: number[];
  /** Versions with a complete classic or multi-part checkpoint, ascending. */
  checkpointVersions: number[];
  /**
   * Missing commit files above the newest complete checkpoint (above -1 when there is none), up
   * to `latestVersion`: versions no reader can reconstruct. Gaps below a checkpoint are left by log
   * cleanup and are not listed.
   */
  gaps: number[];
}

/** Options of {@linkcode loadLogIndependently}. */
export interface LoadLogOptions {
  /** Load this version instead of the latest. */
  version?: number;
}

/** One reconstructable version in {@linkcode IndependentHistory}. */
export interface IndependentVersion {
  version: number;
  timestampMs: number;
  /** Active files at this version. */
  numFiles: number;
}

/**
 * The versions during which one logical file was active: `[addedVersion, removedVersion)`,
 * intersected with a run of consecutive reconstructable versions. A file active across a break in
 * the log has one lifetime per run.
 */
export interface FileLifetime {
  path: string;
  deletionVectorId?: string;
  size: number;
  addedVersion: number;
  /** First version of the run at which the file is no longer active; absent: active at the end. */
  removedVersion?: number;
}

/** Everything {@linkcode loadHistoryIndependently} found in the log. */
export interface IndependentHistory extends IndependentLogListing {
  /** Every reconstructable version, ascending. */
  versions: IndependentVersion[];
  /** Lifetimes of every logical file active at some reconstructable version. */
  files: FileLifetime[];
  /**
   * The latest version, loaded as a reader loads it (newest checkpoint, then the commits after it),
   * when that worked.
   */
  latest?: IndependentSnapshot;
  /**
   * Problems found: unreadable or malformed log files, a latest version no reader can load, a
   * checkpoint that disagrees with the replay of the commits before it. Each names its version.
   */
  errors: string[];
}

/** Options of {@linkcode readKeysIndependently}. */
export interface ReadKeysOptions {
  /** Data files read at once; default 8. */
  concurrency?: number;
  /** Record unreadable files in `errors` and go on, instead of throwing; default false. */
  collectErrors?: boolean;
}

/** What {@linkcode readKeysIndependently} read. */
export interface KeysRead {
  /**
   * The column's value of every row, file after file in `snapshot.files` order: values as hyparquet
   * decodes them (strings, numbers, bigints, Dates, null); for a partition column the
   * `partitionValues` string (null for a null partition).
   */
  values: unknown[];
  /** Files that could not be read (only with `collectErrors`), with the reason. */
  errors: { path: string; message: string }[];
}

/** An error of this reader: a malformed, missing or unsupported part of a table. */
export class IndependentReadError extends Error {
  override name = "IndependentReadError";
}

/** A log file that was listed but was gone when read (log cleanup ran meanwhile): list again. */
class VanishedError extends IndependentReadError {
  override name = "VanishedError";
}

// ---------------------------------------------------------------------------------------------
// Limits

/** Commit files read at once. */
const COMMIT_READ_CONCURRENCY = 16;
/** Commits read ahead of the replay during a history walk. */
const COMMIT_CHUNK = 64;
/** Fresh listings tried when log files vanish under the reader. */
const LISTING_ATTEMPTS_MAX = 4;
/** Parts of a multi-part checkpoint at most. */
const CHECKPOINT_PARTS_MAX = 100_000;

/** Reader features whose tables this reader can still read keys from (others are refused). */
const READER_FEATURES_KNOWN: ReadonlySet<string> = new Set([
  "deletionVectors",
  "columnMapping",
  "timestampNtz",
  "vacuumProtocolCheck",
  "v2Checkpoint",
  "typeWidening",
  "typeWidening-preview",
]);

const LOG_PREFIX = "_delta_log/";

// ---------------------------------------------------------------------------------------------
// Listing

interface CheckpointFiles {
  version: number;
  files: TableObject[];
}

interface Listing {
  commits: Map<number, TableObject>;
  checkpoints: Map<number, CheckpointFiles>;
  summary: IndependentLogListing;
}

const COMMIT_NAME = /^(\d{20})\.json$/;
const CLASSIC_CHECKPOINT_NAME = /^(\d{20})\.checkpoint\.parquet$/;
const MULTIPART_CHECKPOINT_NAME = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;

function versionOf(digits: string, name: string): number {
  const v = Number(digits);
  if (!Number.isSafeInteger(v)) {
    throw new IndependentReadError(`Cannot read ${name}: version beyond 2^53`);
  }
  return v;
}

async function listLog(access: TableAccess): Promise<Listing> {
  const objects = await access.list(LOG_PREFIX);
  const commits = new Map<number, TableObject>();
  const classic = new Map<number, TableObject>();
  // version -> parts -> part number -> file
  const multipart = new Map<number, Map<number, Map<number, TableObject>>>();
  for (const o of objects) {
    const name = o.path.slice(LOG_PREFIX.length);
    if (name.includes("/")) continue; // _sidecars/, _staged_commits/, ...
    let m = COMMIT_NAME.exec(name);
    if (m) {
      commits.set(versionOf(m[1]!, name), o);
      continue;
    }
    m = CLASSIC_CHECKPOINT_NAME.exec(name);
    if (m) {
      classic.set(versionOf(m[1]!, name), o);
      continue;
    }
    m = MULTIPART_CHECKPOINT_NAME.exec(name);
    if (m) {
      const version = versionOf(m[1]!, name);
      const part = Number(m[2]);
      const parts = Number(m[3]);
      if (parts < 1 || parts > CHECKPOINT_PARTS_MAX || part < 1 || part > parts) continue;
      const byParts = multipart.get(version) ?? new Map<number, Map<number, TableObject>>();
      multipart.set(version, byParts);
      const got = byParts.get(parts) ?? new Map<number, TableObject>();
      byParts.set(parts, got);
      got.set(part, o);
    }
    // Anything else (.crc, _last_checkpoint, compacted, UUID-named checkpoints) is not read.
  }
  const checkpoints = new Map<number, CheckpointFiles>();
  for (const [version, o] of classic) checkpoints.set(version, { version, files: [o] });
  for (const [version, byParts] of multipart) {
    if (checkpoints.has(version)) continue; // a classic checkpoint of the same version wins
    // Delta PROTOCOL: readers must ignore multi-part checkpoints with missing parts.
    for (const [parts, got] of [...byParts].sort((a, b) => a[0] - b[0])) {
      if (got.size !== parts) continue;
      const files = [...got].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
      checkpoints.set(version, { version, files });
      break;
    }
  }
  const commitVersions = [...commits.keys()].sort((a, b) => a - b);
  const checkpointVersions = [...checkpoints.keys()].sort((a, b) => a - b);
  const latestVersion = Math.max(-1, commitVersions.at(-1) ?? -1, checkpointVersions.at(-1) ?? -1);
  const newestCheckpoint = checkpointVersions.at(-1) ?? -1;
  const gaps: number[] = [];
  for (let v = newestCheckpoint + 1; v <= latestVersion; v++) if (!commits.has(v)) gaps.push(v);
  return {
    commits,
    checkpoints,
    summary: { latestVersion, commitVersions, checkpointVersions, gaps },
  };
}

/**
 * List `_delta_log/`: the versions with commit files and complete checkpoints, the latest version,
 * and the gaps no reader can cross. Reads no file.
 *
 * @example
 * ```ts
 * import { listLogIndependently } from "./independent_reader.ts";
 * const names = ["00000000000000000000.json", "00000000000000000002.json"];
 * const access = {
 *   list: () => Promise.resolve(names.map((n) => ({ path: `_delta_log/${n}`, size: 1, lastModifiedMs: 0 }))),
 *   get: () => Promise.resolve(undefined),
 * };
 * const listing = await listLogIndependently(access);
 * if (listing.latestVersion !== 2 || listing.gaps.join() !== "1") throw new Error("gap not seen");
 * ```
 */
export async function listLogIndependently(access: TableAccess): Promise<IndependentLogListing> {
  return (await listLog(access)).summary;
}

// ---------------------------------------------------------------------------------------------
// Action parsing (one shape for JSON commits and checkpoint rows)

/** An action after parsing; commitInfo keeps only what timestamps need. */
type ParsedAction =
  | { kind: "add"; key: string; file: IndependentFile }
  | { kind: "remove"; key: string; remove: IndependentRemove }
  | { kind: "metaData"; metaData: IndependentMetaData }
  | { kind: "protocol"; protocol: IndependentProtocol }
  | { kind: "txn"; txn: IndependentTxn }
  | { kind: "domainMetadata"; domain: string; configuration: string; removed: boolean }
  | { kind: "commitInfo"; inCommitTimestamp?: number }
  | { kind: "sidecar" };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A JSON number or a Parquet int64 as a safe integer, else undefined. */
function integer(v: unknown): number | undefined {
  if (typeof v === "bigint") {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return typeof v === "number" && Number.isSafeInteger(v) ? v : undefined;
}

function stringMap(v: unknown, what: string): Record<string, string | null> {
  if (v === undefined || v === null) return {};
  if (v instanceof Map) v = Object.fromEntries(v);
  if (!isObject(v)) throw new IndependentReadError(`${what} is not a map`);
  const out: Record<string, string | null> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x !== "string") {
      throw new IndependentReadError(`${what}.${k} is not a string`);
    }
    out[k] = x;
  }
  return out;
}

function stringArray(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new IndependentReadError(`${what} is not an array of strings`);
  }
  return v as string[];
}

/** Delta PROTOCOL, "Deletion Vectors", derived field `uniqueId`. */
function deletionVectorId(dv: unknown, what: string): string | undefined {
  if (dv === undefined || dv === null) return undefined;
  if (!isObject(dv)) throw new IndependentReadError(`${what}.deletionVector is not an object`);
  const storageType = dv.storageType;
  const pathOrInlineDv = dv.pathOrInlineDv;
  if (typeof storageType !== "string" || typeof pathOrInlineDv !== "string") {
    throw new IndependentReadError(`${what}.deletionVector lacks storageType or pathOrInlineDv`);
  }
  const offset = integer(dv.offset);
  return offset === undefined
    ? `${storageType}${pathOrInlineDv}`
    : `${storageType}${pathOrInlineDv}@${offset}`;
}

/** `add.path` / `remove.path` is an RFC 2396 URI: decode it once. */
function decodePath(path: unknown, what: string): string {
  if (typeof path !== "string" || path === "") {
    throw new IndependentReadError(`${what}.path is missing`);
  }
  try {
    return decodeURIComponent(path);
  } catch {
    throw new IndependentReadError(`${what}.path ${JSON.stringify(path)} is not a valid URI`);
  }
}

function fileKey(path: string, dvId: string | undefined): string {
  return dvId === undefined ? path : `${path}\u0000${dvId}`;
}

function parseAction(obj: unknown, where: string): ParsedAction | undefined {
  if (!isObject(obj)) throw new IndependentReadError(`${where}: not a JSON object`);
  const keys = Object.keys(obj);
  for (const kind of keys) {
    const body = obj[kind];
    const what = `${where}: ${kind}`;
    switch (kind) {
      case "add": {
        if (!isObject(body)) throw new IndependentReadError(`${what} is not an object`);
        const path = decodePath(body.path, what);
        const size = integer(body.size);
        if (size === undefined || size < 0) {
          throw new IndependentReadError(`${what}.size is missing`);
        }
        const dvId = deletionVectorId(body.deletionVector, what);
        const file: IndependentFile = {
          path,
          size,
          modificationTime: integer(body.modificationTime) ?? 0,
          partitionValues: stringMap(body.partitionValues, `${what}.partitionValues`),
          dataChange: body.dataChange !== false,
        };
        if (dvId !== undefined) file.deletionVectorId = dvId;
        if (typeof body.stats === "string") file.stats = body.stats;
        return { kind: "add", key: fileKey(path, dvId), file };
      }
      case "remove": {
        if (!isObject(body)) throw new IndependentReadError(`${what} is not an object`);
        const path = decodePath(body.path, what);
        const dvId = deletionVectorId(body.deletionVector, what);
        const remove: IndependentRemove = { path, dataChange: body.dataChange !== false };
        const ts = integer(body.deletionTimestamp);
        if (ts !== undefined) remove.deletionTimestamp = ts;
        if (dvId !== undefined) remove.deletionVectorId = dvId;
        return { kind: "remove", key: fileKey(path, dvId), remove };
      }
      case "metaData": {
        if (!isObject(body)) throw new IndependentReadError(`${what} is not an object`);
        if (typeof body.id !== "string" || typeof body.schemaString !== "string") {
          throw new IndependentReadError(`${what} lacks id or schemaString`);
        }
        const configuration: Record<string, string> = {};
        for (
          const [k, v] of Object.entries(stringMap(body.configuration, `${what}.configuration`))
        ) {
          if (v !== null) configuration[k] = v;
        }
        const metaData: IndependentMetaData = {
          id: body.id,
          schemaString: body.schemaString,
          partitionColumns: stringArray(body.partitionColumns ?? [], `${what}.partitionColumns`),
          configuration,
        };
        const created = integer(body.createdTime);
        if (created !== undefined) metaData.createdTime = created;
        return { kind: "metaData", metaData };
      }
      case "protocol": {
        if (!isObject(body)) throw new IndependentReadError(`${what} is not an object`);
        const minReaderVersion = integer(body.minReaderVersion);
        const minWriterVersion = integer(body.minWriterVersion);
        if (minReaderVersion === undefined || minWriterVersion === undefined) {
          throw new IndependentReadError(`${what} lacks minReaderVersion or minWriterVersion`);
        }
        const protocol: IndependentProtocol = { minReaderVersion, minWriterVersion };
        if (body.readerFeatures !== undefined && body.readerFeatures !== null) {
          protocol.readerFeatures = stringArray(body.readerFeatures, `${what}.readerFeatures`);
        }
        if (body.writerFeatures !== undefined && body.writerFeatures !== null) {
          protocol.writerFeatures = stringArray(body.writerFeatures, `${what}.writerFeatures`);
        }
        return { kind: "protocol", protocol };
      }
      case "txn": {
        if (!isObject(body)) throw new IndependentReadError(`${what} is not an object`);
        const version = integer(body.version);
        if (typeof body.appId !== "string" || version === undefined) {
          throw new IndependentReadError(`${what} lacks appId or version`);
        }
        const txn: IndependentTxn = { appId: body.appId, version };
        const lastUpdated = integer(body.lastUpdated);
        if (lastUpdated !== undefined) txn.lastUpdated = lastUpdated;
        return { kind: "txn", txn };
      }
      case "domainMetadata": {
        if (!isObject(body) || typeof body.domain !== "string") {
          throw new IndependentReadError(`${what} lacks domain`);
        }
        return {
          kind: "domainMetadata",
          domain: body.domain,
          configuration: typeof body.configuration === "string" ? body.configuration : "",
          removed: body.removed === true,
        };
      }
      case "commitInfo": {
        const ict = isObject(body) ? integer(body.inCommitTimestamp) : undefined;
        return ict === undefined
          ? { kind: "commitInfo" }
          : { kind: "commitInfo", inCommitTimestamp: ict };
      }
      case "sidecar":
        return { kind: "sidecar" };
      default:
        // cdc, checkpointMetadata and unknown actions do not change the snapshot
        // (Delta PROTOCOL, "Protocol Evolution": clients must ignore unrecognized actions).
        continue;
    }
  }
  return undefined;
}

function parseCommit(bytes: Uint8Array, version: number): ParsedAction[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new IndependentReadError(`Cannot read version ${version}: commit file is not UTF-8`);
  }
  const out: ParsedAction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new IndependentReadError(
        `Cannot read version ${version}: line ${i + 1} of its commit file is not JSON`,
      );
    }
    const a = parseAction(obj, `version ${version} line ${i + 1}`);
    if (a !== undefined) out.push(a);
  }
  return out;
}

/** The whole of a Uint8Array as an ArrayBuffer (hyparquet reads ArrayBuffers). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer as ArrayBuffer;
}

const CHECKPOINT_COLUMNS = [
  "protocol",
  "metaData",
  "txn",
  "add",
  "remove",
  "domainMetadata",
  "sidecar",
] as const;

async function parseCheckpointPart(bytes: Uint8Array, where: string): Promise<ParsedAction[]> {
  let rows: Record<string, unknown>[];
  try {
    const file = arrayBufferOf(bytes);
    const metadata = parquetMetadata(file);
    const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
    const columns = CHECKPOINT_COLUMNS.filter((c) => present.has(c));
    rows = columns.length === 0
      ? []
      : await parquetReadObjects({ file, metadata, columns, compressors: COMPRESSORS });
  } catch (e) {
    throw new IndependentReadError(`Cannot read ${where}: not a readable Parquet file (${e})`);
  }
  const out: ParsedAction[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    for (const column of CHECKPOINT_COLUMNS) {
      const body = row[column];
      if (body === null || body === undefined) continue;
      const a = parseAction({ [column]: body }, `${where} row ${i + 1}`);
      if (a?.kind === "sidecar") {
        throw new IndependentReadError(
          `Cannot read ${where}: V2 checkpoints with sidecars are not supported by this reader`,
        );
      }
      if (a !== undefined) out.push(a);
      break;
    }
  }
  return out;
}

async function readCheckpoint(
  access: TableAccess,
  checkpoint: CheckpointFiles,
): Promise<ParsedAction[]> {
  const parts = await Promise.all(checkpoint.files.map(async (f) => {
    const bytes = await access.get(f.path);
    if (bytes === undefined) throw new VanishedError(`${f.path} vanished`);
    return await parseCheckpointPart(bytes, `checkpoint ${f.path}`);
  }));
  const actions = parts.flat();
  if (!actions.some((a) => a.kind === "protocol") || !actions.some((a) => a.kind === "metaData")) {
    throw new IndependentReadError(
      `Cannot read checkpoint of version ${checkpoint.version}: it lacks protocol or metaData`,
    );
  }
  return actions;
}

// ---------------------------------------------------------------------------------------------
// Replay

/** Hooks the history walk uses to follow file lifetimes. */
interface ReplayHooks {
  activated(key: string, file: IndependentFile): void;
  deactivated(key: string): void;
}

class ReplayState {
  protocol: IndependentProtocol | undefined;
  metaData: IndependentMetaData | undefined;
  readonly files = new Map<string, IndependentFile>();
  /** The active key of each active path. */
  readonly keyByPath = new Map<string, string>();
  readonly tombstones = new Map<string, IndependentRemove>();
  readonly txns = new Map<string, IndependentTxn>();
  readonly domains = new Map<string, string>();
  constructor(private readonly hooks?: ReplayHooks) {}

  apply(actions: readonly ParsedAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case "add": {
          // Delta PROTOCOL, "Action Reconciliation": the active adds have unique paths, the
          // newest (path, dvId) pair of each path. A new deletion vector supersedes the old one.
          const previous = this.keyByPath.get(a.file.path);
          if (previous !== undefined && previous !== a.key) {
            this.files.delete(previous);
            this.hooks?.deactivated(previous);
          }
          if (previous !== a.key) this.hooks?.activated(a.key, a.file);
          this.files.set(a.key, a.file);
          this.keyByPath.set(a.file.path, a.key);
          this.tombstones.delete(a.key);
          break;
        }
        case "remove":
          if (this.files.delete(a.key)) {
            this.keyByPath.delete(a.remove.path);
            this.hooks?.deactivated(a.key);
          }
          this.tombstones.set(a.key, a.remove);
          break;
        case "metaData":
          this.metaData = a.metaData;
          break;
        case "protocol":
          this.protocol = a.protocol;
          break;
        case "txn":
          this.txns.set(a.txn.appId, a.txn);
          break;
        case "domainMetadata":
          if (a.removed) this.domains.delete(a.domain);
          else this.domains.set(a.domain, a.configuration);
          break;
        default:
          break;
      }
    }
  }

  snapshot(version: number, timestampMs: number, checkpointVersion?: number): IndependentSnapshot {
    if (this.protocol === undefined || this.metaData === undefined) {
      throw new IndependentReadError(
        `Cannot load version ${version}: no protocol or metaData action up to it`,
      );
    }
    const byKey = <T extends { path: string; deletionVectorId?: string }>(a: T, b: T) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : (a.deletionVectorId ?? "") <
          (b.deletionVectorId ?? "")
        ? -1
        : 1;
    const snapshot: IndependentSnapshot = {
      version,
      timestampMs,
      protocol: this.protocol,
      metaData: this.metaData,
      files: [...this.files.values()].sort(byKey),
      tombstones: [...this.tombstones.values()].sort(byKey),
      txns: new Map(this.txns),
      domainMetadata: new Map(this.domains),
    };
    if (checkpointVersion !== undefined) snapshot.checkpointVersion = checkpointVersion;
    return snapshot;
  }
}

function inCommitTimestampsEnabled(state: ReplayState): boolean {
  return state.metaData?.configuration["delta.enableInCommitTimestamps"] === "true";
}

/** Commit timestamp of a commit just applied to `state`. */
function commitTimestampMs(
  state: ReplayState,
  actions: readonly ParsedAction[],
  file: TableObject,
) {
  if (inCommitTimestampsEnabled(state)) {
    for (const a of actions) {
      if (a.kind === "commitInfo" && a.inCommitTimestamp !== undefined) return a.inCommitTimestamp;
    }
  }
  return file.lastModifiedMs;
}

async function readCommitFile(access: TableAccess, file: TableObject, version: number) {
  const bytes = await access.get(file.path);
  if (bytes === undefined) throw new VanishedError(`${file.path} vanished`);
  return parseCommit(bytes, version);
}

/** Run `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Retry `fn` with a fresh listing when a listed log file vanished under it. */
async function withFreshListing<R>(
  access: TableAccess,
  fn: (listing: Listing) => Promise<R>,
): Promise<R> {
  for (let attempt = 1;; attempt++) {
    const listing = await listLog(access);
    try {
      return await fn(listing);
    } catch (e) {
      if (!(e instanceof VanishedError) || attempt >= LISTING_ATTEMPTS_MAX) throw e;
    }
  }
}

async function loadAt(
  access: TableAccess,
  listing: Listing,
  version: number,
): Promise<IndependentSnapshot> {
  let checkpoint: CheckpointFiles | undefined;
  for (const v of listing.summary.checkpointVersions) {
    if (v <= version) checkpoint = listing.checkpoints.get(v);
  }
  const from = checkpoint === undefined ? 0 : checkpoint.version + 1;
  const commits: { version: number; file: TableObject }[] = [];
  for (let v = from; v <= version; v++) {
    const file = listing.commits.get(v);
    if (file === undefined) {
      throw new IndependentReadError(
        `Cannot load version ${version}: commit file of version ${v} is missing` +
          (checkpoint === undefined ? " and no checkpoint precedes it" : ""),
      );
    }
    commits.push({ version: v, file });
  }
  const [checkpointActions, parsed] = await Promise.all([
    checkpoint === undefined ? Promise.resolve([]) : readCheckpoint(access, checkpoint),
    mapLimited(commits, COMMIT_READ_CONCURRENCY, (c) => readCommitFile(access, c.file, c.version)),
  ]);
  const state = new ReplayState();
  state.apply(checkpointActions);
  let timestampMs: number;
  if (commits.length > 0) {
    for (const p of parsed) state.apply(p);
    timestampMs = commitTimestampMs(state, parsed.at(-1)!, commits.at(-1)!.file);
  } else {
    timestampMs = await timestampOfCheckpointVersion(access, listing, checkpoint!, state);
  }
  return state.snapshot(version, timestampMs, checkpoint?.version);
}

/** Timestamp of a version loaded from its checkpoint alone: its commit file, else the checkpoint. */
async function timestampOfCheckpointVersion(
  access: TableAccess,
  listing: Listing,
  checkpoint: CheckpointFiles,
  state: ReplayState,
): Promise<number> {
  const commit = listing.commits.get(checkpoint.version);
  if (commit === undefined) return checkpoint.files[0]!.lastModifiedMs;
  if (!inCommitTimestampsEnabled(state)) return commit.lastModifiedMs;
  const actions = await readCommitFile(access, commit, checkpoint.version);
  return commitTimestampMs(state, actions, commit);
}

/**
 * Load the table state at the latest version, or at `options.version`: the newest complete
 * checkpoint at or below it, then every commit after it. Strict: a missing commit, an unreadable
 * checkpoint or a malformed action throws (it does not fall back to an older checkpoint).
 *
 * @throws {IndependentReadError} when there is no log, or the version cannot be loaded
 *
 * @example
 * ```ts
 * import { loadLogIndependently } from "./independent_reader.ts";
 * const commit0 = [
 *   '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}',
 *   '{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":[],"configuration":{}}}',
 *   '{"add":{"path":"a%20b.parquet","partitionValues":{},"size":7,"modificationTime":0,"dataChange":true}}',
 * ].join("\n");
 * const path = "_delta_log/00000000000000000000.json";
 * const access = {
 *   list: () => Promise.resolve([{ path, size: commit0.length, lastModifiedMs: 5 }]),
 *   get: (p: string) => Promise.resolve(p === path ? new TextEncoder().encode(commit0) : undefined),
 * };
 * const snapshot = await loadLogIndependently(access);
 * if (snapshot.files[0]?.path !== "a b.parquet" || snapshot.timestampMs !== 5) throw new Error("bad");
 * ```
 */
export async function loadLogIndependently(
  access: TableAccess,
  options: LoadLogOptions = {},
): Promise<IndependentSnapshot> {
  return await withFreshListing(access, async (listing) => {
    const latest = listing.summary.latestVersion;
    if (latest < 0) throw new IndependentReadError("Cannot load the table: no Delta log");
    const version = options.version ?? latest;
    if (!Number.isSafeInteger(version) || version < 0 || version > latest) {
      throw new IndependentReadError(
        `Cannot load version ${version}: the log holds versions up to ${latest}`,
      );
    }
    return await loadAt(access, listing, version);
  });
}

// ---------------------------------------------------------------------------------------------
// History walk

/** Active logical files at the newest checkpoint, compared with the replay that reached it. */
function compareWithCheckpoint(
  replay: ReplayState,
  checkpoint: ReplayState,
  version: number,
): string | undefined {
  const diffs: string[] = [];
  for (const [key, f] of replay.files) {
    const c = checkpoint.files.get(key);
    if (c === undefined) diffs.push(`lacks ${f.path}`);
    else if (c.size !== f.size) diffs.push(`gives ${f.path} size ${c.size}, not ${f.size}`);
  }
  for (const [key, f] of checkpoint.files) {
    if (!replay.files.has(key)) {
      diffs.push(`adds ${f.path}, which the commits removed or never added`);
    }
  }
  if (replay.metaData?.id !== checkpoint.metaData?.id) diffs.push("holds another metaData.id");
  if (replay.metaData?.schemaString !== checkpoint.metaData?.schemaString) {
    diffs.push("holds another schema");
  }
  if (JSON.stringify(replay.protocol) !== JSON.stringify(checkpoint.protocol)) {
    diffs.push("holds another protocol");
  }
  if (diffs.length === 0) return undefined;
  return `checkpoint of version ${version} disagrees with the replay of the commits up to it: ` +
    `it ${diffs.slice(0, 5).join("; ")}${
      diffs.length > 5 ? ` (and ${diffs.length - 5} more)` : ""
    }`;
}

async function walkHistory(access: TableAccess, listing: Listing): Promise<IndependentHistory> {
  const { summary, commits, checkpoints } = listing;
  const history: IndependentHistory = { ...summary, versions: [], files: [], errors: [] };
  if (summary.latestVersion < 0) return history;
  const newestCheckpoint = summary.checkpointVersions.at(-1) ?? -1;

  const open = new Map<string, FileLifetime>();
  let current = 0; // the version being applied, for the hooks
  const hooks: ReplayHooks = {
    activated(key, file) {
      const life: FileLifetime = { path: file.path, size: file.size, addedVersion: current };
      if (file.deletionVectorId !== undefined) life.deletionVectorId = file.deletionVectorId;
      open.set(key, life);
      history.files.push(life);
    },
    deactivated(key) {
      const life = open.get(key);
      if (life !== undefined) life.removedVersion = current;
      open.delete(key);
    },
  };
  const closeRun = (at: number) => {
    for (const life of open.values()) life.removedVersion = at;
    open.clear();
  };

  let state: ReplayState | undefined;
  let checkpointUsed: number | undefined;
  const first = Math.min(
    summary.commitVersions[0] ?? Infinity,
    summary.checkpointVersions[0] ?? Infinity,
  );
  for (let chunkStart = first; chunkStart <= summary.latestVersion; chunkStart += COMMIT_CHUNK) {
    const chunkEnd = Math.min(chunkStart + COMMIT_CHUNK - 1, summary.latestVersion);
    const wanted: { version: number; file: TableObject }[] = [];
    for (let v = chunkStart; v <= chunkEnd; v++) {
      const file = commits.get(v);
      if (file !== undefined) wanted.push({ version: v, file });
    }
    const parsed = new Map<number, ParsedAction[] | Error | undefined>();
    const results = await mapLimited(wanted, COMMIT_READ_CONCURRENCY, async (c) => {
      try {
        return await readCommitFile(access, c.file, c.version);
      } catch (e) {
        if (e instanceof VanishedError) {
          // Log cleanup deletes commits below a checkpoint: such a commit is simply gone. Above
          // the newest checkpoint nothing may vanish: list again and look once more.
          if (c.version > newestCheckpoint) throw e;
          return undefined;
        }
        if (!(e instanceof IndependentReadError)) throw e;
        return e;
      }
    });
    wanted.forEach((c, i) => parsed.set(c.version, results[i]));

    for (let v = chunkStart; v <= chunkEnd; v++) {
      current = v;
      const actions = parsed.get(v);
      if (actions instanceof Error) history.errors.push(`version ${v}: ${actions.message}`);
      const file = Array.isArray(actions) ? commits.get(v) : undefined;
      const checkpoint = checkpoints.get(v);
      if ((state !== undefined || v === 0) && file !== undefined && Array.isArray(actions)) {
        state ??= new ReplayState(hooks);
        state.apply(actions);
        if (checkpoint !== undefined) {
          // Every checkpoint must say what the commits say: the newest is where a reader of the
          // latest version starts, and an older one was where some process (vacuum, a runner
          // loading the table) started while it was the newest.
          try {
            const fromCheckpoint = new ReplayState();
            fromCheckpoint.apply(await readCheckpoint(access, checkpoint));
            const diff = compareWithCheckpoint(state, fromCheckpoint, v);
            if (diff !== undefined) history.errors.push(diff);
            checkpointUsed = v;
          } catch (e) {
            if (!(e instanceof IndependentReadError)) throw e;
            // An older checkpoint that log cleanup deleted meanwhile is no longer anyone's start.
            if (e instanceof VanishedError && v === newestCheckpoint) throw e;
            if (!(e instanceof VanishedError)) history.errors.push(`version ${v}: ${e.message}`);
          }
        }
      } else if (checkpoint !== undefined) {
        closeRun(v);
        try {
          const fromCheckpoint = new ReplayState(hooks);
          fromCheckpoint.apply(await readCheckpoint(access, checkpoint));
          state = fromCheckpoint;
          checkpointUsed = v;
        } catch (e) {
          if (!(e instanceof IndependentReadError)) throw e;
          if (e instanceof VanishedError && v >= newestCheckpoint) throw e;
          if (!(e instanceof VanishedError)) history.errors.push(`version ${v}: ${e.message}`);
          closeRun(v);
          state = undefined;
          continue;
        }
      } else {
        if (state !== undefined) closeRun(v);
        state = undefined;
        continue;
      }
      if (state.protocol === undefined || state.metaData === undefined) {
        history.errors.push(`version ${v}: no protocol or metaData action up to it`);
        closeRun(v);
        state = undefined;
        continue;
      }
      const timestampMs = file !== undefined && Array.isArray(actions)
        ? commitTimestampMs(state, actions, file)
        : checkpoint!.files[0]!.lastModifiedMs;
      history.versions.push({ version: v, timestampMs, numFiles: state.files.size });
      if (v === summary.latestVersion) {
        history.latest = state.snapshot(v, timestampMs, checkpointUsed);
      }
    }
  }
  if (history.latest === undefined) {
    history.errors.push(`version ${summary.latestVersion}: no reader can load the latest version`);
  }
  return history;
}

/**
 * Walk every reconstructable version of the table once: the listing, each reconstructable version
 * with its commit timestamp, the lifetime of every logical file, the latest version as a reader
 * loads it, and every problem met on the way (see {@linkcode IndependentHistory.errors}).
 *
 * The walk starts at the oldest checkpoint or at version 0, applies the commits in order and,
 * where a commit file is missing or unreadable, starts again at the next checkpoint. The newest
 * checkpoint is read and compared with the replay that reaches it.
 *
 * @example
 * ```ts
 * import { loadHistoryIndependently } from "./independent_reader.ts";
 * const access = { list: () => Promise.resolve([]), get: () => Promise.resolve(undefined) };
 * const history = await loadHistoryIndependently(access);
 * if (history.latestVersion !== -1 || history.versions.length !== 0) throw new Error("not empty");
 * ```
 */
export async function loadHistoryIndependently(access: TableAccess): Promise<IndependentHistory> {
  return await withFreshListing(access, (listing) => walkHistory(access, listing));
}

// ---------------------------------------------------------------------------------------------
// Data files

const COMPRESSORS: Compressors = {
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
  ZSTD: (input) => new Uint8Array(zstdDecompressSync(input)),
};

interface SchemaField {
  name: string;
  type: unknown;
}

function schemaFields(metaData: IndependentMetaData): SchemaField[] {
  let schema: unknown;
  try {
    schema = JSON.parse(metaData.schemaString);
  } catch {
    throw new IndependentReadError("Cannot read the table: metaData.schemaString is not JSON");
  }
  if (!isObject(schema) || !Array.isArray(schema.fields)) {
    throw new IndependentReadError("Cannot read the table: the schema is not a struct");
  }
  return schema.fields.filter((f): f is SchemaField => isObject(f) && typeof f.name === "string");
}

/** Refuse what this reader cannot read correctly. */
function assertReadable(snapshot: IndependentSnapshot): void {
  const mode = snapshot.metaData.configuration["delta.columnMapping.mode"];
  if (mode !== undefined && mode !== "none") {
    throw new IndependentReadError(
      `Cannot read version ${snapshot.version}: column mapping (${mode}) is not supported by ` +
        "this reader",
    );
  }
  for (const f of snapshot.protocol.readerFeatures ?? []) {
    if (!READER_FEATURES_KNOWN.has(f)) {
      throw new IndependentReadError(
        `Cannot read version ${snapshot.version}: reader feature ${f} is not supported`,
      );
    }
  }
  const withDv = snapshot.files.find((f) => f.deletionVectorId !== undefined);
  if (withDv !== undefined) {
    throw new IndependentReadError(
      `Cannot read version ${snapshot.version}: ${withDv.path} has a deletion vector, which this ` +
        "reader does not apply",
    );
  }
}

/**
 * The storage path (relative to the table root) of a data file path from the log: a relative
 * path as it is, an absolute URI (`file:`, `s3:`, `s3a:`, `s3n:`) only when it lies under
 * `access.location`.
 *
 * @throws {IndependentReadError} for an absolute path outside the table root
 *
 * @example
 * ```ts
 * import { resolveDataPath } from "./independent_reader.ts";
 * const access = {
 *   location: "s3://bucket/events",
 *   list: () => Promise.resolve([]),
 *   get: () => Promise.resolve(undefined),
 * };
 * if (resolveDataPath(access, "s3a://bucket/events/d=1/a.parquet") !== "d=1/a.parquet") {
 *   throw new Error("not resolved");
 * }
 * ```
 */
export function resolveDataPath(access: TableAccess, path: string): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(path);
  if (scheme === null) return path;
  const normalize = (uri: string) =>
    uri.replace(/^file:\/*/, "file:///").replace(/^s3[an]:\/\//, "s3://").replace(/\/+$/, "");
  const location = access.location === undefined ? undefined : normalize(access.location);
  let decodedLocation = location;
  try {
    if (location !== undefined) decodedLocation = decodeURIComponent(location);
  } catch {
    // keep it encoded
  }
  const target = normalize(path);
  if (decodedLocation !== undefined && target.startsWith(`${decodedLocation}/`)) {
    return target.slice(decodedLocation.length + 1);
  }
  throw new IndependentReadError(
    `Cannot read ${path}: an absolute path outside the table root ${
      access.location ?? "(unknown)"
    }`,
  );
}

async function readFileKeys(
  access: TableAccess,
  file: IndependentFile,
  column: string,
  partition: boolean,
): Promise<unknown[]> {
  const path = resolveDataPath(access, file.path);
  const bytes = await access.get(path);
  if (bytes === undefined) throw new IndependentReadError(`data file ${file.path} is missing`);
  const buffer = arrayBufferOf(bytes);
  let metadata;
  try {
    metadata = parquetMetadata(buffer);
  } catch (e) {
    throw new IndependentReadError(`data file ${file.path} is not readable Parquet (${e})`);
  }
  const numRows = Number(metadata.num_rows);
  if (partition) {
    // Delta PROTOCOL, "Data Files": partition values come from the log, not from the file.
    const value = file.partitionValues[column] ?? null;
    return new Array(numRows).fill(value === "" ? null : value);
  }
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!names.includes(column)) return new Array(numRows).fill(null);
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({
      file: buffer,
      metadata,
      columns: [column],
      compressors: COMPRESSORS,
    });
  } catch (e) {
    throw new IndependentReadError(`data file ${file.path} cannot be decoded (${e})`);
  }
  if (rows.length !== numRows) {
    throw new IndependentReadError(
      `data file ${file.path} holds ${rows.length} rows, its footer says ${numRows}`,
    );
  }
  return rows.map((r) => r[column] ?? null);
}

/**
 * Read the values of one top-level column from every active file of `snapshot`, with hyparquet.
 * A partition column's values come from `add.partitionValues` (one per row of the file).
 *
 * @param column a top-level column of the table schema (exact name, else case-insensitive)
 * @throws {IndependentReadError} on an unknown column, deletion vectors, column mapping, an
 * unsupported reader feature, or (without `collectErrors`) a missing or unreadable data file
 *
 * @example
 * ```ts ignore
 * import { loadLogIndependently, readKeysIndependently } from "./independent_reader.ts";
 * import { localTableAccess } from "./table_access.ts";
 * const access = localTableAccess("data/events");
 * const { values } = await readKeysIndependently(access, await loadLogIndependently(access), "payload");
 * ```
 */
export async function readKeysIndependently(
  access: TableAccess,
  snapshot: IndependentSnapshot,
  column: string,
  options: ReadKeysOptions = {},
): Promise<KeysRead> {
  assertReadable(snapshot);
  const fields = schemaFields(snapshot.metaData);
  const field = fields.find((f) => f.name === column) ??
    fields.find((f) => f.name.toLowerCase() === column.toLowerCase());
  if (field === undefined) {
    throw new IndependentReadError(
      `Cannot read column ${
        JSON.stringify(column)
      }: not in the schema of version ${snapshot.version}`,
    );
  }
  const partition = snapshot.metaData.partitionColumns.includes(field.name);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new IndependentReadError(`Cannot read with concurrency ${concurrency}: must be >= 1`);
  }
  const errors: KeysRead["errors"] = [];
  const perFile = await mapLimited(snapshot.files, concurrency, async (file) => {
    try {
      return await readFileKeys(access, file, field.name, partition);
    } catch (e) {
      if (!options.collectErrors) throw e;
      errors.push({ path: file.path, message: (e as Error).message });
      return [];
    }
  });
  return { values: perFile.flat(), errors };
}
