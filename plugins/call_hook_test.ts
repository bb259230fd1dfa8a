import assert from "node:assert/strict";
import { never } from "./_testing.ts";
import { callHook } from "./call_hook.ts";
import { PluginHookError } from "./errors.ts";

const opts = { plugin: "p", hook: "writeFiles", timeoutMs: 1000 } as const;

async function hookError(p: Promise<unknown>): Promise<PluginHookError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PluginHookError, `expected PluginHookError, got ${e}`);
    return e;
  }
  assert.fail("expected the call to fail");
}

Deno.test("callHook returns sync and async results", async () => {
  assert.equal(await callHook(() => 1, opts), 1);
  assert.equal(await callHook(() => Promise.resolve(2), opts), 2);
  assert.equal(await callHook(() => undefined, opts), undefined);
});

Deno.test("callHook gives the handler a signal that is not aborted while in time", async () => {
  let seen: AbortSignal | undefined;
  await callHook((signal) => {
    seen = signal;
    return Promise.resolve();
  }, opts);
  assert.ok(seen !== undefined);
  assert.equal(seen.aborted, false);
});

Deno.test("callHook wraps a synchronous throw, naming plugin and hook and keeping the cause", async () => {
  const boom = new TypeError("boom");
  const e = await hookError(callHook(() => {
    throw boom;
  }, opts));
  assert.equal(e.plugin, "p");
  assert.equal(e.hook, "writeFiles");
  assert.equal(e.failure, "threw");
  assert.equal(e.cause, boom);
  assert.equal(e.message, "Cannot run hook 'writeFiles' of plugin 'p': boom");
});

Deno.test("callHook wraps a rejection, also of a non-Error value", async () => {
  const e = await hookError(callHook(() => Promise.reject("plain string"), opts));
  assert.equal(e.failure, "threw");
  assert.equal(e.cause, "plain string");
  assert.match(e.message, /plain string$/);
});

Deno.test("callHook fails a hook that never settles with a timeout and aborts its signal", async () => {
  let seen: AbortSignal | undefined;
  const e = await hookError(callHook((signal) => {
    seen = signal;
    return never();
  }, { ...opts, timeoutMs: 5 }));
  assert.equal(e.failure, "timeout");
  assert.match(e.message, /^Cannot run hook 'writeFiles' of plugin 'p': it timed out/);
  assert.ok(seen?.aborted, "the handler's signal must abort at the deadline");
  assert.equal((seen.reason as DOMException).name, "TimeoutError");
});

Deno.test("callHook: a hook that honours its signal and rejects still reports a timeout", async () => {
  const e = await hookError(callHook(
    (signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    { ...opts, timeoutMs: 5 },
  ));
  assert.equal(e.failure, "timeout");
});

Deno.test("callHook fails with 'aborted' when the operation's signal aborts", async () => {
  const op = new AbortController();
  let seen: AbortSignal | undefined;
  const call = callHook((signal) => {
    seen = signal;
    return never();
  }, { ...opts, timeoutMs: Infinity, signal: op.signal });
  op.abort(new Error("shutdown"));
  const e = await hookError(call);
  assert.equal(e.failure, "aborted");
  assert.equal((e.cause as Error).message, "shutdown");
  assert.ok(seen?.aborted);
});

Deno.test("callHook does not call the handler when the operation is already aborted", async () => {
  const op = new AbortController();
  op.abort();
  let called = false;
  const e = await hookError(callHook(() => {
    called = true;
  }, { ...opts, signal: op.signal }));
  assert.equal(e.failure, "aborted");
  assert.equal(called, false);
});

Deno.test("callHook: an abort during a synchronous handler does not leak a rejection", async () => {
  const op = new AbortController();
  const v = await callHook(() => {
    op.abort();
    return 3;
  }, { ...opts, signal: op.signal });
  assert.equal(v, 3);
});
