/**
 * One bounded hook call: the handler gets an abort signal that fires at its deadline (or when the
 * operation is cancelled), and the call is raced against that signal, so a handler that ignores the
 * signal still cannot hold the operation past its time. Every failure comes back as a
 * {@linkcode PluginHookError} naming the plugin and the hook.
 *
 * @module
 */
import { PluginHookError, type PluginHookErrorHook } from "./errors.ts";
import type { Awaitable } from "./types.ts";

/** The longest delay `setTimeout` takes; longer ones fire at once, so they mean "no timer" here. */
const TIMER_DELAY_MAX_MS = 2_147_483_647;

/** Options of {@linkcode callHook}. */
export interface CallHookOptions {
  /** Plugin name, for errors. */
  plugin: string;
  /** Hook name, for errors. */
  hook: PluginHookErrorHook;
  /** Time the call may take; `Infinity` for no bound. */
  timeoutMs: number;
  /** The operation's signal; when it aborts, the call fails with failure `aborted`. */
  signal?: AbortSignal;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null &&
    typeof (v as { then?: unknown }).then === "function";
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Call `fn` with a signal that aborts after `timeoutMs` or when `options.signal` aborts, and wait
 * for it at most that long.
 *
 * @throws {PluginHookError} with failure `threw` when `fn` throws or rejects (the error is the
 * `cause`), `timeout` when it does not settle in time, `aborted` when the operation's signal aborts
 * first (or had already aborted, in which case `fn` is not called).
 *
 * @example
 * ```ts
 * import { callHook } from "./call_hook.ts";
 * import { PluginHookError } from "./errors.ts";
 * const ok = await callHook(() => 42, { plugin: "p", hook: "setup", timeoutMs: 1000 });
 * if (ok !== 42) throw new Error("unexpected");
 * try {
 *   await callHook(() => new Promise(() => {}), { plugin: "p", hook: "setup", timeoutMs: 5 });
 *   throw new Error("should have timed out");
 * } catch (e) {
 *   if (!(e instanceof PluginHookError) || e.failure !== "timeout") throw e;
 * }
 * ```
 */
export async function callHook<T>(
  fn: (signal: AbortSignal) => Awaitable<T>,
  options: CallHookOptions,
): Promise<T> {
  const { plugin, hook, timeoutMs } = options;
  const outer = options.signal;
  if (outer?.aborted) {
    throw new PluginHookError(plugin, hook, "aborted", "the operation was aborted", {
      cause: outer.reason,
    });
  }
  const timer = new AbortController();
  const signal = outer === undefined ? timer.signal : AbortSignal.any([outer, timer.signal]);
  const timeoutId = timeoutMs <= TIMER_DELAY_MAX_MS
    ? setTimeout(() => {
      timer.abort(new DOMException(`hook did not settle within ${timeoutMs} ms`, "TimeoutError"));
    }, Math.max(0, timeoutMs))
    : undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(STOPPED);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  // The signal can abort while a synchronous handler runs, when nothing races `stopped` yet.
  stopped.catch(() => {});
  const cleanup = () => {
    if (timeoutId !== undefined) clearTimeout(timeoutId);
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  };
  try {
    const result = fn(signal);
    if (!isThenable(result)) return result;
    return await Promise.race([result, stopped]) as T;
  } catch (e) {
    if (e !== STOPPED) {
      throw new PluginHookError(plugin, hook, "threw", messageOf(e), { cause: e });
    }
    if (timer.signal.aborted) {
      throw new PluginHookError(
        plugin,
        hook,
        "timeout",
        `it timed out: it did not settle within ${timeoutMs} ms`,
        { cause: timer.signal.reason },
      );
    }
    throw new PluginHookError(plugin, hook, "aborted", "the operation was aborted", {
      cause: outer?.reason,
    });
  } finally {
    cleanup();
  }
}

/** Rejection value of the race promise; never escapes {@linkcode callHook}. */
const STOPPED = Symbol("stopped");
