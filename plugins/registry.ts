/**
 * The plugin registry and driver: registration checks every plugin and fails fast, `freeze()`
 * resolves dependencies and fixes the order of every hook's handlers, and the `run*` methods call
 * the handlers the way each hook runs. The table {@linkcode HOOK_RUN_MODES} drives the run: each
 * mode has one runner (`MODE_RUNNERS`: when handlers run and what each is given), and each hook a
 * contract (what it accepts of an answer and how answers make the result), so a `run*` method
 * only names its hook and contract.
 *
 * ```
 * register(a) register(b) ...   freeze()                          runSetup  run*  ...  dispose()
 *   shape, name, apiVersion,     missing deps, cycles,            disposers          reverse order
 *   duplicates, hook names       order: pre | normal | post,
 *                                plugin order within a group
 * ```
 *
 * Plugin order is registration order, except that a plugin always comes after the plugins it depends
 * on (a stable topological sort). Every hook call is bounded in time (`hookTimeoutMs`) and every
 * failure is a {@linkcode PluginHookError} naming the plugin and the hook. The registry also checks
 * the contracts that keep a table safe: a `beforeCommit` hook cannot drop actions, compaction bins
 * and expired files must be active files of the snapshot, and a vacuum filter can only narrow.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { Action, Add } from "../core/log/actions.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { callHook } from "./call_hook.ts";
import {
  DuplicatePluginError,
  InvalidHookError,
  InvalidPluginError,
  InvalidPluginNameError,
  MissingPluginDependencyError,
  PluginDependencyCycleError,
  PluginHookError,
  type PluginHookErrorHook,
  PluginRegistryStateError,
  UnknownHookError,
  UnsupportedPluginApiVersionError,
  VacuumCandidatesNotNarrowedError,
} from "./errors.ts";
import { withLogFields } from "./logger.ts";
import {
  type CommitDraft,
  type CommitResultInfo,
  type CompactContext,
  type CompactionBin,
  type Disposer,
  HOOK_RUN_MODES,
  type HookName,
  type HookOrder,
  type HookRunMode,
  type Logger,
  type Plugin,
  PLUGIN_API_VERSION,
  type PluginContext,
  type VacuumContext,
  type WriteContext,
} from "./types.ts";

/** Default time one hook call may take. */
export const HOOK_TIMEOUT_MS_DEFAULT = 10_000;

/** The plugin API versions this registry accepts. */
const API_VERSIONS_SUPPORTED: readonly number[] = [PLUGIN_API_VERSION];

/** Allowed plugin names: `parquet-writer`, `@acme/retention`, `team.metrics:v2`. */
const PLUGIN_NAME_PATTERN = /^[A-Za-z0-9@][A-Za-z0-9@._:/-]{0,99}$/;

/** Keys allowed in a hook object. */
const HOOK_OBJECT_KEYS = new Set(["order", "timeoutMs", "handler"]);

/** Options of {@linkcode createPluginRegistry}. */
export interface PluginRegistryOptions {
  /** Time one hook call may take unless the hook says otherwise; default 10 s. */
  hookTimeoutMs?: number;
  /** Per-hook times, overriding `hookTimeoutMs` (a hook object's own `timeoutMs` wins over both). */
  hookTimeoutsMs?: Partial<Record<PluginHookErrorHook, number>>;
}

/**
 * A registry of plugins and the driver that runs their hooks.
 *
 * Lifecycle: `register` plugins, `freeze()`, `runSetup(ctx)` once, then any `run*` method any number
 * of times (also concurrently), and `dispose()` once at the end.
 */
