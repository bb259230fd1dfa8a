/**
 * Registration, ordering and lifecycle of the plugin registry. The run modes of each hook are in
 * `registry_run_test.ts`.
 */
import assert from "node:assert/strict";
import { isLakestrikeError } from "../core/errors.ts";
import { testContext, testPlugin } from "./_testing.ts";
import {
  DuplicatePluginError,
  InvalidHookError,
  InvalidPluginError,
  InvalidPluginNameError,
  MissingPluginDependencyError,
  PluginDependencyCycleError,
  PluginHookError,
  PluginRegistrationError,
  PluginRegistryStateError,
  UnknownHookError,
  UnsupportedPluginApiVersionError,
} from "./errors.ts";
import { createPluginRegistry } from "./registry.ts";
import { HOOK_NAMES, type Plugin, PLUGIN_API_VERSION, type VacuumContext } from "./types.ts";

const noop = () => {};

/** Register `plugins` and freeze, returning the error thrown. */
function refusal(plugins: readonly unknown[]): PluginRegistrationError {
  try {
    createPluginRegistry(plugins as Plugin[]).freeze();
  } catch (e) {
    assert.ok(e instanceof PluginRegistrationError, `expected a registration error, got ${e}`);
    assert.ok(isLakestrikeError(e, "INVALID_ARGUMENT"));
    return e;
  }
  assert.fail("expected registration to fail");
}

Deno.test("PLUGIN_API_VERSION is 1", () => {
  assert.equal(PLUGIN_API_VERSION, 1);
});

Deno.test("a valid plugin with every hook registers", () => {
  const hooks = Object.fromEntries(HOOK_NAMES.map((h) => [h, noop]));
  const registry = createPluginRegistry([testPlugin("all", hooks)]).freeze();
  assert.deepEqual(registry.pluginNames, ["all"]);
  for (const hook of HOOK_NAMES) assert.deepEqual(registry.hookOrder(hook), ["all"]);
});

Deno.test("register() then freeze() works like passing plugins to createPluginRegistry", () => {
  const registry = createPluginRegistry();
  registry.register(testPlugin("a", { setup: noop })).register(testPlugin("b", { setup: noop }));
  assert.equal(registry.frozen, false);
  assert.equal(registry.freeze(), registry);
  assert.equal(registry.frozen, true);
  assert.deepEqual(registry.hookOrder("setup"), ["a", "b"]);
  assert.equal(registry.freeze(), registry, "freeze is idempotent");
});

Deno.test("a duplicate name is refused", () => {
  const e = refusal([testPlugin("a", {}), testPlugin("a", {})]);
  assert.ok(e instanceof DuplicatePluginError);
  assert.equal(
    e.message,
    "Cannot register plugin 'a': a plugin with this name is already registered",
  );
  assert.equal(e.pluginName, "a");
});

Deno.test("a missing dependency is refused at freeze with the house message", () => {
  const registry = createPluginRegistry([testPlugin("x", {}, { dependencies: ["y"] })]);
  assert.throws(() => registry.freeze(), (e: unknown) => {
    assert.ok(e instanceof MissingPluginDependencyError);
    assert.equal(
      e.message,
      "Cannot register plugin 'x': plugin 'y' it depends on is not registered",
    );
    assert.equal(e.dependency, "y");
    return true;
  });
  assert.equal(registry.frozen, false);
});

Deno.test("dependency cycles are refused, naming the cycle", () => {
  const e = refusal([
    testPlugin("a", {}, { dependencies: ["b"] }),
    testPlugin("b", {}, { dependencies: ["c"] }),
    testPlugin("c", {}, { dependencies: ["a"] }),
  ]);
  assert.ok(e instanceof PluginDependencyCycleError);
  assert.deepEqual(e.cycle, ["a", "b", "c", "a"]);
  assert.match(e.message, /a -> b -> c -> a/);

  const self = refusal([testPlugin("s", {}, { dependencies: ["s"] })]);
  assert.ok(self instanceof PluginDependencyCycleError);
  assert.deepEqual(self.cycle, ["s", "s"]);

  // A cycle behind an acyclic plugin is still found.
  const behind = refusal([
    testPlugin("top", {}, { dependencies: ["p"] }),
    testPlugin("p", {}, { dependencies: ["q"] }),
    testPlugin("q", {}, { dependencies: ["p"] }),
  ]);
  assert.ok(behind instanceof PluginDependencyCycleError);
  assert.deepEqual(behind.cycle, ["p", "q", "p"]);
});

Deno.test("a wrong or missing apiVersion is refused", () => {
  for (const apiVersion of [2, 0, "1", undefined, 1.5]) {
    const e = refusal([{ name: "old", apiVersion, hooks: {} }]);
    assert.ok(e instanceof UnsupportedPluginApiVersionError, String(apiVersion));
    assert.equal(e.apiVersion, apiVersion);
    assert.match(
      e.message,
      /^Cannot register plugin 'old': api version .* is not supported \(supported: 1\)$/,
    );
  }
});

