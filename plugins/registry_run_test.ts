/** How each hook runs through the registry: order, run mode, contract checks, timeouts, tagging. */
import assert from "node:assert/strict";
import { type Table, tableFromArrays } from "apache-arrow";
import type { Action } from "../core/log/actions.ts";
import { never, testAdd, testContext, testPlugin, testSnapshot } from "./_testing.ts";
import { PluginHookError } from "./errors.ts";
import { createPluginRegistry } from "./registry.ts";
import type { CommitDraft, CompactContext, Plugin, PluginContext } from "./types.ts";

function frozen(plugins: Plugin[], options = {}) {
  return createPluginRegistry(plugins, options).freeze();
}

async function hookError(p: Promise<unknown>): Promise<PluginHookError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PluginHookError, `expected PluginHookError, got ${e}`);
    return e;
  }
  assert.fail("expected the run to fail");
}

/** A latch: `wait()` settles once `open()` was called. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, wait: () => opened };
}

const events = () => tableFromArrays({ ts: [86_400_000, 172_800_000], user: ["a", "b"] });

// ---------------------------------------------------------------------------------------------
// Context

Deno.test("hooks get the context as an argument, never as this, with a tagged logger", async () => {
  let seenThis: unknown = "unset";
  let seenCtx: PluginContext | undefined;
  const registry = frozen([testPlugin("ctx", {
    setup: function (this: unknown, ctx) {
      seenThis = this;
      seenCtx = ctx;
      ctx.logger.info("opened", { files: 2 });
    },
  })]);
  const ctx = testContext<CompactContext>({
    limits: { targetSizeBytes: 5 },
    operation: "compact",
    dryRun: true,
  });
  await registry.runSetup(ctx);
  assert.equal(seenThis, undefined);
  assert.ok(seenCtx !== undefined);
  assert.equal(seenCtx.table, ctx.table);
  assert.equal(seenCtx.storage, ctx.storage);
  assert.equal(seenCtx.clock, ctx.clock);
  assert.equal(seenCtx.operation, "compact");
  assert.equal(seenCtx.operation === "compact" && seenCtx.limits.targetSizeBytes, 5);
  assert.equal(seenCtx.snapshot, ctx.snapshot);
  assert.equal(seenCtx.dryRun, true);
  assert.notEqual(seenCtx.signal, ctx.signal, "each call gets its own bounded signal");
  assert.deepEqual(ctx.logger.records, [{
    level: "info",
    message: "opened",
    fields: { plugin: "ctx", hook: "setup", files: 2 },
  }]);
});

// ---------------------------------------------------------------------------------------------
// transformBatch: waterfall

Deno.test("transformBatch: each plugin gets the previous batch, undefined keeps it", async () => {
  const seen: string[][] = [];
  const names = (t: Table) => t.schema.fields.map((f) => f.name);
  const registry = frozen([
    testPlugin("date-partition", {
      transformBatch(batch) {
        seen.push(names(batch));
        const ts = batch.getChild("ts")!.toArray() as Float64Array;
        const date = Array.from(ts, (ms) => new Date(ms).toISOString().slice(0, 10));
        return batch.assign(tableFromArrays({ date }));
      },
    }),
    testPlugin("observer", {
      transformBatch(batch) {
        seen.push(names(batch));
      },
    }),
    testPlugin("drop-user", {
      transformBatch: (batch) => {
        seen.push(names(batch));
        return Promise.resolve(batch.select(["ts", "date"]));
      },
    }),
  ]);
  const out = await registry.runTransformBatch(events(), testContext());
  assert.deepEqual(seen, [["ts", "user"], ["ts", "user", "date"], ["ts", "user", "date"]]);
  assert.deepEqual(names(out), ["ts", "date"]);
  assert.deepEqual(out.getChild("date")!.toArray(), ["1970-01-02", "1970-01-03"]);
});

Deno.test("transformBatch: no plugins gives the batch back; a non-table result is refused", async () => {
  const batch = events();
  assert.equal(await frozen([]).runTransformBatch(batch, testContext()), batch);
  const e = await hookError(
    frozen([testPlugin("bad", { transformBatch: () => 42 as never })]).runTransformBatch(
      batch,
      testContext(),
    ),
  );
  assert.equal(e.plugin, "bad");
  assert.equal(e.hook, "transformBatch");
  assert.equal(e.failure, "invalid-result");
});

Deno.test("transformBatch: an error is tagged with plugin and hook and stops the waterfall", async () => {
  let laterRan = false;
  const cause = new RangeError("no ts column");
  const registry = frozen([
    testPlugin("breaks", {
      transformBatch: () => {
        throw cause;
      },
    }),
    testPlugin("later", {
      transformBatch: () => {
        laterRan = true;
      },
    }),
  ]);
  const e = await hookError(registry.runTransformBatch(events(), testContext()));
  assert.equal(e.message, "Cannot run hook 'transformBatch' of plugin 'breaks': no ts column");
  assert.equal(e.cause, cause);
  assert.equal(laterRan, false);
});

// ---------------------------------------------------------------------------------------------
// writeFiles: first answer wins

Deno.test("writeFiles: the first plugin that answers wins, later ones are not asked", async () => {
  const asked: string[] = [];
  const registry = frozen([
    testPlugin("passes", {
      writeFiles: () => {
        asked.push("passes");
        return undefined;
      },
    }),
    testPlugin("writer", {
      writeFiles: async (batch) => {
        asked.push("writer");
        await Promise.resolve();
        return [testAdd(`part-${batch.numRows}.parquet`)];
      },
    }),
    testPlugin("second-writer", {
      writeFiles: () => {
        asked.push("second-writer");
        return [testAdd("never.parquet")];
      },
    }),
  ]);
  const adds = await registry.runWriteFiles(events(), testContext());
  assert.deepEqual(adds?.map((a) => a.path), ["part-2.parquet"]);
  assert.deepEqual(asked, ["passes", "writer"]);
});

Deno.test("writeFiles: an empty array is an answer; no answer at all is undefined", async () => {
  let secondAsked = false;
  const registry = frozen([
    testPlugin("empty", { writeFiles: () => [] }),
    testPlugin("second", {
      writeFiles: () => {
        secondAsked = true;
        return [testAdd("x")];
      },
    }),
  ]);
  assert.deepEqual(await registry.runWriteFiles(events(), testContext()), []);
  assert.equal(secondAsked, false);
  const none = frozen([testPlugin("passes", { writeFiles: () => undefined })]);
  assert.equal(await none.runWriteFiles(events(), testContext()), undefined);
});

Deno.test("writeFiles: a result that is not add actions is refused", async () => {
  for (const bad of [{}, ["p.parquet"], [{ path: "", size: 1 }], [{ ...testAdd("p"), size: -1 }]]) {
    const e = await hookError(
      frozen([testPlugin("w", { writeFiles: () => bad as never })]).runWriteFiles(
        events(),
        testContext(),
      ),
    );
    assert.equal(e.failure, "invalid-result", JSON.stringify(bad));
  }
});

// ---------------------------------------------------------------------------------------------
// beforeCommit: sequential

const draft = (): CommitDraft => ({
  actions: [{ add: testAdd("a.parquet") }],
  commitInfo: { operation: "WRITE" },
  operation: "WRITE",
});

Deno.test("beforeCommit: runs in order, in place or by returning a draft; the caller's draft is untouched", async () => {
  const order: string[] = [];
  const registry = frozen([
    testPlugin("txn", {
      beforeCommit(d) {
        order.push("txn");
        d.actions.push({ txn: { appId: "edge-1", version: 3 } });
      },
    }),
    testPlugin("tags", {
      beforeCommit: (d) => {
        order.push(`tags saw ${d.actions.length}`);
        return { ...d, commitInfo: { ...d.commitInfo, team: "ingest" } };
      },
    }),
    testPlugin("audit", {
      beforeCommit: {
        order: "post",
        handler: (d) => {
          order.push(`audit saw team=${String(d.commitInfo.team)}`);
        },
      },
    }),
  ]);
  const original = draft();
  const out = await registry.runBeforeCommit(original, testContext());
  assert.deepEqual(order, ["txn", "tags saw 2", "audit saw team=ingest"]);
  assert.deepEqual(out.actions, [{ add: testAdd("a.parquet") }, {
    txn: { appId: "edge-1", version: 3 },
  }]);
  assert.deepEqual(out.commitInfo, { operation: "WRITE", team: "ingest" });
  assert.deepEqual(original, draft(), "the caller's draft is not mutated");
});

Deno.test("beforeCommit: a plugin rejects the commit by throwing; later plugins do not run", async () => {
  let laterRan = false;
  const reason = new Error("table is read-only on weekends");
  const registry = frozen([
    testPlugin("guard", {
      beforeCommit: () => {
        throw reason;
      },
    }),
    testPlugin("later", {
      beforeCommit: () => {
        laterRan = true;
      },
    }),
  ]);
  const e = await hookError(registry.runBeforeCommit(draft(), testContext()));
  assert.equal(e.plugin, "guard");
  assert.equal(e.hook, "beforeCommit");
  assert.equal(e.failure, "threw");
  assert.equal(e.cause, reason);
  assert.equal(laterRan, false);
});

Deno.test("beforeCommit: dropping or replacing actions, or changing the operation, is refused", async () => {
  const cases: Array<(d: CommitDraft) => CommitDraft | void> = [
    (d) => void d.actions.pop(),
    (d) => ({ ...d, actions: [] }),
    (d) => ({ ...d, actions: d.actions.map((a) => ({ ...a }) as Action) }),
    (d) => ({ ...d, operation: "DELETE" }),
    () => 7 as never,
  ];
  for (const handler of cases) {
    const e = await hookError(
      frozen([testPlugin("bad", { beforeCommit: handler })]).runBeforeCommit(
        draft(),
        testContext(),
      ),
    );
    assert.equal(e.failure, "invalid-result", handler.toString());
    assert.equal(e.plugin, "bad");
  }
});

// ---------------------------------------------------------------------------------------------
// afterCommit: parallel, errors logged

const commitResult = () => ({ version: 8, snapshot: testSnapshot(["a.parquet"], 8), actions: [] });

Deno.test("afterCommit: hooks run in parallel", async () => {
  // Each hook waits for the other to start: sequential execution would never finish.
  const a = latch();
  const b = latch();
  const registry = frozen([
    testPlugin("a", {
      afterCommit: async () => {
        a.open();
        await b.wait();
      },
    }),
    testPlugin("b", {
      afterCommit: async () => {
        b.open();
        await a.wait();
      },
    }),
  ], { hookTimeoutMs: 60_000 });
  assert.deepEqual(await registry.runAfterCommit(commitResult(), testContext()), []);
});

Deno.test("afterCommit: errors and timeouts are logged with plugin and hook, never thrown; all hooks finish", async () => {
  const slow = latch();
  let slowFinished = false;
  const registry = frozen([
    testPlugin("fails-fast", {
      afterCommit: () => {
        slow.open();
        throw new Error("metrics endpoint down");
      },
    }),
    testPlugin("checkpointer", {
      afterCommit: async () => {
        await slow.wait();
        await new Promise((r) => setTimeout(r, 1));
        slowFinished = true;
      },
    }),
    testPlugin("hangs", { afterCommit: { timeoutMs: 5, handler: () => never() } }),
  ], { hookTimeoutMs: 60_000 });
  const ctx = testContext();
  const failures = await registry.runAfterCommit(commitResult(), ctx);
  assert.equal(slowFinished, true, "a failure does not cut other hooks short");
  assert.deepEqual(failures.map((e) => [e.plugin, e.hook, e.failure]), [
    ["fails-fast", "afterCommit", "threw"],
    ["hangs", "afterCommit", "timeout"],
  ]);
  const logged = ctx.logger.records.filter((r) => r.level === "error");
  assert.deepEqual(logged.map((r) => [r.fields.plugin, r.fields.hook, r.fields.failure]), [
    ["fails-fast", "afterCommit", "threw"],
    ["hangs", "afterCommit", "timeout"],
  ]);
  assert.ok(logged[0]?.fields.error instanceof PluginHookError);
});

// ---------------------------------------------------------------------------------------------
// planCompaction: first answer wins

Deno.test("planCompaction: the first plan wins; bins must hold distinct active files", async () => {
  const snapshot = testSnapshot(["a", "b", "c"]);
  const bin = (...paths: string[]) => ({
    partitionValues: {},
    files: paths.map((p) => testAdd(p)),
  });
  let laterAsked = false;
  const registry = frozen([
    testPlugin("no-opinion", { planCompaction: () => undefined }),
    testPlugin("binpack", { planCompaction: (s) => [bin(...s.files.map((f) => f.path))] }),
    testPlugin("later", {
      planCompaction: () => {
        laterAsked = true;
        return [];
      },
    }),
  ]);
  const plan = await registry.runPlanCompaction(snapshot, testContext({ operation: "compact" }));
  assert.deepEqual(plan?.[0]?.files.map((f) => f.path), ["a", "b", "c"]);
  assert.equal(laterAsked, false);
  assert.equal(
    await frozen([]).runPlanCompaction(snapshot, testContext()),
    undefined,
  );

  for (const bad of [[bin("a", "gone")], [bin("a"), bin("a")], "all", [{ files: [] }]]) {
    const e = await hookError(
      frozen([testPlugin("p", { planCompaction: () => bad as never })]).runPlanCompaction(
        snapshot,
        testContext(),
      ),
    );
    assert.equal(e.failure, "invalid-result", JSON.stringify(bad));
  }
});

// ---------------------------------------------------------------------------------------------
// retentionHorizon: parallel, oldest wins

Deno.test("retentionHorizon: the oldest (smallest) horizon wins; undefined has no opinion", async () => {
  const registry = frozen([
    testPlugin("default-7d", { retentionHorizon: (_s, ctx) => ctx.clock.nowMs() - 7_000 }),
    testPlugin("legal-hold", { retentionHorizon: () => Promise.resolve(10) }),
    testPlugin("indifferent", { retentionHorizon: () => undefined }),
    testPlugin("short", { retentionHorizon: (_s, ctx) => ctx.clock.nowMs() - 1 }),
  ]);
  assert.equal(await registry.runRetentionHorizon(testSnapshot([]), testContext()), 10);
  const none = frozen([testPlugin("indifferent", { retentionHorizon: () => undefined })]);
  assert.equal(await none.runRetentionHorizon(testSnapshot([]), testContext()), undefined);
  assert.equal(await frozen([]).runRetentionHorizon(testSnapshot([]), testContext()), undefined);
});

Deno.test("retentionHorizon: hooks run in parallel; a failure is thrown after all settle", async () => {
  const a = latch();
  const b = latch();
  let slowSettled = false;
  const registry = frozen([
    testPlugin("a", {
      retentionHorizon: async () => {
        a.open();
        await b.wait();
        slowSettled = true;
        return 5;
      },
    }),
    testPlugin("b", {
      retentionHorizon: async () => {
        b.open();
        await a.wait();
        throw new Error("catalog unreachable");
      },
    }),
  ], { hookTimeoutMs: 60_000 });
  const e = await hookError(registry.runRetentionHorizon(testSnapshot([]), testContext()));
  assert.equal(e.plugin, "b");
  assert.equal(e.hook, "retentionHorizon");
  assert.equal(slowSettled, true);
});

Deno.test("retentionHorizon: a horizon that is not a finite number is refused", async () => {
  for (const bad of [Number.NaN, Infinity, "1000", {}]) {
    const e = await hookError(
      frozen([testPlugin("r", { retentionHorizon: () => bad as never })]).runRetentionHorizon(
        testSnapshot([]),
        testContext(),
      ),
    );
    assert.equal(e.failure, "invalid-result", String(bad));
  }
});

// ---------------------------------------------------------------------------------------------
// planDataRetention: parallel, union by path

Deno.test("planDataRetention: the union by path of every plugin's expired files", async () => {
  const snapshot = testSnapshot(["d=1/a", "d=1/b", "d=2/c", "d=3/d"]);
  const a = latch();
  const b = latch();
  const registry = frozen([
    testPlugin("by-date", {
      planDataRetention: async (s) => {
        a.open();
        await b.wait();
        return s.files.filter((f) => f.path.startsWith("d=1/"));
      },
    }),
    testPlugin("gdpr", {
      planDataRetention: async () => {
        b.open();
        await a.wait();
        // A copy of an active file (not the snapshot's object) still counts by path.
        return [testAdd("d=2/c"), { ...testAdd("d=1/b"), size: 999 }];
      },
    }),
    testPlugin("nothing", { planDataRetention: () => undefined }),
  ], { hookTimeoutMs: 60_000 });
  const expired = await registry.runPlanDataRetention(snapshot, testContext());
  assert.deepEqual(expired.map((f) => f.path), ["d=1/a", "d=1/b", "d=2/c"]);
  assert.equal(expired[1]?.size, 100, "the snapshot's own add action is returned");
});

Deno.test("planDataRetention: a file that is not active is refused", async () => {
  const e = await hookError(
    frozen([testPlugin("r", { planDataRetention: () => [testAdd("gone")] })])
      .runPlanDataRetention(testSnapshot(["here"]), testContext()),
  );
  assert.equal(e.failure, "invalid-result");
  assert.match(e.message, /'gone'|gone/);
});

// ---------------------------------------------------------------------------------------------
// filterVacuumCandidates: narrowing only

Deno.test("filterVacuumCandidates: each plugin gets the previous output; input order is kept", async () => {
  const inputs: string[][] = [];
  const registry = frozen([
    testPlugin("spare-b", {
      filterVacuumCandidates: (paths) => {
        inputs.push([...paths]);
        return paths.filter((p) => p !== "b");
      },
    }),
    testPlugin("reverse-and-dup", {
      filterVacuumCandidates: (paths) => {
        inputs.push([...paths]);
        return [...paths].reverse().concat(paths[0] ?? []);
      },
    }),
    testPlugin("spare-d", {
      filterVacuumCandidates: (paths) => {
        inputs.push([...paths]);
        return Promise.resolve(paths.filter((p) => p !== "d"));
      },
    }),
  ]);
  const out = await registry.runFilterVacuumCandidates(
    ["a", "b", "c", "d"],
    testContext({ operation: "vacuum" }),
  );
  assert.deepEqual(inputs, [["a", "b", "c", "d"], ["a", "c", "d"], ["a", "c", "d"]]);
  assert.deepEqual(out, ["a", "c"]);
});

Deno.test("filterVacuumCandidates: adding a path throws a tagged error naming the plugin", async () => {
  let laterRan = false;
  const registry = frozen([
    testPlugin("narrows", { filterVacuumCandidates: (paths) => paths.slice(1) }),
    testPlugin("adds", {
      filterVacuumCandidates: (paths) => [...paths, "a", "_delta_log/00000000000000000000.json"],
    }),
    testPlugin("later", {
      filterVacuumCandidates: (paths) => {
        laterRan = true;
        return paths;
      },
    }),
  ]);
  const e = await hookError(registry.runFilterVacuumCandidates(["a", "b"], testContext()));
  assert.equal(e.name, "VacuumCandidatesNotNarrowedError");
  assert.equal(e.plugin, "adds");
  assert.equal(e.hook, "filterVacuumCandidates");
  assert.equal(e.failure, "invalid-result");
  assert.deepEqual((e as unknown as { addedPaths: string[] }).addedPaths, [
    "a",
    "_delta_log/00000000000000000000.json",
  ]);
  assert.match(
    e.message,
    /^Cannot run hook 'filterVacuumCandidates' of plugin 'adds': it may only remove/,
  );
  assert.equal(laterRan, false);
});

Deno.test("filterVacuumCandidates: the input cannot be grown in place, and non-arrays are refused", async () => {
  const sneaky = frozen([testPlugin("push", {
    filterVacuumCandidates: (paths) => {
      (paths as string[]).push("extra");
      return paths;
    },
  })]);
  const e = await hookError(sneaky.runFilterVacuumCandidates(["a"], testContext()));
  assert.equal(e.plugin, "push");
  for (const bad of [undefined, "a", [1], new Set(["a"])]) {
    const err = await hookError(
      frozen([testPlugin("f", { filterVacuumCandidates: () => bad as never })])
        .runFilterVacuumCandidates(["a"], testContext()),
    );
    assert.equal(err.failure, "invalid-result", String(bad));
  }
});

// ---------------------------------------------------------------------------------------------
// Timeouts and cancellation

Deno.test("timeouts: the registry default, per-hook options and hook objects bound each call", async () => {
  const hang = () => never();
  const byDefault = frozen([testPlugin("h", { writeFiles: hang })], { hookTimeoutMs: 5 });
  const e1 = await hookError(byDefault.runWriteFiles(events(), testContext()));
  assert.equal(e1.failure, "timeout");
  assert.match(
    e1.message,
    /^Cannot run hook 'writeFiles' of plugin 'h': it timed out: it did not settle within 5 ms$/,
  );

  const perHook = frozen([testPlugin("h", { writeFiles: hang, planCompaction: () => undefined })], {
    hookTimeoutMs: 60_000,
    hookTimeoutsMs: { writeFiles: 5 },
  });
  assert.equal(
    (await hookError(perHook.runWriteFiles(events(), testContext()))).failure,
    "timeout",
  );
  assert.equal(await perHook.runPlanCompaction(testSnapshot([]), testContext()), undefined);

  const ownTimeout = frozen([testPlugin("h", { writeFiles: { timeoutMs: 5, handler: hang } })], {
    hookTimeoutsMs: { writeFiles: 60_000 },
  });
  assert.equal(
    (await hookError(ownTimeout.runWriteFiles(events(), testContext()))).failure,
    "timeout",
  );
});

Deno.test("timeouts: the hook's signal aborts at its deadline", async () => {
  let seen: AbortSignal | undefined;
  const registry = frozen([testPlugin("h", {
    beforeCommit: (_d, ctx) => {
      seen = ctx.signal;
      return new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
      );
    },
  })], { hookTimeoutMs: 5 });
  const e = await hookError(registry.runBeforeCommit(draft(), testContext()));
  assert.equal(e.failure, "timeout");
  assert.equal(seen?.aborted, true);
});

Deno.test("timeouts: an operation deadline in the past leaves a slow hook no time", async () => {
  // The manual clock stands at 1,000,000 ms; the deadline has passed, the hook timeout is an hour.
  const registry = frozen([testPlugin("slow", { writeFiles: () => never() })], {
    hookTimeoutMs: 3_600_000,
  });
  const ctx = testContext({ deadlineMs: 999_000 });
  assert.equal((await hookError(registry.runWriteFiles(events(), ctx))).failure, "timeout");
});

Deno.test("cancellation: aborting the operation fails the running hook with 'aborted'", async () => {
  const op = new AbortController();
  const started = latch();
  const registry = frozen([testPlugin("h", {
    writeFiles: () => {
      started.open();
      return never();
    },
  })]);
  const run = registry.runWriteFiles(events(), testContext({ signal: op.signal }));
  await started.wait();
  op.abort(new Error("shutting down"));
  const e = await hookError(run);
  assert.equal(e.failure, "aborted");
  assert.equal(e.plugin, "h");
});
