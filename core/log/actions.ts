/**
 * Delta log actions, spelled as PROTOCOL.md spells them ("Actions").
 *
 * Types only live here with the JSON codec; replay and commit logic live in their own modules.
 *
 * @module
 */
import { CorruptLogError } from "../errors.ts";
import { decodeLogPath, encodeLogPath } from "./paths.ts";

/** Delta PROTOCOL, "Protocol Evolution". */
export interface Protocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

/** Delta PROTOCOL, "Format Specification" of `metaData`. */
export interface Format {
  provider: string;
  options?: Record<string, string>;
}

/** Delta PROTOCOL, "Change Metadata". */
export interface Metadata {
  id: string;
  name?: string | null;
  description?: string | null;
  format: Format;
  schemaString: string;
  partitionColumns: string[];
  createdTime?: number | null;
  configuration: Record<string, string>;
}

/** Delta PROTOCOL, "Deletion Vector Descriptor Schema". */
export interface DeletionVectorDescriptor {
  /** `u` (relative path with random prefix, z85 uuid), `i` (inline, z85) or `p` (absolute path). */
  storageType: "u" | "i" | "p";
  pathOrInlineDv: string;
  offset?: number;
  sizeInBytes: number;
  cardinality: number;
  maxRowIndex?: number | null;
}

/** Delta PROTOCOL, "Add File and Remove File" (`add`). `path` is percent-decoded. */
export interface Add {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** JSON-encoded statistics, as in the log. */
  stats?: string | null;
  /** Statistics already parsed (from a checkpoint's `stats_parsed`), when present. */
  statsParsed?: Record<string, unknown> | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
  clusteringProvider?: string | null;
}