export interface PluginRegistry {
  /** Check and add a plugin. Throws a {@linkcode PluginRegistrationError} subclass when it is refused. */
  register(plugin: Plugin): PluginRegistry;
  /** Resolve dependencies and fix hook order; no `register` after this. Idempotent. */
  freeze(): PluginRegistry;
  /**
   * A new registry, not frozen, holding this frozen registry's plugins followed by `plugins`, with
   * the same options: its hooks run the inherited handlers and the added ones. Its `runSetup` and
   * `dispose` cover only the added plugins, because whoever set this registry up disposes it (as a
   * Fastify child context inherits its parent's hooks). It is how an operation adds its built-ins
   * to a registry its owner already froze and set up.
   */
  extend(plugins: readonly Plugin[]): PluginRegistry;
  /** True after {@linkcode PluginRegistry.freeze}. */
  readonly frozen: boolean;
  /** Plugin names in plugin order (registration order until frozen, dependency order after). */
  readonly pluginNames: readonly string[];
  /** Names of the plugins whose handlers of `hook` run, in the order they run. Needs `freeze()`. */
  hookOrder(hook: HookName): readonly string[];
  /**
   * Run every `setup` in order and keep the disposers. When one fails, the disposers of the setups
   * that ran are called (in reverse) and the error is thrown.
   */
  runSetup(ctx: PluginContext): Promise<void>;
  /** Pass the batch through every `transformBatch` in order (waterfall); returns the last batch. */
  runTransformBatch(batch: arrow.Table, ctx: WriteContext): Promise<arrow.Table>;
  /** Ask each `writeFiles` in order until one answers; `undefined` when none did. */
  runWriteFiles(batch: arrow.Table, ctx: WriteContext): Promise<Add[] | undefined>;
  /** Run every `beforeCommit` in order over a copy of `draft`; returns the final draft. */
  runBeforeCommit(draft: CommitDraft, ctx: WriteContext): Promise<CommitDraft>;
  /**
   * Run every `afterCommit` in parallel, to completion. Never throws: failures are logged to
   * `ctx.logger` with plugin and hook, and returned.
   */
  runAfterCommit(result: CommitResultInfo, ctx: WriteContext): Promise<PluginHookError[]>;
  /** Ask each `planCompaction` in order until one answers; `undefined` when none did. */
  runPlanCompaction(snapshot: Snapshot, ctx: CompactContext): Promise<CompactionBin[] | undefined>;
  /**
   * Run every `retentionHorizon` in parallel; the oldest horizon (the smallest epoch ms, so the
   * longest retention) wins. `undefined` when no plugin gave one.
   */
  runRetentionHorizon(snapshot: Snapshot, ctx: VacuumContext): Promise<number | undefined>;
  /** Run every `planDataRetention` in parallel; the union of their files by path, in hook order. */
  runPlanDataRetention(snapshot: Snapshot, ctx: VacuumContext): Promise<Add[]>;
  /**
   * Pass the vacuum candidates through every `filterVacuumCandidates` in order. Each must return a
   * subset of its input, otherwise a {@linkcode VacuumCandidatesNotNarrowedError} is thrown. The
   * result keeps the input's order.
   */
  runFilterVacuumCandidates(paths: readonly string[], ctx: VacuumContext): Promise<string[]>;
  /** Call the setup disposers in reverse order, all of them even when some fail. Idempotent. */
  dispose(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
type AnyHandler = (...args: any[]) => unknown;

interface HandlerEntry {
  plugin: string;
  hook: HookName;
  order: HookOrder | "normal";
  timeoutMs: number | undefined;
  handler: AnyHandler;
}

interface RegisteredPlugin {
  name: string;
  dependencies: readonly string[];
  handlers: HandlerEntry[];
}

interface SetupDisposer {
  plugin: string;
  dispose: Disposer;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkName(v: unknown): string {
  if (typeof v !== "string") {
    throw new InvalidPluginNameError(String(v), `its name must be a string, not ${describe(v)}`);
  }
  if (v.length === 0) throw new InvalidPluginNameError(v, "its name is empty");
  if (!PLUGIN_NAME_PATTERN.test(v)) {
    throw new InvalidPluginNameError(
      v,
      "its name must be 1 to 100 letters, digits or '@._:/-', starting with a letter, digit or '@'",
    );
  }
  return v;
}

function checkTimeout(v: unknown): v is number {
  return typeof v === "number" && v > 0 && !Number.isNaN(v);
}

function checkHook(name: string, hook: HookName, entry: unknown): HandlerEntry | undefined {
  if (entry === undefined) return undefined;
  if (typeof entry === "function") {
    return {
      plugin: name,
      hook,
      order: "normal",
      timeoutMs: undefined,
      handler: entry as AnyHandler,
    };
  }
  if (!isRecord(entry)) {
    throw new InvalidHookError(
      name,
      hook,
      `must be a function or { order?, timeoutMs?, handler }, not ${describe(entry)}`,
    );
  }
  for (const key of Object.keys(entry)) {
    if (!HOOK_OBJECT_KEYS.has(key)) {
      throw new InvalidHookError(name, hook, `has unknown option '${key}'`);
    }
  }
  if (typeof entry.handler !== "function") {
    throw new InvalidHookError(
      name,
      hook,
      `must have a function as handler, not ${describe(entry.handler)}`,
    );
  }
  const order = entry.order;
  if (order !== undefined && order !== "pre" && order !== "post") {
    throw new InvalidHookError(name, hook, `has order ${describe(order)}; use "pre" or "post"`);
  }
  if (entry.timeoutMs !== undefined && !checkTimeout(entry.timeoutMs)) {
    throw new InvalidHookError(
      name,
      hook,
      `has timeoutMs ${describe(entry.timeoutMs)}; use a positive number`,
    );
  }
  return {
    plugin: name,
    hook,
    order: order ?? "normal",
    timeoutMs: entry.timeoutMs,
    handler: entry.handler as AnyHandler,
  };
}

function checkPlugin(plugin: unknown, known: ReadonlySet<string>): RegisteredPlugin {
  if (!isRecord(plugin)) {
    throw new InvalidPluginError(
      String(plugin),
      `a plugin must be an object, not ${describe(plugin)}`,
    );
  }
  const name = checkName(plugin.name);
  if (known.has(name)) throw new DuplicatePluginError(name);
  if (!API_VERSIONS_SUPPORTED.includes(plugin.apiVersion as number)) {
    throw new UnsupportedPluginApiVersionError(name, plugin.apiVersion, API_VERSIONS_SUPPORTED);
  }
  const deps = plugin.dependencies ?? [];
  if (!Array.isArray(deps) || !deps.every((d) => typeof d === "string")) {
    throw new InvalidPluginError(name, "its dependencies must be an array of plugin names");
  }
  if (deps.includes(name)) throw new PluginDependencyCycleError([name, name]);
  for (const key of Object.keys(plugin)) {
    if (Object.hasOwn(HOOK_RUN_MODES, key)) {
      throw new InvalidPluginError(name, `hook '${key}' must be inside 'hooks'`);
    }
  }
  const hooks = plugin.hooks;
  if (!isRecord(hooks)) {
    throw new InvalidPluginError(name, `its hooks must be an object, not ${describe(hooks)}`);
  }
  const handlers: HandlerEntry[] = [];
  for (const [key, entry] of Object.entries(hooks)) {
    if (!Object.hasOwn(HOOK_RUN_MODES, key)) throw new UnknownHookError(name, key);
    const handler = checkHook(name, key as HookName, entry);
    if (handler !== undefined) handlers.push(handler);
  }
  return { name, dependencies: [...new Set(deps as string[])], handlers };
}

/** Find one dependency cycle among `plugins` (each of which is known to be on a cycle or after one). */
function findCycle(plugins: readonly RegisteredPlugin[]): string[] {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    if (state.get(name) === "done") return undefined;
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of byName.get(name)?.dependencies ?? []) {
      if (!byName.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const p of plugins) {
    const cycle = visit(p.name);
    if (cycle !== undefined) return cycle;
  }
  // Unreachable: a stuck topological sort always leaves a cycle behind.
  throw new Error("Cannot find the dependency cycle: the dependency graph is acyclic");
}

/**
 * Order plugins so that each comes after its dependencies, keeping registration order otherwise
 * (Kahn's algorithm, always taking the earliest registered ready plugin).
 */
function sortByDependencies(plugins: readonly RegisteredPlugin[]): RegisteredPlugin[] {
  const names = new Set(plugins.map((p) => p.name));
  for (const p of plugins) {
    for (const dep of p.dependencies) {
      if (!names.has(dep)) throw new MissingPluginDependencyError(p.name, dep);
    }
  }
  const placed = new Set<string>();
  const rest = [...plugins];
  const sorted: RegisteredPlugin[] = [];
  while (rest.length > 0) {
    const i = rest.findIndex((p) => p.dependencies.every((d) => placed.has(d)));
    if (i === -1) throw new PluginDependencyCycleError(findCycle(rest));
    const [next] = rest.splice(i, 1) as [RegisteredPlugin];
    sorted.push(next);
    placed.add(next.name);
  }
  return sorted;
}

function looksLikeTable(v: unknown): v is arrow.Table {
  return isRecord(v) && typeof v.numRows === "number" && isRecord(v.schema);
}

function looksLikeAdd(v: unknown): v is Add {
  return isRecord(v) && typeof v.path === "string" && v.path.length > 0 &&
    typeof v.size === "number" && Number.isFinite(v.size) && v.size >= 0 &&
    isRecord(v.partitionValues) && typeof v.modificationTime === "number" &&
    typeof v.dataChange === "boolean";
}

function activePaths(snapshot: Snapshot): Map<string, Add> {
  const paths = new Map<string, Add>();
  for (const add of snapshot.files) if (!paths.has(add.path)) paths.set(add.path, add);
  return paths;
}

function invalid(entry: HandlerEntry, why: string): PluginHookError {
  return new PluginHookError(entry.plugin, entry.hook, "invalid-result", why);
}

/** Check a `beforeCommit` result against the draft it was given. */
function checkDraft(
  entry: HandlerEntry,
  next: unknown,
  before: readonly Action[],
  operation: string,
): CommitDraft {
  if (!isRecord(next) || !Array.isArray(next.actions) || !isRecord(next.commitInfo)) {
    throw invalid(entry, "it must return nothing or a draft { actions, commitInfo, operation }");
  }
  if (next.operation !== operation) {
    throw invalid(
      entry,
      `it changed the operation from '${operation}' to ${describe(next.operation)}`,
    );
  }
  const kept = new Set<unknown>(next.actions);
  const dropped = before.filter((a) => !kept.has(a)).length;
  if (dropped > 0) {
    throw invalid(
      entry,
      `it dropped or replaced ${dropped} action(s) of the draft; beforeCommit may only add actions (throw to reject the commit)`,
    );
  }
  return next as unknown as CommitDraft;
}

/** Check a compaction plan: bins of distinct active files. */
function checkBins(entry: HandlerEntry, bins: unknown, snapshot: Snapshot): CompactionBin[] {
  if (!Array.isArray(bins)) {
    throw invalid(entry, `it must return an array of bins or undefined, not ${describe(bins)}`);
  }
  const active = activePaths(snapshot);
  const seen = new Set<string>();
  for (const bin of bins) {
    if (!isRecord(bin) || !Array.isArray(bin.files) || !isRecord(bin.partitionValues)) {
      throw invalid(entry, "each bin must be { partitionValues, files }");
    }
    for (const file of bin.files) {
      const path = isRecord(file) ? file.path : undefined;
      if (typeof path !== "string" || !active.has(path)) {
        throw invalid(
          entry,
          `bin file ${describe(path)} is not an active file of version ${snapshot.version}`,
        );
      }
      if (seen.has(path)) throw invalid(entry, `file '${path}' is in more than one bin`);
      seen.add(path);
    }
  }
  return bins as CompactionBin[];
}

/** Calls one handler with the hook's argument (and its own bounded context). */
type CallHandler = (entry: HandlerEntry, arg: unknown) => Promise<unknown>;

/**
 * What one hook makes of its handlers' answers: its contract. The hook's run mode (the table
 * {@linkcode HOOK_RUN_MODES}) decides when the handlers run and what each is given; the contract
 * checks each answer and makes the result.
 */
interface HookContract {
  /** What `accept` needs to know of the value before a call (a handler may change it in place). */
  memo?(value: unknown): unknown;
  /**
   * Checks one answer; throws a {@linkcode PluginHookError} (`invalid-result`) when it breaks the
   * hook's contract. Returns what the mode keeps: the next value (sequential, waterfall,
   * narrowing) or the answer (first, parallel), `undefined` for no answer.
   */
  accept(entry: HandlerEntry, answer: unknown, value: unknown, memo: unknown): unknown;
  /** The parallel modes' result from the kept answers, in hook order. */
  combine?(kept: readonly unknown[], input: unknown): unknown;
}

/** One run of a hook: its handlers in hook order, the input and the contract. */
interface HookRun {
  handlers: readonly HandlerEntry[];
  input: unknown;
  call: CallHandler;
  contract: HookContract;
  logger: Logger;
}

/** All handlers at once; all settle, then the first failure in hook order is thrown. */
async function settleAll(run: HookRun): Promise<{ entry: HandlerEntry; value: unknown }[]> {
  const settled = await Promise.allSettled(run.handlers.map((h) => run.call(h, run.input)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return run.handlers.map((entry, i) => ({
    entry,
    value: (settled[i] as PromiseFulfilledResult<unknown>).value,
  }));
}

/** Keep the answers the contract accepts and combine them. */
async function parallelCombined(run: HookRun): Promise<unknown> {
  const kept: unknown[] = [];
  for (const { entry, value } of await settleAll(run)) {
    const answer = run.contract.accept(entry, value, run.input, undefined);
    if (answer !== undefined) kept.push(answer);
  }
  return run.contract.combine!(kept, run.input);
}

/**
 * How each run mode calls the handlers of a hook, one runner per mode of
 * {@linkcode HOOK_RUN_MODES}; `run*` methods only choose the hook and its contract.
 */
const MODE_RUNNERS: Readonly<Record<HookRunMode, (run: HookRun) => Promise<unknown>>> = {
  /** One after the other, each given the value so far; an error stops the run. */
  async sequential(run) {
    let value = run.input;
    for (const entry of run.handlers) {
      const memo = run.contract.memo?.(value);
      value = run.contract.accept(entry, await run.call(entry, value), value, memo);
    }
    return value;
  },
  /** Each handler gets the previous handler's result; no answer keeps the value. */
  async waterfall(run) {
    let value = run.input;
    for (const entry of run.handlers) {
      value = run.contract.accept(entry, await run.call(entry, value), value, undefined) ?? value;
    }
    return value;
  },
  /** One after the other until a handler answers. */
  async first(run) {
    for (const entry of run.handlers) {
      const answer = run.contract.accept(
        entry,
        await run.call(entry, run.input),
        run.input,
        undefined,
      );
      if (answer !== undefined) return answer;
    }
    return undefined;
  },
  /** All at once, all to completion; failures are logged and returned, never thrown. */
  async "parallel-logged"(run) {
    const settled = await Promise.all(
      run.handlers.map((entry) =>
        run.call(entry, run.input).then(() => undefined, (e: PluginHookError) => e)
      ),
    );
    const failures = settled.filter((e) => e !== undefined);
    for (const e of failures) {
      run.logger.error("Plugin hook failed", {
        plugin: e.plugin,
        hook: e.hook,
        failure: e.failure,
        error: e,
      });
    }
    return failures;
  },
  /** All at once; the smallest answer wins. */
  "parallel-min": parallelCombined,
  /** All at once; the answers are merged, without duplicates. */
  "parallel-union": parallelCombined,
  /** One after the other, each given a frozen copy of the previous output; only narrower. */
  async narrowing(run) {
    let value = run.input as readonly unknown[];
    for (const entry of run.handlers) {
      const answer = await run.call(entry, Object.freeze([...value]));
      value = run.contract.accept(entry, answer, value, undefined) as readonly unknown[];
    }
    return value;
  },
};

/** A `transformBatch` answer: a table, or nothing (keep the batch). */
const TRANSFORM_BATCH: HookContract = {
  accept(entry, next) {
    if (next === undefined || next === null) return undefined;
    if (!looksLikeTable(next)) {
      throw invalid(entry, `it must return an Arrow Table or undefined, not ${describe(next)}`);
    }
    return next;
  },
};

/** A `writeFiles` answer: add actions, or nothing (pass). */
const WRITE_FILES: HookContract = {
  accept(entry, adds) {
    if (adds === undefined || adds === null) return undefined;
    if (!Array.isArray(adds) || !adds.every(looksLikeAdd)) {
      throw invalid(entry, "it must return an array of add actions or undefined");
    }
    return adds;
  },
};

/** A `beforeCommit` answer: nothing (changed in place) or a draft that only adds actions. */
const BEFORE_COMMIT: HookContract = {
  memo: (draft) => [...(draft as CommitDraft).actions],
  accept(entry, next, draft, before) {
    const { operation } = draft as CommitDraft;
    return checkDraft(entry, next ?? draft, before as Action[], operation);
  },
};

/** A `planCompaction` answer: bins of distinct active files of the snapshot, or nothing. */
const PLAN_COMPACTION: HookContract = {
  accept(entry, bins, snapshot) {
    if (bins === undefined || bins === null) return undefined;
    return checkBins(entry, bins, snapshot as Snapshot);
  },
};

/** A `retentionHorizon` answer: epoch ms, or no opinion; the oldest wins. */
const RETENTION_HORIZON: HookContract = {
  accept(entry, value) {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw invalid(
        entry,
        `it must return a horizon in epoch ms or undefined, not ${describe(value)}`,
      );
    }
    return value;
  },
  combine: (kept) => kept.length === 0 ? undefined : Math.min(...(kept as number[])),
};

/** A `planDataRetention` answer: active files of the snapshot; the union by path. */
const PLAN_DATA_RETENTION: HookContract = {
  accept(entry, value, input) {
    if (value === undefined || value === null) return undefined;
    const snapshot = input as Snapshot;
    if (!Array.isArray(value)) {
      throw invalid(entry, `it must return an array of add actions, not ${describe(value)}`);
    }
    const active = activePaths(snapshot);
    return value.map((file) => {
      const path = isRecord(file) ? file.path : undefined;
      const add = typeof path === "string" ? active.get(path) : undefined;
      if (add === undefined) {
        throw invalid(
          entry,
          `file ${describe(path)} is not an active file of version ${snapshot.version}`,
        );
      }
      return add;
    });
  },
  combine(kept) {
    const expired = new Map<string, Add>();
    for (const add of (kept as Add[][]).flat()) {
      if (!expired.has(add.path)) expired.set(add.path, add);
    }
    return [...expired.values()];
  },
};

/** A `filterVacuumCandidates` answer: a subset of its input; the input's order is kept. */
const FILTER_VACUUM_CANDIDATES: HookContract = {
  accept(entry, out, value) {
    const current = value as readonly string[];
    if (!Array.isArray(out) || !out.every((p) => typeof p === "string")) {
      throw invalid(entry, `it must return an array of paths, not ${describe(out)}`);
    }
    const input = new Set(current);
    const added = [...new Set(out.filter((p) => !input.has(p)))];
    if (added.length > 0) throw new VacuumCandidatesNotNarrowedError(entry.plugin, added);
    const kept = new Set(out);
    return current.filter((p) => kept.has(p));
  },
};

class Registry implements PluginRegistry {
  readonly #options: PluginRegistryOptions;
  #plugins: RegisteredPlugin[] = [];
  /** Plugins of the registry this one extends: their setup is their owner's. */
  #inherited: ReadonlySet<string> = new Set();
  #byHook: Map<HookName, HandlerEntry[]> | undefined;
  #setupRan = false;
  #disposed = false;
  #disposers: SetupDisposer[] = [];
  #disposeLogger: Logger | undefined;

  constructor(options: PluginRegistryOptions) {
    const check = (what: string, v: unknown) => {
      if (v !== undefined && !checkTimeout(v)) {
        throw new PluginRegistryStateError(
          `Cannot create plugin registry: ${what} must be a positive number, not ${describe(v)}`,
        );
      }
    };
    check("hookTimeoutMs", options.hookTimeoutMs);
    for (const [hook, ms] of Object.entries(options.hookTimeoutsMs ?? {})) {
      if (hook !== "dispose" && !Object.hasOwn(HOOK_RUN_MODES, hook)) {
        throw new PluginRegistryStateError(
          `Cannot create plugin registry: hookTimeoutsMs names unknown hook '${hook}'`,
        );
      }
      check(`hookTimeoutsMs.${hook}`, ms);
    }
    this.#options = options;
  }

  get frozen(): boolean {
    return this.#byHook !== undefined;
  }

  get pluginNames(): readonly string[] {
    return this.#plugins.map((p) => p.name);
  }

  register(plugin: Plugin): PluginRegistry {
    if (this.frozen) {
      const name = isRecord(plugin) ? String(plugin.name) : String(plugin);
      throw new PluginRegistryStateError(
        `Cannot register plugin '${name}': the registry is frozen`,
      );
    }
    this.#plugins.push(checkPlugin(plugin, new Set(this.pluginNames)));
    return this;
  }

  freeze(): PluginRegistry {
    if (this.frozen) return this;
    const sorted = sortByDependencies(this.#plugins);
    const byHook = new Map<HookName, HandlerEntry[]>();
    for (const hook of Object.keys(HOOK_RUN_MODES) as HookName[]) {
      const all = sorted.flatMap((p) => p.handlers.filter((h) => h.hook === hook));
      byHook.set(hook, [
        ...all.filter((h) => h.order === "pre"),
        ...all.filter((h) => h.order === "normal"),
        ...all.filter((h) => h.order === "post"),
      ]);
    }
    this.#plugins = sorted;
    this.#byHook = byHook;
    return this;
  }

  extend(plugins: readonly Plugin[]): PluginRegistry {
    if (!this.frozen) {
      throw new PluginRegistryStateError(
        "Cannot extend the registry: it is not frozen (call freeze() first)",
      );
    }
    const child = new Registry(this.#options);
    child.#plugins = [...this.#plugins];
    child.#inherited = new Set(this.pluginNames);
    for (const plugin of plugins) child.register(plugin);
    return child;
  }

  hookOrder(hook: HookName): readonly string[] {
    return this.#handlers(hook, "inspect").map((h) => h.plugin);
  }

  #handlers(hook: HookName, doing: string): HandlerEntry[] {
    const handlers = this.#byHook?.get(hook);
    if (handlers === undefined) {
      throw new PluginRegistryStateError(
        `Cannot ${doing} hook '${hook}': the registry is not frozen (call freeze() first)`,
      );
    }
    if (this.#disposed) {
      throw new PluginRegistryStateError(
        `Cannot ${doing} hook '${hook}': the registry is disposed`,
      );
    }
    return handlers;
  }

  #timeoutMs(entry: { hook: PluginHookErrorHook; timeoutMs?: number | undefined }): number {
    return entry.timeoutMs ?? this.#options.hookTimeoutsMs?.[entry.hook] ??
      this.#options.hookTimeoutMs ?? HOOK_TIMEOUT_MS_DEFAULT;
  }

  /** Call one handler with its own bounded context. */
  #call(entry: HandlerEntry, ctx: PluginContext, ...args: unknown[]): Promise<unknown> {
    let timeoutMs = this.#timeoutMs(entry);
    if (ctx.deadlineMs !== undefined) {
      timeoutMs = Math.min(timeoutMs, Math.max(0, ctx.deadlineMs - ctx.clock.nowMs()));
    }
    return callHook((signal) => {
      const logger = withLogFields(ctx.logger, { plugin: entry.plugin, hook: entry.hook });
      // The context is an argument, never `this` (hooks are called with `this` undefined).
      return Reflect.apply(entry.handler, undefined, [...args, { ...ctx, signal, logger }]);
    }, { plugin: entry.plugin, hook: entry.hook, timeoutMs, signal: ctx.signal });
  }

  /** Run `hook`'s handlers (or `handlers`) the way its mode of {@linkcode HOOK_RUN_MODES} says. */
  #run(
    hook: HookName,
    ctx: PluginContext,
    input: unknown,
    contract: HookContract,
    handlers: readonly HandlerEntry[] = this.#handlers(hook, "run"),
  ): Promise<unknown> {
    return MODE_RUNNERS[HOOK_RUN_MODES[hook]]({
      handlers,
      input,
      contract,
      logger: ctx.logger,
      // `setup` is given nothing but its context.
      call: (entry, arg) => hook === "setup" ? this.#call(entry, ctx) : this.#call(entry, ctx, arg),
    });
  }

  async runSetup(ctx: PluginContext): Promise<void> {
    const handlers = this.#handlers("setup", "run");
    if (this.#setupRan) {
      throw new PluginRegistryStateError("Cannot run hook 'setup': setup already ran");
    }
    this.#setupRan = true;
    this.#disposeLogger = ctx.logger;
    const keepDisposer: HookContract = {
      accept: (entry, disposer) => {
        if (disposer !== undefined && typeof disposer !== "function") {
          throw invalid(
            entry,
            `it must return a disposer function or nothing, not ${describe(disposer)}`,
          );
        }
        if (disposer !== undefined) {
          this.#disposers.push({ plugin: entry.plugin, dispose: disposer as Disposer });
        }
        return undefined;
      },
    };
    try {
      const own = handlers.filter((h) => !this.#inherited.has(h.plugin));
      await this.#run("setup", ctx, undefined, keepDisposer, own);
    } catch (e) {
      // Roll back: release what the setups before this one opened; the setup error is the news.
      for (const failure of await this.#disposeAll()) {
        ctx.logger.error("Plugin disposer failed after a setup failure", {
          plugin: failure.plugin,
          hook: failure.hook,
          error: failure,
        });
      }
      throw e;
    }
  }

  async #disposeAll(): Promise<PluginHookError[]> {
    const failures: PluginHookError[] = [];
    while (this.#disposers.length > 0) {
      const { plugin, dispose } = this.#disposers.pop() as SetupDisposer;
      try {
        await callHook(() => dispose(), {
          plugin,
          hook: "dispose",
          timeoutMs: this.#timeoutMs({ hook: "dispose" }),
        });
      } catch (e) {
        failures.push(e as PluginHookError);
      }
    }
    return failures;
  }

  async runTransformBatch(batch: arrow.Table, ctx: WriteContext): Promise<arrow.Table> {
    return await this.#run("transformBatch", ctx, batch, TRANSFORM_BATCH) as arrow.Table;
  }

  async runWriteFiles(batch: arrow.Table, ctx: WriteContext): Promise<Add[] | undefined> {
    return await this.#run("writeFiles", ctx, batch, WRITE_FILES) as Add[] | undefined;
  }

  async runBeforeCommit(draft: CommitDraft, ctx: WriteContext): Promise<CommitDraft> {
    // Hooks work on a copy: the caller's draft is never changed.
    const copy: CommitDraft = {
      actions: [...draft.actions],
      commitInfo: { ...draft.commitInfo },
      operation: draft.operation,
    };
    return await this.#run("beforeCommit", ctx, copy, BEFORE_COMMIT) as CommitDraft;
  }

  async runAfterCommit(result: CommitResultInfo, ctx: WriteContext): Promise<PluginHookError[]> {
    return await this.#run("afterCommit", ctx, result, {
      accept: () => undefined,
    }) as PluginHookError[];
  }