Deno.test("unknown hook names are refused, also hooks outside 'hooks'", () => {
  const e = refusal([testPlugin("t", { beforeCommmit: noop } as never)]);
  assert.ok(e instanceof UnknownHookError);
  assert.equal(e.hook, "beforeCommmit");
  assert.equal(e.message, "Cannot register plugin 't': hook 'beforeCommmit' is unknown");

  const outside = refusal([{ name: "t", apiVersion: 1, hooks: {}, setup: noop }]);
  assert.ok(outside instanceof InvalidPluginError);
  assert.match(outside.message, /hook 'setup' must be inside 'hooks'/);

  // Prototype keys are not hooks.
  assert.ok(refusal([testPlugin("t", { toString: noop } as never)]) instanceof UnknownHookError);
});

Deno.test("a hook that is not a function, or a malformed hook object, is refused", () => {
  const cases: unknown[] = [
    42,
    "fn",
    null,
    [noop],
    {},
    { handler: 1 },
    { handler: noop, order: "middle" },
    { handler: noop, timeoutMs: 0 },
    { handler: noop, timeoutMs: Number.NaN },
    { handler: noop, priority: 1 },
  ];
  for (const entry of cases) {
    const e = refusal([testPlugin("h", { setup: entry } as never)]);
    assert.ok(e instanceof InvalidHookError, JSON.stringify(entry));
    assert.equal(e.hook, "setup");
    assert.match(e.message, /^Cannot register plugin 'h': hook 'setup' /);
  }
  // An undefined hook is simply absent.
  const ok = createPluginRegistry([testPlugin("h", { setup: undefined })]).freeze();
  assert.deepEqual(ok.hookOrder("setup"), []);
});

Deno.test("empty or invalid names are refused", () => {
  const names: unknown[] = ["", " ", "a b", "-lead", "x".repeat(101), 7, undefined, "ü"];
  for (const name of names) {
    const e = refusal([{ name, apiVersion: 1, hooks: {} }]);
    assert.ok(e instanceof InvalidPluginNameError, String(name));
  }
  assert.equal(
    refusal([{ name: "", apiVersion: 1, hooks: {} }]).message,
    "Cannot register plugin '': its name is empty",
  );
  const fine = ["parquet-writer", "@acme/retention", "team.metrics:v2", "x".repeat(100)];
  for (const name of fine) createPluginRegistry([testPlugin(name, {})]).freeze();
});

Deno.test("malformed plugins are refused", () => {
  assert.ok(refusal([null]) instanceof InvalidPluginError);
  assert.ok(refusal(["plugin"]) instanceof InvalidPluginError);
  assert.ok(refusal([{ name: "n", apiVersion: 1 }]) instanceof InvalidPluginError);
  assert.ok(refusal([{ name: "n", apiVersion: 1, hooks: [] }]) instanceof InvalidPluginError);
  assert.ok(
    refusal([{ name: "n", apiVersion: 1, hooks: {}, dependencies: "other" }]) instanceof
      InvalidPluginError,
  );
  assert.ok(
    refusal([{ name: "n", apiVersion: 1, hooks: {}, dependencies: [3] }]) instanceof
      InvalidPluginError,
  );
});

Deno.test("a refused plugin leaves the registry as it was", () => {
  const registry = createPluginRegistry([testPlugin("a", { setup: noop })]);
  assert.throws(() => registry.register(testPlugin("a", {})), DuplicatePluginError);
  assert.throws(
    () => registry.register(testPlugin("b", { nope: noop } as never)),
    UnknownHookError,
  );
  assert.deepEqual(registry.pluginNames, ["a"]);
  registry.register(testPlugin("b", {}));
  assert.deepEqual(registry.pluginNames, ["a", "b"]);
});

Deno.test("hooks run pre, then normal, then post; registration order within a group", () => {
  const h = (order?: "pre" | "post") => order === undefined ? noop : { order, handler: noop };
  const registry = createPluginRegistry([
    testPlugin("n1", { transformBatch: h() }),
    testPlugin("post1", { transformBatch: h("post") }),
    testPlugin("pre1", { transformBatch: h("pre") }),
    testPlugin("n2", { transformBatch: h() }),
    testPlugin("post2", { transformBatch: h("post") }),
    testPlugin("pre2", { transformBatch: h("pre") }),
    testPlugin("other", { setup: noop }),
  ]).freeze();
  assert.deepEqual(registry.hookOrder("transformBatch"), [
    "pre1",
    "pre2",
    "n1",
    "n2",
    "post1",
    "post2",
  ]);
  assert.deepEqual(registry.hookOrder("setup"), ["other"]);
  assert.deepEqual(registry.hookOrder("writeFiles"), []);
});

