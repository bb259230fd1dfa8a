/**
 * The plugin contract: the shape of a plugin, its hooks, the context every hook receives and the
 * values hooks pass around.
 *
 * A plugin is a plain object `{ name, apiVersion, dependencies?, hooks }` made by a factory
 * (`retentionPlugin(options)`). Hooks get their context as an explicit argument, never as `this`
 * (as in Rollup's and unjs/hookable's plugin drivers). How each hook runs is listed in
 * {@linkcode HOOK_RUN_MODES} and in `plugins/README.md`.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { Clock } from "../core/clock.ts";
import type { Action, Add } from "../core/log/actions.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";

/**
 * The plugin API version this registry implements. A plugin declares the version it was written
 * against in `apiVersion`; registration refuses any other version.
 */
export const PLUGIN_API_VERSION = 1;

/** A value or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** Structured fields of a log record. */
export type LogFields = Record<string, unknown>;

/** The minimal logger hooks and the registry write to. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, fields?: LogFields): void;
  /** Normal operation. */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong but the operation goes on. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed. */
  error(message: string, fields?: LogFields): void;
}

/** The operation a hook runs for. */
export type PluginOperation = "write" | "compact" | "vacuum";

/**
 * What every hook receives as its last argument.
 *
 * The registry hands each hook call a copy whose `signal` also aborts when that call's time is up
 * (`hookTimeoutMs`) and whose `logger` adds the `plugin` and `hook` fields to every record.
 */
export interface PluginContext {
  /** The table the operation runs on. */
  readonly table: { readonly name: string; readonly uri: string };
  /** The table state the operation started from, when there is one (read-only). */
  readonly snapshot?: Snapshot;
  /** Storage scoped to the table root. */
  readonly storage: ObjectStorage;
  /** The source of "now"; never call `Date.now()` in a hook. */
  readonly clock: Clock;
  /** Aborts when the operation is cancelled or the hook's time is up. */
  readonly signal: AbortSignal;
  /** When the whole operation must be done, in epoch ms of {@linkcode PluginContext.clock}. */
  readonly deadlineMs?: number;
  /** Named limits of the operation (for example `fileBytesTarget`), units last in the name. */
  readonly limits: Readonly<Record<string, number>>;
  /** Where hooks log. */
  readonly logger: Logger;
  /** The operation this hook runs for. */
  readonly operation: PluginOperation;
  /** True when the operation must not change the table or storage. */
  readonly dryRun: boolean;
}

/** Releases what a `setup` hook opened. Disposers run in reverse order of setup. */
export type Disposer = () => Awaitable<void>;

/** A commit about to be written: what `beforeCommit` hooks see and may extend. */
export interface CommitDraft {
  /** The actions of the commit, `commitInfo` excluded. Hooks may append, never drop. */
  actions: Action[];
  /** The `commitInfo` action's content; hooks may add tags. */
  commitInfo: Record<string, unknown>;
  /** The Delta operation name recorded in `commitInfo` (`WRITE`, `OPTIMIZE`, ...). */
  operation: string;
}

/** A commit that was written: what `afterCommit` hooks see. */
export interface CommitResultInfo {
  /** The committed table version. */
  version: number;
  /** The table state at `version`. */
  snapshot: Snapshot;
  /** The actions of the commit. */
  actions: Action[];
}

/** One bin of a compaction plan: small files of one partition rewritten into fewer, larger ones. */
export interface CompactionBin {
  /** Partition values shared by every file of the bin. */
  partitionValues: Record<string, string | null>;
  /** Active files of the snapshot to rewrite; a file belongs to at most one bin. */
  files: Add[];
}

/**
 * Every hook a plugin can implement, with its argument and result types. How each one runs is in
 * {@linkcode HOOK_RUN_MODES}.
 */
