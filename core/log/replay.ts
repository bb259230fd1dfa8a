/**
 * Log replay (Delta PROTOCOL, "Action Reconciliation"), pure and without IO.
 *
 * Actions are applied oldest first: a checkpoint (if any) and then every commit after it.
 *
 * * the newest `protocol` and `metaData` win;
 * * `txn`: the newest per `appId`;
 * * `domainMetadata`: the newest per `domain`, a `removed` one drops the domain;
 * * files are keyed by `(path, deletionVector.uniqueId)`: an `add` makes its key active (and
 *   replaces an active entry of the same path, which is how a new deletion vector supersedes the
 *   old one); a `remove` deactivates its key and becomes a tombstone.
 *
 * The file state lives in a {@linkcode FileIndex}, a chain of small copy-on-write layers over a flat
 * base, so that {@linkcode applyCommitToSnapshot} costs O(size of the commit), not O(active files).
 * The `files`/`tombstones` arrays of a snapshot are built lazily on first access and cached. When
 * the layer below has its arrays already, a layer derives its own from them: O(active files) for
 * `files`, and `tombstones` is the very array below when the commit removed nothing, so a runner
 * that reads `files` after every commit no longer pays for every tombstone of the table each time
 * (20,000 tombstones after ten minutes of ingest with compaction cost 4 ms a commit).
 *
 * @module
 */
import { CorruptLogError } from "../errors.ts";
import type { Action, Add, DomainMetadata, Metadata, Protocol, Remove, Txn } from "./actions.ts";
import { deletionVectorUniqueId } from "./actions.ts";
import type { CheckpointUsed, ColumnMappingMode, Snapshot } from "../snapshot/snapshot.ts";
import type { StructType } from "../schema/types.ts";

/** Key of a tombstone: path and deletion vector id. */
function fileKey(path: string, dv: Add["deletionVector"]): string {
  const id = deletionVectorUniqueId(dv);
  return id === "" ? path : `${path}\u0000${id}`;
}

/** Collapse the chain once it is this deep, bounding lookup cost and memory held by old layers. */
const FILE_INDEX_DEPTH_MAX = 32;

/**
 * Active files and tombstones as a chain of layers. Each layer maps a path to the active `add`
 * (or `null` = deleted in this layer) and a tombstone key to its `remove` (or `null`). A layer is
 * never changed once another layer sits on top of it, so snapshots can share their parents.
 */
export class FileIndex {
  /** The layer below, or `undefined` for the base. */
  #parent: FileIndex | undefined;
  /** Depth of this layer (base = 0). */
  depth: number;
  #adds: Map<string, Add | null>;
  #removes: Map<string, Remove | null>;
  #files: readonly Add[] | undefined;
  #tombstones: readonly Remove[] | undefined;

  /** Create an empty base index, or a new (empty, writable) layer on top of `parent`. */
  constructor(parent?: FileIndex) {
    this.#parent = parent;
    this.depth = parent ? parent.depth + 1 : 0;
    this.#adds = new Map();
    this.#removes = new Map();
  }

  /** The active `add` of `path`, if any. */
  getAdd(path: string): Add | undefined {
    // deno-lint-ignore no-this-alias
    let layer: FileIndex | undefined = this;
    while (layer) {
      const v = layer.#adds.get(path);
      if (v !== undefined) return v ?? undefined;
      layer = layer.#parent;
    }
    return undefined;
  }