Deno.test("a plugin comes after its dependencies, registration order otherwise", () => {
  const registry = createPluginRegistry([
    testPlugin("metrics", { setup: noop }, { dependencies: ["writer", "clock-source"] }),
    testPlugin("a", { setup: noop }),
    testPlugin("writer", { setup: noop }, { dependencies: ["clock-source"] }),
    testPlugin("clock-source", { setup: noop }),
    testPlugin("z", { setup: noop }),
  ]).freeze();
  assert.deepEqual(registry.pluginNames, ["a", "clock-source", "writer", "metrics", "z"]);
  assert.deepEqual(registry.hookOrder("setup"), ["a", "clock-source", "writer", "metrics", "z"]);
});

Deno.test("order groups win over dependency order", () => {
  const registry = createPluginRegistry([
    testPlugin("base", { beforeCommit: { order: "post", handler: noop } }),
    testPlugin("dependent", { beforeCommit: { order: "pre", handler: noop } }, {
      dependencies: ["base"],
    }),
  ]).freeze();
  assert.deepEqual(registry.hookOrder("beforeCommit"), ["dependent", "base"]);
});

Deno.test("the registry keeps its own copy of a plugin's hooks", async () => {
  const calls: string[] = [];
  const hooks: Record<string, unknown> = { setup: () => void calls.push("original") };
  const registry = createPluginRegistry([testPlugin("m", hooks)]);
  hooks.setup = () => void calls.push("swapped");
  hooks.writeFiles = noop;
  registry.freeze();
  await registry.runSetup(testContext());
  assert.deepEqual(calls, ["original"]);
  assert.deepEqual(registry.hookOrder("writeFiles"), []);
});

Deno.test("built-in style factories register exactly like custom plugins", async () => {
  // A factory as the built-ins will be written: options in, plain object out.
  const retentionPlugin = (options: { retentionMs: number }): Plugin => ({
    name: "retention",
    apiVersion: PLUGIN_API_VERSION,
    hooks: { retentionHorizon: (_s, ctx) => ctx.clock.nowMs() - options.retentionMs },
  });
  const registry = createPluginRegistry([retentionPlugin({ retentionMs: 1000 })]).freeze();
  const { testSnapshot } = await import("./_testing.ts");
  assert.equal(await registry.runRetentionHorizon(testSnapshot([]), testContext()), 999_000);
});

Deno.test("lifecycle: no register after freeze, no run before freeze or after dispose", async () => {
  const registry = createPluginRegistry([testPlugin("a", { setup: noop })]);
  const ctx = testContext<VacuumContext>({ operation: "vacuum", limits: {} });
  await assert.rejects(() => registry.runSetup(ctx), PluginRegistryStateError);
  assert.throws(() => registry.hookOrder("setup"), /not frozen/);
  registry.freeze();
  assert.throws(
    () => registry.register(testPlugin("b", {})),
    (e: unknown) =>
      e instanceof PluginRegistryStateError &&
      e.message === "Cannot register plugin 'b': the registry is frozen",
  );
  await registry.runSetup(ctx);
  await assert.rejects(() => registry.runSetup(ctx), /setup already ran/);
  await registry.dispose();
  await registry.dispose(); // idempotent
  await assert.rejects(
    () => registry.runFilterVacuumCandidates(["a"], ctx),
    /the registry is disposed/,
  );
});

Deno.test("extend: the inherited hooks and the added ones run; setup and dispose are the child's", async () => {
  const calls: string[] = [];
  const parent = createPluginRegistry([
    testPlugin("team", {
      setup: () => void calls.push("setup team"),
      planCompaction: () => undefined,
    }),
  ], { hookTimeoutMs: 1_000 });
  assert.throws(() => parent.extend([]), /not frozen/);
  parent.freeze();
  await parent.runSetup(testContext());
  const child = parent.extend([
    testPlugin("builtin", {
      setup: () => () => void calls.push("dispose builtin"),
      planCompaction: { order: "post", handler: () => [] },
    }),
  ]).freeze();
  assert.deepEqual(child.pluginNames, ["team", "builtin"]);
  assert.deepEqual(child.hookOrder("planCompaction"), ["team", "builtin"]);
  assert.deepEqual(parent.hookOrder("planCompaction"), ["team"], "the parent is unchanged");
  await child.runSetup(testContext());
  assert.deepEqual(calls, ["setup team"], "the inherited setup is its owner's");
  await child.dispose();
  assert.deepEqual(calls, ["setup team", "dispose builtin"]);
  assert.throws(() => parent.extend([testPlugin("team", {})]), DuplicatePluginError);
});

