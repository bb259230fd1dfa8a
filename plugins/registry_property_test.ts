/**
 * Law of vacuum filters: whatever the plugins do, `runFilterVacuumCandidates` never returns a path
 * that was not a candidate. A plugin that tries to add one makes the run fail, naming the plugin.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { testContext, testPlugin } from "./_testing.ts";
import { PluginHookError, VacuumCandidatesNotNarrowedError } from "./errors.ts";
import { createPluginRegistry } from "./registry.ts";

/** What one generated plugin does with its input. */
type Behavior =
  | { kind: "keep"; mask: boolean[] }
  | { kind: "add"; extra: string }
  | { kind: "replace"; out: string[] }
  | { kind: "reverse-dup" }
  | { kind: "push-into-input"; extra: string }
  | { kind: "not-an-array" }
  | { kind: "throw" };

const pathArb = fc.constantFrom("a", "b", "c", "d/e.parquet", "_delta_log/0.json", "x y");

const behaviorArb: fc.Arbitrary<Behavior> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("keep" as const),
      mask: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant("add" as const), extra: pathArb }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("replace" as const),
      out: fc.array(pathArb, { maxLength: 6 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: "reverse-dup" as const }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("push-into-input" as const), extra: pathArb }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: "not-an-array" as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: "throw" as const }), weight: 1 },
);

function apply(b: Behavior, paths: readonly string[]): readonly string[] {
  switch (b.kind) {
    case "keep":
      return paths.filter((_, i) => b.mask[i % b.mask.length]);
    case "add":
      return [...paths, b.extra];
    case "replace":
      return b.out;
    case "reverse-dup":
      return [...paths].reverse().concat(paths);
    case "push-into-input":
      (paths as string[]).push(b.extra);
      return paths;
    case "not-an-array":
      return "everything" as unknown as string[];
    case "throw":
      throw new Error("plugin failed");
  }
}

type Expected = { ok: string[] } | { failedPlugin: string; added: boolean };

/** The rule, written out plainly: each output must be a subset of its input; keep input order. */
function model(
  input: readonly string[],
  order: readonly string[],
  behaviors: ReadonlyMap<string, Behavior>,
): Expected {
  let current = [...input];
  for (const name of order) {
    let out: unknown;
    try {
      out = apply(behaviors.get(name)!, Object.freeze([...current]));
    } catch {
      return { failedPlugin: name, added: false };
    }
    if (!Array.isArray(out)) return { failedPlugin: name, added: false };
    const before = new Set(current);
    if (out.some((p) => !before.has(p))) return { failedPlugin: name, added: true };
    current = current.filter((p) => out.includes(p));
  }
  return { ok: current };
}

Deno.test("property: filterVacuumCandidates output is always a subset of the input", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(pathArb, { maxLength: 10 }),
      fc.array(
        fc.record({ behavior: behaviorArb, order: fc.constantFrom("pre", "normal", "post") }),
        { maxLength: 5 },
      ),
      async (input, specs) => {
        const behaviors = new Map<string, Behavior>();
        const plugins = specs.map(({ behavior, order }, i) => {
          const name = `p${i}`;
          behaviors.set(name, behavior);
          const handler = (paths: readonly string[]) => apply(behavior, paths);
          return testPlugin(name, {
            filterVacuumCandidates: order === "normal" ? handler : { order, handler },
          });
        });
        const registry = createPluginRegistry(plugins).freeze();
        const expected = model(input, registry.hookOrder("filterVacuumCandidates"), behaviors);
        const candidates = new Set<string>(input);
        try {
          const out = await registry.runFilterVacuumCandidates(input, testContext());
          // The law, independent of the model.
          for (const p of out) assert.ok(candidates.has(p), `added path ${p}`);
          assert.deepEqual(expected, { ok: out });
        } catch (e) {
          if (!(e instanceof PluginHookError)) throw e;
          assert.ok("failedPlugin" in expected, `unexpected failure: ${e.message}`);
          assert.equal(e.plugin, expected.failedPlugin);
          assert.equal(e.hook, "filterVacuumCandidates");
          assert.equal(e instanceof VacuumCandidatesNotNarrowedError, expected.added);
        }
      },
    ),
    { numRuns: 300 },
  );
});