  #getRemove(key: string): Remove | undefined {
    // deno-lint-ignore no-this-alias
    let layer: FileIndex | undefined = this;
    while (layer) {
      const v = layer.#removes.get(key);
      if (v !== undefined) return v ?? undefined;
      layer = layer.#parent;
    }
    return undefined;
  }

  /** Apply an `add` to this (writable, topmost) layer. */
  applyAdd(add: Add): void {
    this.#files = undefined;
    this.#tombstones = undefined;
    // Delete then set so that the map keeps log order of the newest add.
    if (this.#parent === undefined) this.#adds.delete(add.path);
    this.#adds.set(add.path, add);
    const key = fileKey(add.path, add.deletionVector);
    if (this.#parent === undefined) this.#removes.delete(key);
    else if (this.#getRemove(key) !== undefined) this.#removes.set(key, null);
  }

  /** Apply a `remove` to this (writable, topmost) layer. */
  applyRemove(remove: Remove): void {
    this.#files = undefined;
    this.#tombstones = undefined;
    const current = this.getAdd(remove.path);
    const key = fileKey(remove.path, remove.deletionVector);
    if (current && fileKey(current.path, current.deletionVector) === key) {
      if (this.#parent === undefined) this.#adds.delete(remove.path);
      else this.#adds.set(remove.path, null);
    }
    if (this.#parent === undefined) this.#removes.delete(key);
    this.#removes.set(key, remove);
  }

  /** Merge the chain into one base layer (O(active files + changes)). */
  flatten(): FileIndex {
    if (this.#parent === undefined) return this;
    const chain: FileIndex[] = [];
    // deno-lint-ignore no-this-alias
    let layer: FileIndex | undefined = this;
    while (layer) {
      chain.push(layer);
      layer = layer.#parent;
    }
    const base = new FileIndex();
    for (let i = chain.length - 1; i >= 0; i--) {
      const l = chain[i]!;
      for (const [path, add] of l.#adds) {
        base.#adds.delete(path);
        if (add) base.#adds.set(path, add);
      }
      for (const [key, rm] of l.#removes) {
        base.#removes.delete(key);
        if (rm) base.#removes.set(key, rm);
      }
    }
    // Same state, same arrays: a child of the flat copy can still derive its own from them.
    base.#files = this.#files;
    base.#tombstones = this.#tombstones;
    return base;
  }

  /** A new writable layer on top of this one (merging layers first when the chain is deep). */
  child(): FileIndex {
    const parent = this.depth >= FILE_INDEX_DEPTH_MAX ? this.#merged() : this;
    return new FileIndex(parent);
  }

  /** Entries of this layer. */
  get #size(): number {
    return this.#adds.size + this.#removes.size;
  }

  /**
   * The same state as this layer with fewer layers below it: the top layers merged into one, as
   * long as the next layer down holds no more entries than those merged so far (a binary counter:
   * each entry is copied O(log entries) times, and the table's whole state only once it has
   * doubled). Flattening the whole chain every {@linkcode FILE_INDEX_DEPTH_MAX} commits instead
   * copied every tombstone each time: 20 to 40 ms a second for a runner at 34 commits/s over
   * 20,000 tombstones.
   */
  #merged(): FileIndex {
    const top: FileIndex[] = [];
    let accumulated = 0;
    // deno-lint-ignore no-this-alias
    let below: FileIndex | undefined = this;
    while (below !== undefined && (top.length < 2 || below.#size <= accumulated)) {
      top.push(below);
      accumulated += below.#size;
      below = below.#parent;
    }
    if (below === undefined) return this.flatten();
    const merged = new FileIndex(below);
    for (let i = top.length - 1; i >= 0; i--) {
      const l = top[i]!;
      // Delete then set, as flatten: an entry sits where its newest layer put it.
      for (const [path, add] of l.#adds) {
        merged.#adds.delete(path);
        merged.#adds.set(path, add);
      }
      for (const [key, rm] of l.#removes) {
        merged.#removes.delete(key);
        merged.#removes.set(key, rm);
      }
    }
    merged.#files = this.#files;
    merged.#tombstones = this.#tombstones;
    return merged;
  }

  #materialize(): void {
    // Derive the arrays from the nearest layer below that has them, one layer at a time.
    const path: FileIndex[] = [];
    // deno-lint-ignore no-this-alias
    let known: FileIndex | undefined = this;
    while (known !== undefined && known.#files === undefined) {
      path.push(known);
      known = known.#parent;
    }
    if (known !== undefined) {
      for (let i = path.length - 1; i >= 0; i--) {
        const layer = path[i]!;
        const parent = layer.#parent!;
        layer.#files = layer.#filesOver(parent, parent.#files!);
        layer.#tombstones = layer.#tombstonesOver(parent, parent.#tombstones!);
      }
      return;
    }
    const flat = this.flatten();
    const files = [...flat.#adds.values()] as Add[];
    const tombstones: Remove[] = [];
    for (const [key, rm] of flat.#removes) {
      if (!rm) continue;
      const active = flat.#adds.get(rm.path);
      if (active && fileKey(active.path, active.deletionVector) === key) continue;
      tombstones.push(rm);
    }
    // Keep the flat copy: later reads and children do not walk the chain again.
    if (flat !== this) {
      this.#parent = undefined;
      this.depth = 0;
      this.#adds = flat.#adds;
      this.#removes = flat.#removes;
    }
    this.#files = files;
    this.#tombstones = tombstones;
  }

  /**
   * This layer's active files from `below`, the files of `parent` (what {@linkcode flatten} then
   * `#materialize` would give, in the same order): the files below whose path this layer did not
   * touch, then this layer's adds.
   */
  #filesOver(parent: FileIndex, below: readonly Add[]): readonly Add[] {
    if (this.#adds.size === 0) return below;
    let touched = false;
    for (const path of this.#adds.keys()) {
      if (parent.getAdd(path) !== undefined) {
        touched = true;
        break;
      }
    }
    const files = touched ? below.filter((a) => !this.#adds.has(a.path)) : below.slice();
    for (const a of this.#adds.values()) if (a) files.push(a);
    return files;
  }

  /**
   * This layer's tombstones from `below`, the tombstones of `parent` (what {@linkcode flatten} then
   * `#materialize` would give, in the same order): the tombstones below whose key this layer did
   * not touch (a layer that touched no key shares the array), then this layer's removes whose file
   * is not active.
   */
  #tombstonesOver(parent: FileIndex, below: readonly Remove[]): readonly Remove[] {
    if (this.#removes.size === 0) return below;
    let touched = false;
    for (const key of this.#removes.keys()) {
      if (parent.#getRemove(key) !== undefined) {
        touched = true;
        break;
      }
    }
    const tombstones = touched
      ? below.filter((r) => !this.#removes.has(fileKey(r.path, r.deletionVector)))
      : below.slice();
    for (const [key, rm] of this.#removes) {
      if (!rm) continue;
      const active = this.getAdd(rm.path);
      if (active && fileKey(active.path, active.deletionVector) === key) continue;
      tombstones.push(rm);
    }
    return tombstones;
  }

  /** Active files, in log order of their newest `add`. Cached. */
  files(): readonly Add[] {
    if (this.#files === undefined) this.#materialize();
    return this.#files!;
  }

  /** Removes whose file is not active. Cached. */
  tombstones(): readonly Remove[] {
    if (this.#tombstones === undefined) this.#materialize();
    return this.#tombstones!;
  }
}

/** Mutable state of a replay in progress. */
export interface ReplayState {
  /** Newest version applied, -1 before any. */
  version: number;
  protocol: Protocol | undefined;
  metadata: Metadata | undefined;
  txns: Map<string, Txn>;
  domainMetadata: Map<string, DomainMetadata>;
  files: FileIndex;
  /** `commitInfo` of the newest version applied, when it had one. */
  commitInfo: Record<string, unknown> | undefined;
}

/**
 * Create an empty replay state.
 *
 * @example
 * ```ts
 * import { applyActions, createReplayState, finishReplay } from "./replay.ts";
 * const state = createReplayState();
 * applyActions(state, 0, [
 *   { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
 *   { metaData: { id: "t", format: { provider: "parquet" }, partitionColumns: [], configuration: {},
 *     schemaString: '{"type":"struct","fields":[]}' } },
 *   { add: { path: "a.parquet", partitionValues: {}, size: 1, modificationTime: 0, dataChange: true } },
 * ]);
 * applyActions(state, 1, [{ remove: { path: "a.parquet", dataChange: true, deletionTimestamp: 5 } }]);
 * const snapshot = finishReplay(state, { timestampMs: 5 });
 * if (snapshot.files.length !== 0 || snapshot.tombstones.length !== 1) throw new Error("bad replay");
 * ```
 */
export function createReplayState(): ReplayState {
  return {
    version: -1,
    protocol: undefined,
    metadata: undefined,
    txns: new Map(),
    domainMetadata: new Map(),
    files: new FileIndex(),
    commitInfo: undefined,
  };
}

/**
 * Apply the actions of one version (a commit, or a whole checkpoint) to `state`, in place.
 * `state.files` must be the writable top layer (as {@linkcode createReplayState} makes it).
 */
export function applyActions(
  state: ReplayState,
  version: number,
  actions: readonly Action[],
): void {
  let commitInfo: Record<string, unknown> | undefined;
  for (const a of actions) {
    if ("add" in a) state.files.applyAdd(a.add);
    else if ("remove" in a) state.files.applyRemove(a.remove);
    else if ("txn" in a) state.txns.set(a.txn.appId, a.txn);
    else if ("metaData" in a) state.metadata = a.metaData;
    else if ("protocol" in a) state.protocol = a.protocol;
    else if ("domainMetadata" in a) {
      if (a.domainMetadata.removed) state.domainMetadata.delete(a.domainMetadata.domain);
      else state.domainMetadata.set(a.domainMetadata.domain, a.domainMetadata);
    } else if ("commitInfo" in a) commitInfo = a.commitInfo;
  }
  state.commitInfo = commitInfo;
  state.version = version;
}

/** Column mapping mode of a table (`delta.columnMapping.mode`, default `none`). */
export function columnMappingModeOf(metadata: Metadata): ColumnMappingMode {
  const mode = metadata.configuration["delta.columnMapping.mode"];
  if (mode === "name" || mode === "id") return mode;
  return "none";
}

/** Parse `schemaString` into a struct type (as JSON; the schema module validates it further). */
function parseSchemaString(metadata: Metadata, version: number): StructType {
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata.schemaString);
  } catch (e) {
    throw new CorruptLogError(`Cannot load version ${version}: schemaString is not valid JSON`, {
      cause: e,
    });
  }
  if (
    typeof parsed !== "object" || parsed === null ||
    (parsed as { type?: unknown }).type !== "struct"
  ) {
    throw new CorruptLogError(`Cannot load version ${version}: schemaString is not a struct`);
  }
  return parsed as StructType;
}

/** Options of {@linkcode finishReplay}. */
export interface FinishReplayOptions {
  /** Commit timestamp of the state's version, epoch ms. */
  timestampMs: number;
  /** The checkpoint replay started from. */
  checkpointUsed?: CheckpointUsed;
}

/** Hidden link from a snapshot to its file index, for {@linkcode applyCommitToSnapshot}. */
const FILE_INDEX = Symbol("lakestrike.fileIndex");

class ReplayedSnapshot implements Snapshot {
  readonly version: number;
  readonly protocol: Protocol;
  readonly metadata: Metadata;
  readonly schema: StructType;
  readonly columnMappingMode: ColumnMappingMode;
  readonly txns: ReadonlyMap<string, Txn>;
  readonly domainMetadata: ReadonlyMap<string, DomainMetadata>;
  readonly timestampMs: number;
  readonly checkpointUsed?: CheckpointUsed;
  declare readonly files: readonly Add[];
  declare readonly tombstones: readonly Remove[];
  readonly [FILE_INDEX]: FileIndex;

  constructor(
    fields: Omit<Snapshot, "files" | "tombstones" | "checkpointUsed">,
    index: FileIndex,
    checkpointUsed: CheckpointUsed | undefined,
  ) {
    this.version = fields.version;
    this.protocol = fields.protocol;
    this.metadata = fields.metadata;
    this.schema = fields.schema;
    this.columnMappingMode = fields.columnMappingMode;
    this.txns = fields.txns;
    this.domainMetadata = fields.domainMetadata;
    this.timestampMs = fields.timestampMs;
    if (checkpointUsed) this.checkpointUsed = checkpointUsed;
    this[FILE_INDEX] = index;
    // Own enumerable getters (not prototype ones) so that `{ ...snapshot }` keeps the files.
    Object.defineProperty(this, "files", { enumerable: true, get: () => index.files() });
    Object.defineProperty(this, "tombstones", { enumerable: true, get: () => index.tombstones() });
  }
}

/**
 * Turn a replay state into an immutable {@linkcode Snapshot}. The state must not be used afterwards.
 *
 * @throws {CorruptLogError} when no `protocol` or `metaData` was seen
 */
export function finishReplay(state: ReplayState, options: FinishReplayOptions): Snapshot {
  if (!state.protocol) {
    throw new CorruptLogError(
      `Cannot load version ${state.version}: no protocol action in reconstructed snapshot`,
    );
  }
  if (!state.metadata) {
    throw new CorruptLogError(
      `Cannot load version ${state.version}: no metaData action in reconstructed snapshot`,
    );
  }
  return new ReplayedSnapshot(
    {
      version: state.version,
      protocol: state.protocol,
      metadata: state.metadata,
      schema: parseSchemaString(state.metadata, state.version),
      columnMappingMode: columnMappingModeOf(state.metadata),
      txns: state.txns,
      domainMetadata: state.domainMetadata,
      timestampMs: options.timestampMs,
    },
    state.files,
    options.checkpointUsed,
  );
}

/**
 * Advance a snapshot by one commit without reading the log (a writer applies its own commit).
 *
 * Cost: O(actions in the commit) plus O(txns + domains) when the commit holds `txn` or
 * `domainMetadata` actions; the file state is shared with `snapshot` through a new
 * {@linkcode FileIndex} layer (the chain is flattened every 32 layers). `snapshot` stays valid.
 *
 * @throws {CorruptLogError} when `version` is not `snapshot.version + 1`
 *
 * @example
 * ```ts
 * import { applyActions, applyCommitToSnapshot, createReplayState, finishReplay } from "./replay.ts";
 * const state = createReplayState();
 * applyActions(state, 0, [
 *   { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
 *   { metaData: { id: "t", format: { provider: "parquet" }, partitionColumns: [], configuration: {},
 *     schemaString: '{"type":"struct","fields":[]}' } },
 * ]);
 * const v0 = finishReplay(state, { timestampMs: 1 });
 * const v1 = applyCommitToSnapshot(v0, 1, [
 *   { add: { path: "a.parquet", partitionValues: {}, size: 1, modificationTime: 2, dataChange: true } },
 *   { txn: { appId: "edge", version: 3 } },
 * ], 2);
 * if (v1.version !== 1 || v1.files.length !== 1 || v0.files.length !== 0) throw new Error("bad");
 * if (v1.txns.get("edge")?.version !== 3) throw new Error("txn lost");
 * ```
 */
export function applyCommitToSnapshot(
  snapshot: Snapshot,
  version: number,
  actions: readonly Action[],
  timestampMs: number,
): Snapshot {
  if (version !== snapshot.version + 1) {
    throw new CorruptLogError(
      `Cannot apply version ${version} to snapshot at version ${snapshot.version}: versions must be contiguous`,
    );
  }
  let index: FileIndex;
  const existing = (snapshot as Partial<ReplayedSnapshot>)[FILE_INDEX];
  if (existing instanceof FileIndex) {
    index = existing.child();
  } else {
    // A snapshot made elsewhere: copy its files once.
    index = new FileIndex();
    for (const r of snapshot.tombstones) index.applyRemove(r);
    for (const a of snapshot.files) index.applyAdd(a);
  }
  const hasTxn = actions.some((a) => "txn" in a);
  const hasDomain = actions.some((a) => "domainMetadata" in a);
  const state: ReplayState = {
    version: snapshot.version,
    protocol: snapshot.protocol,
    metadata: snapshot.metadata,
    txns: hasTxn ? new Map(snapshot.txns) : snapshot.txns as Map<string, Txn>,
    domainMetadata: hasDomain
      ? new Map(snapshot.domainMetadata)
      : snapshot.domainMetadata as Map<string, DomainMetadata>,
    files: index,
    commitInfo: undefined,
  };
  applyActions(state, version, actions);
  const metadataChanged = state.metadata !== snapshot.metadata;
  return new ReplayedSnapshot(
    {
      version,
      protocol: state.protocol!,
      metadata: state.metadata!,
      schema: metadataChanged ? parseSchemaString(state.metadata!, version) : snapshot.schema,
      columnMappingMode: metadataChanged
        ? columnMappingModeOf(state.metadata!)
        : snapshot.columnMappingMode,
      txns: state.txns,
      domainMetadata: state.domainMetadata,
      timestampMs,
    },
    index,
    snapshot.checkpointUsed,
  );
}