  async runPlanCompaction(
    snapshot: Snapshot,
    ctx: CompactContext,
  ): Promise<CompactionBin[] | undefined> {
    return await this.#run("planCompaction", ctx, snapshot, PLAN_COMPACTION) as
      | CompactionBin[]
      | undefined;
  }

  async runRetentionHorizon(snapshot: Snapshot, ctx: VacuumContext): Promise<number | undefined> {
    return await this.#run("retentionHorizon", ctx, snapshot, RETENTION_HORIZON) as
      | number
      | undefined;
  }

  async runPlanDataRetention(snapshot: Snapshot, ctx: VacuumContext): Promise<Add[]> {
    return await this.#run("planDataRetention", ctx, snapshot, PLAN_DATA_RETENTION) as Add[];
  }

  async runFilterVacuumCandidates(paths: readonly string[], ctx: VacuumContext): Promise<string[]> {
    return await this.#run(
      "filterVacuumCandidates",
      ctx,
      [...paths],
      FILTER_VACUUM_CANDIDATES,
    ) as string[];
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const failures = await this.#disposeAll();
    for (const e of failures) {
      this.#disposeLogger?.error("Plugin disposer failed", {
        plugin: e.plugin,
        hook: e.hook,
        error: e,
      });
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new AggregateError(
        failures,
        `Cannot dispose plugins: ${failures.length} disposers failed (${
          failures.map((e) => e.plugin).join(", ")
        })`,
      );
    }
  }
}