/** Delta PROTOCOL, "Add File and Remove File" (`remove`). `path` is percent-decoded. */
export interface Remove {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

/** Delta PROTOCOL, "Add CDC File". `path` is percent-decoded. */
export interface Cdc {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  dataChange: boolean;
  tags?: Record<string, string> | null;
}

/** Delta PROTOCOL, "Transaction Identifiers". */
export interface Txn {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

/** Delta PROTOCOL, "Commit Provenance Information": free-form. */
export type CommitInfo = Record<string, unknown>;

/** Delta PROTOCOL, "Domain Metadata". */
export interface DomainMetadata {
  domain: string;
  configuration: string;
  removed: boolean;
}

/** Delta PROTOCOL, "Checkpoint Metadata" (V2 checkpoints). */
export interface CheckpointMetadata {
  version: number;
  tags?: Record<string, string> | null;
}

/** Delta PROTOCOL, "Sidecar File Information" (V2 checkpoints). `path` is relative to `_delta_log/_sidecars`. */
export interface Sidecar {
  path: string;
  sizeInBytes: number;
  modificationTime: number;
  tags?: Record<string, string> | null;
}

/** One line of a commit file: exactly one of the keys is set. */
export type Action =
  | { protocol: Protocol }
  | { metaData: Metadata }
  | { add: Add }
  | { remove: Remove }
  | { cdc: Cdc }
  | { txn: Txn }
  | { commitInfo: CommitInfo }
  | { domainMetadata: DomainMetadata }
  | { checkpointMetadata: CheckpointMetadata }
  | { sidecar: Sidecar };

/** The action keys this codec knows, in the order PROTOCOL.md lists them. */
const ACTION_KEYS = [
  "protocol",
  "metaData",
  "add",
  "remove",
  "cdc",
  "txn",
  "commitInfo",
  "domainMetadata",
  "checkpointMetadata",
  "sidecar",
] as const;

/** Name of the one key an action holds. */
export type ActionKind = (typeof ACTION_KEYS)[number];

/** The key of `action` (`"add"`, `"remove"`, ...). */
export function actionKind(action: Action): ActionKind {
  for (const k of ACTION_KEYS) {
    if (k in action) return k;
  }
  throw new TypeError("Cannot classify action: no known key");
}

/**
 * Unique id of a deletion vector (Delta PROTOCOL, "Deletion Vector Descriptor Schema": `uniqueId`),
 * or `""` when there is none. Files are keyed by `(path, uniqueId)` in log replay.
 *
 * @example
 * ```ts
 * import { deletionVectorUniqueId } from "./actions.ts";
 * const id = deletionVectorUniqueId({
 *   storageType: "u", pathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k^", offset: 4, sizeInBytes: 40, cardinality: 6,
 * });
 * if (id !== "uab^-aqEH.-t@S}K{vb[*k^@4") throw new Error(id);
 * ```
 */
export function deletionVectorUniqueId(dv: DeletionVectorDescriptor | null | undefined): string {
  if (!dv) return "";
  const base = `${dv.storageType}${dv.pathOrInlineDv}`;
  return dv.offset === undefined || dv.offset === null ? base : `${base}@${dv.offset}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodePathOf(
  body: Record<string, unknown>,
  kind: string,
  source: string,
  line: number,
): string {
  const raw = body.path;
  if (typeof raw !== "string") {
    throw new CorruptLogError(`Cannot read ${source}: ${kind} without a path on line ${line}`);
  }
  const decoded = decodeLogPath(raw);
  if (decoded === undefined) {
    throw new CorruptLogError(
      `Cannot read ${source}: malformed percent-encoding in ${kind} path on line ${line}`,
    );
  }
  return decoded;
}

/**
 * Turn one parsed JSON object into an action, or `undefined` when it holds no known action key
 * (Delta PROTOCOL: readers ignore unknown actions). Paths of `add`, `remove` and `cdc` are
 * percent-decoded once. Throws {@linkcode CorruptLogError} when a known action is malformed.
 */
export function toAction(obj: unknown, source: string, line: number): Action | undefined {
  if (!isObject(obj)) {
    throw new CorruptLogError(`Cannot read ${source}: line ${line} is not a JSON object`);
  }
  for (const k of ACTION_KEYS) {
    const body = obj[k];
    if (body === undefined || body === null) continue;
    if (!isObject(body)) {
      throw new CorruptLogError(`Cannot read ${source}: ${k} on line ${line} is not an object`);
    }
    if (k === "add" || k === "remove" || k === "cdc") {
      const path = decodePathOf(body, k, source, line);
      return { [k]: { ...body, path } } as Action;
    }
    if (k === "protocol") {
      if (typeof body.minReaderVersion !== "number" || typeof body.minWriterVersion !== "number") {
        throw new CorruptLogError(
          `Cannot read ${source}: protocol without reader/writer versions on line ${line}`,
        );
      }
    } else if (k === "metaData") {
      if (typeof body.id !== "string" || typeof body.schemaString !== "string") {
        throw new CorruptLogError(
          `Cannot read ${source}: metaData without id or schemaString on line ${line}`,
        );
      }
      return {
        metaData: {
          ...body,
          partitionColumns: Array.isArray(body.partitionColumns) ? body.partitionColumns : [],
          configuration: isObject(body.configuration) ? body.configuration : {},
          format: isObject(body.format) ? body.format : { provider: "parquet" },
        },
      } as unknown as Action;
    } else if (k === "txn") {
      if (typeof body.appId !== "string" || typeof body.version !== "number") {
        throw new CorruptLogError(
          `Cannot read ${source}: txn without appId/version on line ${line}`,
        );
      }
    } else if (k === "domainMetadata") {
      if (typeof body.domain !== "string") {
        throw new CorruptLogError(
          `Cannot read ${source}: domainMetadata without domain on line ${line}`,
        );
      }
    }
    return { [k]: body } as Action;
  }
  return undefined;
}

/**
 * Parse a commit file (newline-delimited JSON, one action per line). Blank lines are ignored, lines
 * with only unknown action keys are skipped, and `add`/`remove`/`cdc` paths are percent-decoded once.
 *
 * @param text the file content
 * @param source a name for error messages, e.g. `version 3` or the file path
 * @throws {CorruptLogError} on a line that is not valid JSON or holds a malformed action
 *
 * @example
 * ```ts
 * import { parseActions } from "./actions.ts";
 * const actions = parseActions(
 *   '{"add":{"path":"a%20b.parquet","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}\n\n{"future":{}}\n',
 *   "version 0",
 * );
 * if (actions.length !== 1 || !("add" in actions[0]!) || actions[0].add.path !== "a b.parquet") {
 *   throw new Error("bad parse");
 * }
 * ```
 */
export function parseActions(text: string, source: string): Action[] {
  const out: Action[] = [];
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw.trim() === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new CorruptLogError(`Cannot read ${source}: invalid JSON on line ${line}`, {
        cause: e,
      });
    }
    const action = toAction(obj, source, line);
    if (action !== undefined) out.push(action);
  }
  return out;
}

/**
 * Serialize actions as a commit file: one compact JSON object per line, each line ending in `\n`.
 * Paths of `add`, `remove` and `cdc` are percent-encoded so that {@linkcode parseActions} gives
 * them back unchanged.
 *
 * @example
 * ```ts
 * import { parseActions, serializeActions } from "./actions.ts";
 * const text = serializeActions([{ txn: { appId: "edge-1", version: 7 } }, {
 *   add: { path: "p=a b/x.parquet", partitionValues: { p: "a b" }, size: 10, modificationTime: 1, dataChange: true },
 * }]);
 * if (!text.includes('"path":"p=a%20b/x.parquet"')) throw new Error(text);
 * const back = parseActions(text, "test");
 * if (JSON.stringify(back) !== JSON.stringify(parseActions(serializeActions(back), "test"))) {
 *   throw new Error("round trip changed the actions");
 * }
 * ```
 */
export function serializeActions(actions: readonly Action[]): string {
  let out = "";
  for (const action of actions) {
    let value: unknown = action;
    if ("add" in action) value = { add: { ...action.add, path: encodeLogPath(action.add.path) } };
    else if ("remove" in action) {
      value = { remove: { ...action.remove, path: encodeLogPath(action.remove.path) } };
    } else if ("cdc" in action) {
      value = { cdc: { ...action.cdc, path: encodeLogPath(action.cdc.path) } };
    }
    out += JSON.stringify(value) + "\n";
  }
  return out;
}