Deno.test("registry options are checked", () => {
  assert.throws(() => createPluginRegistry([], { hookTimeoutMs: 0 }), PluginRegistryStateError);
  assert.throws(
    () => createPluginRegistry([], { hookTimeoutsMs: { nope: 5 } as never }),
    /unknown hook 'nope'/,
  );
  assert.throws(
    () => createPluginRegistry([], { hookTimeoutsMs: { setup: -1 } }),
    /hookTimeoutsMs.setup must be a positive number/,
  );
  createPluginRegistry([], { hookTimeoutsMs: { dispose: 5, afterCommit: Infinity } });
});

Deno.test("setup disposers run in reverse order on dispose, all of them even when some fail", async () => {
  const events: string[] = [];
  const disposing = (name: string, fail = false) => () => {
    events.push(`setup ${name}`);
    return () => {
      events.push(`dispose ${name}`);
      if (fail) throw new Error(`${name} cannot close`);
    };
  };
  const registry = createPluginRegistry([
    testPlugin("a", { setup: disposing("a") }),
    testPlugin("b", { setup: disposing("b", true) }),
    testPlugin("c", { setup: () => Promise.resolve(void events.push("setup c")) }),
    testPlugin("d", { setup: disposing("d") }),
    testPlugin("p", { setup: { order: "pre", handler: disposing("p") } }),
  ]).freeze();
  const ctx = testContext();
  await registry.runSetup(ctx);
  assert.deepEqual(events, ["setup p", "setup a", "setup b", "setup c", "setup d"]);
  events.length = 0;
  await assert.rejects(() => registry.dispose(), (e: unknown) => {
    assert.ok(e instanceof PluginHookError);
    assert.equal(e.plugin, "b");
    assert.equal(e.hook, "dispose");
    assert.equal((e.cause as Error).message, "b cannot close");
    return true;
  });
  assert.deepEqual(events, ["dispose d", "dispose b", "dispose a", "dispose p"]);
  assert.equal(ctx.logger.records.filter((r) => r.level === "error").length, 1);
});

Deno.test("several failing disposers are reported together", async () => {
  const failing = () => () => {
    throw new Error("no");
  };
  const registry = createPluginRegistry([
    testPlugin("a", { setup: failing }),
    testPlugin("b", { setup: failing }),
  ]).freeze();
  await registry.runSetup(testContext());
  await assert.rejects(() => registry.dispose(), (e: unknown) => {
    assert.ok(e instanceof AggregateError);
    assert.equal(e.errors.length, 2);
    assert.match(e.message, /^Cannot dispose plugins: 2 disposers failed \(b, a\)$/);
    return true;
  });
});

Deno.test("a failing setup releases what earlier setups opened, then throws", async () => {
  const events: string[] = [];
  const registry = createPluginRegistry([
    testPlugin("a", { setup: () => () => void events.push("dispose a") }),
    testPlugin("b", { setup: () => () => void events.push("dispose b") }),
    testPlugin("c", {
      setup: () => {
        throw new Error("cannot open");
      },
    }),
    testPlugin("d", { setup: () => () => void events.push("dispose d") }),
  ]).freeze();
  await assert.rejects(() => registry.runSetup(testContext()), (e: unknown) => {
    assert.ok(e instanceof PluginHookError);
    assert.equal(e.plugin, "c");
    assert.equal(e.hook, "setup");
    assert.equal(e.message, "Cannot run hook 'setup' of plugin 'c': cannot open");
    return true;
  });
  assert.deepEqual(events, ["dispose b", "dispose a"]);
  await registry.dispose();
  assert.deepEqual(events, ["dispose b", "dispose a"], "each disposer runs once");
});

Deno.test("setup must return a disposer function or nothing", async () => {
  const registry = createPluginRegistry([testPlugin("s", { setup: () => 5 as never })]).freeze();
  await assert.rejects(() => registry.runSetup(testContext()), (e: unknown) => {
    assert.ok(e instanceof PluginHookError);
    assert.equal(e.failure, "invalid-result");
    return true;
  });
});

Deno.test("a disposer that does not settle times out and later disposers still run", async () => {
  const events: string[] = [];
  const registry = createPluginRegistry([
    testPlugin("a", { setup: () => () => void events.push("dispose a") }),
    testPlugin("stuck", { setup: () => () => new Promise<void>(() => {}) }),
  ], { hookTimeoutsMs: { dispose: 5 } }).freeze();
  await registry.runSetup(testContext());
  await assert.rejects(() => registry.dispose(), (e: unknown) => {
    assert.ok(e instanceof PluginHookError);
    assert.equal(e.failure, "timeout");
    assert.equal(e.plugin, "stuck");
    return true;
  });
  assert.deepEqual(events, ["dispose a"]);
});