/**
 * Create a plugin registry, registering `plugins` in order. Call `freeze()` (after registering any
 * more) before running hooks.
 *
 * @throws {PluginRegistrationError} when a plugin is refused (see `register`)
 *
 * @example
 * ```ts
 * import { createPluginRegistry, createMemoryLogger, PLUGIN_API_VERSION, type VacuumContext } from "./mod.ts";
 * import { systemClock } from "../core/clock.ts";
 * import { createMemoryStorage } from "../core/storage/memory.ts";
 * import { createTable } from "../core/write/create_table.ts";
 *
 * const registry = createPluginRegistry([
 *   {
 *     name: "spare-recent",
 *     apiVersion: PLUGIN_API_VERSION,
 *     hooks: { filterVacuumCandidates: (paths) => paths.filter((p) => !p.startsWith("date=2025")) },
 *   },
 * ]).freeze();
 *
 * const storage = createMemoryStorage();
 * const schema = { type: "struct" as const, fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }] };
 * const ctx: VacuumContext = {
 *   table: { name: "events", uri: "memory://events" },
 *   snapshot: await createTable(storage, { schema }),
 *   storage,
 *   clock: systemClock,
 *   signal: new AbortController().signal,
 *   limits: { retentionMs: 7 * 86_400_000 },
 *   logger: createMemoryLogger(),
 *   operation: "vacuum",
 *   dryRun: true,
 * };
 * await registry.runSetup(ctx);
 * const kept = await registry.runFilterVacuumCandidates(["date=2024/a.parquet", "date=2025/b.parquet"], ctx);
 * if (kept.length !== 1 || kept[0] !== "date=2024/a.parquet") throw new Error(String(kept));
 * await registry.dispose();
 * ```
 */
export function createPluginRegistry(
  plugins: readonly Plugin[] = [],
  options: PluginRegistryOptions = {},
): PluginRegistry {
  const registry = new Registry(options);
  for (const plugin of plugins) registry.register(plugin);
  return registry;
}
