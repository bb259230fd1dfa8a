/**
 * Errors of the plugin registry.
 *
 * Registration errors are {@linkcode LakestrikeError}s with code `INVALID_ARGUMENT` (a bad plugin is
 * bad configuration) and a subclass per rule, so callers can tell them apart. Errors of a hook call
 * are {@linkcode PluginHookError}s that name the plugin and the hook and keep what went wrong as
 * `cause`.
 *
 * @module
 */
import { LakestrikeError } from "../core/errors.ts";
import type { HookName } from "./types.ts";

/** A plugin was refused at registration. Subclasses name the rule it broke. */
export class PluginRegistrationError extends LakestrikeError {
  /** Name of the refused plugin (as given, possibly not a string when the name is the problem). */
  readonly pluginName: string;
  /** Create the error; `why` completes "Cannot register plugin 'x': ...". */
  constructor(pluginName: string, why: string) {
    super("INVALID_ARGUMENT", `Cannot register plugin '${pluginName}': ${why}`);
    this.name = "PluginRegistrationError";
    this.pluginName = pluginName;
  }
}

/** The plugin's name is missing, empty or has characters outside the allowed set. */
export class InvalidPluginNameError extends PluginRegistrationError {
  /** Create the error; `why` says what is wrong with the name. */
  constructor(pluginName: string, why: string) {
    super(pluginName, why);
    this.name = "InvalidPluginNameError";
  }
}

/** The plugin object is malformed (not an object, bad `dependencies`, no `hooks` object). */
export class InvalidPluginError extends PluginRegistrationError {
  /** Create the error; `why` says what is malformed. */
  constructor(pluginName: string, why: string) {
    super(pluginName, why);
    this.name = "InvalidPluginError";
  }
}

/** A plugin with the same name is already registered. */
export class DuplicatePluginError extends PluginRegistrationError {
  /** Create the error for a name registered twice. */
  constructor(pluginName: string) {
    super(pluginName, "a plugin with this name is already registered");
    this.name = "DuplicatePluginError";
  }
}

/** The plugin declares an `apiVersion` this registry does not implement. */
export class UnsupportedPluginApiVersionError extends PluginRegistrationError {
  /** The version the plugin declared. */
  readonly apiVersion: unknown;
  /** Create the error for a declared version and the supported ones. */
  constructor(pluginName: string, apiVersion: unknown, supported: readonly number[]) {
    super(
      pluginName,
      `api version ${String(apiVersion)} is not supported (supported: ${supported.join(", ")})`,
    );
    this.name = "UnsupportedPluginApiVersionError";
    this.apiVersion = apiVersion;
  }
}

/** The plugin declares a hook name the registry does not know. */
export class UnknownHookError extends PluginRegistrationError {
  /** The unknown hook name. */
  readonly hook: string;
  /** Create the error for an unknown hook name. */
  constructor(pluginName: string, hook: string, why?: string) {
    super(pluginName, why ?? `hook '${hook}' is unknown`);
    this.name = "UnknownHookError";
    this.hook = hook;
  }
}

/** A hook is neither a function nor `{ order?, timeoutMs?, handler }` with valid values. */
export class InvalidHookError extends PluginRegistrationError {
  /** The hook name. */
  readonly hook: HookName;
  /** Create the error; `why` says what is wrong with the hook. */
  constructor(pluginName: string, hook: HookName, why: string) {
    super(pluginName, `hook '${hook}' ${why}`);
    this.name = "InvalidHookError";
    this.hook = hook;
  }
}

/** A plugin depends on a plugin that is not registered. */
export class MissingPluginDependencyError extends PluginRegistrationError {
  /** The missing dependency. */
  readonly dependency: string;
  /** Create the error for a plugin and its missing dependency. */
  constructor(pluginName: string, dependency: string) {
    super(pluginName, `plugin '${dependency}' it depends on is not registered`);
    this.name = "MissingPluginDependencyError";
    this.dependency = dependency;
  }
}

/** Plugins depend on each other in a cycle. */
export class PluginDependencyCycleError extends PluginRegistrationError {
  /** The cycle, first name repeated at the end: `["a", "b", "a"]`. */
  readonly cycle: readonly string[];
  /** Create the error for a cycle (first name repeated at the end). */
  constructor(cycle: readonly string[]) {
    super(cycle[0] ?? "", `its dependencies form a cycle: ${cycle.join(" -> ")}`);
    this.name = "PluginDependencyCycleError";
    this.cycle = cycle;
  }
}

/** The registry was used out of order (register after freeze, run before freeze or after dispose). */
export class PluginRegistryStateError extends LakestrikeError {
  /** Create the error with a full message. */
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
    this.name = "PluginRegistryStateError";
  }
}

/** What went wrong in a hook call. */
export type PluginHookFailure =
  /** The handler threw or its promise rejected; `cause` is what it threw. */
  | "threw"
  /** The handler did not settle within its time. */
  | "timeout"
  /** The operation's signal aborted before the handler settled. */
  | "aborted"
  /** The handler returned a value that breaks the hook's contract. */
  | "invalid-result";

/** The hook names a {@linkcode PluginHookError} can name: every hook plus the setup disposers. */
export type PluginHookErrorHook = HookName | "dispose";

/**
 * A hook call failed. Names the plugin and the hook; the original error is kept as `cause`.
 *
 * @example
 * ```ts
 * import { PluginHookError } from "./errors.ts";
 * const e = new PluginHookError("tag", "beforeCommit", "threw", "boom", { cause: new Error("boom") });
 * if (e.message !== "Cannot run hook 'beforeCommit' of plugin 'tag': boom") throw new Error(e.message);
 * ```
 */
export class PluginHookError extends Error {
  /** The plugin whose hook failed. */
  readonly plugin: string;
  /** The hook that failed. */
  readonly hook: PluginHookErrorHook;
  /** What went wrong. */
  readonly failure: PluginHookFailure;
  /** Create the error; `why` completes "Cannot run hook 'h' of plugin 'p': ...". */
  constructor(
    plugin: string,
    hook: PluginHookErrorHook,
    failure: PluginHookFailure,
    why: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot run hook '${hook}' of plugin '${plugin}': ${why}`, options);
    this.name = "PluginHookError";
    this.plugin = plugin;
    this.hook = hook;
    this.failure = failure;
  }
}

/**
 * A `filterVacuumCandidates` hook returned a path that was not in its input. Vacuum deletes files,
 * so a filter may only spare candidates, never add one.
 */
export class VacuumCandidatesNotNarrowedError extends PluginHookError {
  /** The paths the hook added. */
  readonly addedPaths: readonly string[];
  /** Create the error for a plugin and the paths it added. */
  constructor(plugin: string, addedPaths: readonly string[]) {
    const shown = addedPaths.slice(0, 3).map((p) => `'${p}'`).join(", ");
    const more = addedPaths.length > 3 ? ` and ${addedPaths.length - 3} more` : "";
    super(
      plugin,
      "filterVacuumCandidates",
      "invalid-result",
      `it may only remove vacuum candidates, but added ${shown}${more}`,
    );
    this.name = "VacuumCandidatesNotNarrowedError";
    this.addedPaths = addedPaths;
  }
}
