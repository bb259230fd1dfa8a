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
 * What every hook receives as its last argument, whatever the operation.
 *
 * The registry hands each hook call a copy whose `signal` also aborts when that call's time is up
 * (`hookTimeoutMs`) and whose `logger` adds the `plugin` and `hook` fields to every record.
 */
export interface PluginContextBase {
  /** The table the operation runs on. */
  readonly table: { readonly name: string; readonly uri: string };
  /** The table state the operation started from (read-only). */
  readonly snapshot: Snapshot;
  /** Storage scoped to the table root. */
  readonly storage: ObjectStorage;
  /** The source of "now"; never call `Date.now()` in a hook. */
  readonly clock: Clock;
  /** Aborts when the operation is cancelled or the hook's time is up. */
  readonly signal: AbortSignal;
  /** When the whole operation must be done, in epoch ms of {@linkcode PluginContextBase.clock}. */
  readonly deadlineMs?: number;
  /** Where hooks log. */
  readonly logger: Logger;
  /** True when the operation must not change the table or storage. */
  readonly dryRun: boolean;
}

/** The limits a write runs under (the runner's, `batch/runner/committer.ts`). */
export interface WriteLimits {
  /** Rows per commit at most (a larger single batch still commits alone). */
  readonly groupRowsMax: number;
  /** Bytes per commit at most (a larger single batch still commits alone). */
  readonly groupBytesMax: number;
  /** Batches of a commit whose files are written at once. */
  readonly writeBatchesConcurrencyMax: number;
}

/** The limits of a compaction plan; unset ones are the planner's own (its options, the table's). */
export interface CompactionLimits {
  /** Target size of a rewritten file in bytes (`--target-size`, `compactTargetSizeBytes`). */
  readonly targetSizeBytes?: number;
  /** Fewest small files of a partition worth a rewrite (`--min-files`, `compactMinFiles`). */
  readonly minFiles?: number;
  /**
   * How the built-in planner chooses bins: `tiered` (size tiers, the default) or `binpack`
   * (`--strategy`, `compactStrategy`).
   */
  readonly strategy?: "tiered" | "binpack";
  /** Growth factor between two tiers of the tiered planner (`--tier-fanout`, `compactTierFanout`). */
  readonly tierFanout?: number;
  /**
   * The tiered planner's read budget bound (ADR 0051), at least 1; `Infinity` turns its read bins
   * off (`compactReadBudgetEnabled: false`).
   */
  readonly readAmplificationMax?: number;
}

/** The limits of a vacuum. */
export interface VacuumLimits {
  /**
   * The retention of removed files in ms (the table's `delta.deletedFileRetentionDuration` or the
   * caller's); unset when the hook runs outside a vacuum (data retention).
   */
  readonly retentionMs?: number;
}

/** The context of the write hooks (`transformBatch`, `writeFiles`, `beforeCommit`, `afterCommit`). */
export interface WriteContext extends PluginContextBase {
  /** A write: the runner's commit of batches. */
  readonly operation: "write";
  /** The runner's limits a write runs under. */
  readonly limits: WriteLimits;
}

/** The context of `planCompaction`. */
export interface CompactContext extends PluginContextBase {
  /** A compaction. */
  readonly operation: "compact";
  /** The plan's limits. */
  readonly limits: CompactionLimits;
}

/** The context of the vacuum hooks (`retentionHorizon`, `planDataRetention`, `filterVacuumCandidates`). */
export interface VacuumContext extends PluginContextBase {
  /** A vacuum (or its data retention step). */
  readonly operation: "vacuum";
  /** The vacuum's limits. */
  readonly limits: VacuumLimits;
}

/**
 * The context of a hook: one type per operation, told apart by `operation`. Every operation runs
 * on a snapshot, so `snapshot` is always there; `limits` are the operation's own, typed. `setup`
 * gets the context of the operation its registry is set up for.
 */
export type PluginContext = WriteContext | CompactContext | VacuumContext;

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
  transformBatch(batch: arrow.Table, ctx: WriteContext): Awaitable<arrow.Table | undefined | void>;
  /** Write the batch as data files and return their `add` actions; `undefined` passes. First answer wins. */
  writeFiles(batch: arrow.Table, ctx: WriteContext): Awaitable<Add[] | undefined | void>;
  /** Add `commitInfo` tags or actions (in place or as a returned draft), or throw to reject. Sequential. */
  beforeCommit(draft: CommitDraft, ctx: WriteContext): Awaitable<CommitDraft | void>;
  /** React to a commit (checkpoints, metrics). Parallel; errors are logged, never thrown. */
  afterCommit(result: CommitResultInfo, ctx: WriteContext): Awaitable<void>;
  /** Choose bins of files to rewrite; `undefined` passes. First answer wins. */
  planCompaction(
    snapshot: Snapshot,
    ctx: CompactContext,
  ): Awaitable<CompactionBin[] | undefined | void>;
  /**
   * The retention horizon in epoch ms: removed files whose `deletionTimestamp` is older may be
   * deleted. `undefined` has no opinion. Parallel; the oldest (smallest) horizon wins.
   */
  retentionHorizon(snapshot: Snapshot, ctx: VacuumContext): Awaitable<number | undefined | void>;
  /** Active files whose data has expired (to be removed); `undefined` is none. Parallel, union by path. */
  planDataRetention(snapshot: Snapshot, ctx: VacuumContext): Awaitable<Add[] | undefined | void>;
  /** Spare vacuum candidates by returning a subset of `paths`. Sequential, narrowing only. */
  filterVacuumCandidates(
    paths: readonly string[],
    ctx: VacuumContext,
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