export interface Hooks {
  /** Open resources; may return a {@linkcode Disposer}. Sequential, in hook order. */
  setup(ctx: PluginContext): Awaitable<Disposer | void>;
  /** Derive or drop columns. Waterfall: each gets the previous result; `undefined` keeps the batch. */
  transformBatch(batch: arrow.Table, ctx: PluginContext): Awaitable<arrow.Table | undefined | void>;
  /** Write the batch as data files and return their `add` actions; `undefined` passes. First answer wins. */
  writeFiles(batch: arrow.Table, ctx: PluginContext): Awaitable<Add[] | undefined | void>;
  /** Add `commitInfo` tags or actions (in place or as a returned draft), or throw to reject. Sequential. */
  beforeCommit(draft: CommitDraft, ctx: PluginContext): Awaitable<CommitDraft | void>;
  /** React to a commit (checkpoints, metrics). Parallel; errors are logged, never thrown. */
  afterCommit(result: CommitResultInfo, ctx: PluginContext): Awaitable<void>;
  /** Choose bins of files to rewrite; `undefined` passes. First answer wins. */
  planCompaction(
    snapshot: Snapshot,
    ctx: PluginContext,
  ): Awaitable<CompactionBin[] | undefined | void>;
  /**
   * The retention horizon in epoch ms: removed files whose `deletionTimestamp` is older may be
   * deleted. `undefined` has no opinion. Parallel; the oldest (smallest) horizon wins.
   */
  retentionHorizon(snapshot: Snapshot, ctx: PluginContext): Awaitable<number | undefined | void>;
  /** Active files whose data has expired (to be removed); `undefined` is none. Parallel, union by path. */
  planDataRetention(snapshot: Snapshot, ctx: PluginContext): Awaitable<Add[] | undefined | void>;
  /** Spare vacuum candidates by returning a subset of `paths`. Sequential, narrowing only. */
  filterVacuumCandidates(
    paths: readonly string[],
    ctx: PluginContext,
  ): Awaitable<readonly string[]>;
}

/** Name of a hook. */
export type HookName = keyof Hooks;

/** How a hook's handlers are combined. */
export type HookRunMode =
  | "sequential"
  | "waterfall"
  | "first"
  | "parallel-logged"
  | "parallel-min"
  | "parallel-union"
  | "narrowing";

/**
 * Every hook name with the way its handlers run:
 *
 * * `sequential`: one after the other, in hook order; an error stops the run.
 * * `waterfall`: each handler gets the previous handler's result.
 * * `first`: one after the other until a handler returns something other than `undefined`.
 * * `parallel-logged`: all at once, all run to completion; errors are logged, never thrown.
 * * `parallel-min`: all at once; the smallest answer wins.
 * * `parallel-union`: all at once; the answers are merged, without duplicates.
 * * `narrowing`: one after the other, each gets the previous output, which must be a subset of its
 *   input.
 */
export const HOOK_RUN_MODES: Readonly<Record<HookName, HookRunMode>> = Object.freeze({
  setup: "sequential",
  transformBatch: "waterfall",
  writeFiles: "first",
  beforeCommit: "sequential",
  afterCommit: "parallel-logged",
  planCompaction: "first",
  retentionHorizon: "parallel-min",
  planDataRetention: "parallel-union",
  filterVacuumCandidates: "narrowing",
});

/** Every hook name, in the order a write, a compaction and a vacuum meet them. */
export const HOOK_NAMES: readonly HookName[] = Object.freeze(
  Object.keys(HOOK_RUN_MODES) as HookName[],
);

/** Where a handler runs among the handlers of one hook: `pre` first, then normal, then `post`. */
export type HookOrder = "pre" | "post";

/** A hook handler with options. */
export interface HookObject<K extends HookName> {
  /** `pre` runs before normal handlers, `post` after; within a group, plugin order. */
  order?: HookOrder;
  /** Time a call of this handler may take, overriding the registry's timeout for the hook. */
  timeoutMs?: number;
  /** The handler. */
  handler: Hooks[K];
}

/** A hook as a plugin declares it: the handler itself, or a {@linkcode HookObject}. */
export type HookEntry<K extends HookName> = Hooks[K] | HookObject<K>;

/** The hooks of a plugin; each is optional (`undefined` is the same as absent). */
export type PluginHooks = { [K in HookName]?: HookEntry<K> | undefined };

/**
 * A plugin: a plain object, usually made by a factory.
 *
 * @example
 * ```ts
 * import { type Plugin, PLUGIN_API_VERSION } from "./types.ts";
 *
 * function tagPlugin(options: { tag: string }): Plugin {
 *   return {
 *     name: "tag",
 *     apiVersion: PLUGIN_API_VERSION,
 *     hooks: {
 *       beforeCommit(draft) {
 *         draft.commitInfo.tag = options.tag;
 *       },
 *     },
 *   };
 * }
 * if (tagPlugin({ tag: "x" }).name !== "tag") throw new Error("unexpected");
 * ```
 */
export interface Plugin {
  /** Unique name: letters, digits and `@ . _ : / -`, at most 100 characters, starting with a letter, digit or `@`. */
  readonly name: string;
  /** The plugin API version the plugin was written against: {@linkcode PLUGIN_API_VERSION}. */
  readonly apiVersion: number;
  /** Names of plugins that must be registered too; their hooks run before this plugin's within an order group. */
  readonly dependencies?: readonly string[];
  /** The hooks. */
  readonly hooks: PluginHooks;
}
