/**
 * Property: over random histories (appends, compactions, partition drops, crashed writers, clock
 * moves and vacuums with random retention and mode) on the memory storage with an injected clock,
 * vacuum never deletes a file that a version inside the retention window needs: every version whose
 * commit timestamp is after the horizon and whose files all existed before the vacuum still has
 * all of them after it. With `keepLastVersionsPlugin`, the same holds for the last K versions.
 * (A version an earlier vacuum with a shorter retention already broke cannot be repaired.) And
 * whatever the retention, no crashed writer's (unreferenced) file younger than the floor goes.
 *
 * Data files are opaque bytes here: the property is about which files exist, not their content.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createManualClock } from "../core/clock.ts";
import type { Action } from "../core/log/actions.ts";
import { commitActions } from "../core/log/commit.ts";
import { listLog } from "../core/log/log_segment.ts";
import { loadSnapshot, type Snapshot } from "../core/snapshot/mod.ts";
import { createMemoryStorage, type MemoryStorage } from "../core/storage/memory.ts";
import { createTable } from "../core/write/create_table.ts";
import { createPluginRegistry } from "../plugins/registry.ts";
import { keepLastVersionsPlugin } from "../plugins/retention/mod.ts";
import { UNREFERENCED_FILE_AGE_MIN_MS, vacuumTable } from "../plugins/vacuum/mod.ts";

const MIN = 60_000;
type Op =
  | { kind: "append"; part: number }
  | { kind: "compact"; part: number }
  | { kind: "drop"; part: number }
  | { kind: "crash"; part: number }
  | { kind: "advance"; minutes: number }
  | { kind: "vacuum"; retentionMinutes: number; lite: boolean; keepLast: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("append" as const), part: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), part: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), part: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), part: fc.nat(2) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      minutes: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 120 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("vacuum" as const),
      retentionMinutes: fc.integer({ min: 0, max: 180 }),
      lite: fc.boolean(),
      keepLast: fc.integer({ min: 0, max: 4 }),
    }),
  },
);

const schema = {
  type: "struct" as const,
  fields: [
    { name: "x", type: "long" as const, nullable: true, metadata: {} },
    { name: "p", type: "string" as const, nullable: true, metadata: {} },
  ],
};

/**
 * Versions inside the window (commit time after `horizonMs`) or among the last `lastK` versions up
 * to `latest`, each with whether all its files exist now.
 */
async function neededVersions(
  storage: MemoryStorage,
  horizonMs: number,
  latest: number,
  lastK: number,
): Promise<Map<number, boolean>> {
  const out = new Map<number, boolean>();
  for (const c of (await listLog(storage)).commits) {
    if (c.version > latest) break;
    if (c.meta.lastModifiedMs <= horizonMs && c.version <= latest - lastK) continue;
    const snap = await loadSnapshot(storage, { version: c.version });
    let intact = true;
    for (const f of snap.files) if (!(await storage.head(f.path))) intact = false;
    out.set(c.version, intact);
  }
  return out;
}

Deno.test("vacuum never deletes a file a version inside the retention window needs", async () => {
  let deleted = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30 }), async (ops) => {
      const clock = createManualClock(Date.UTC(2025, 0, 1));
      const storage = createMemoryStorage({ clock });
      let snap: Snapshot = await createTable(storage, { schema, partitionColumns: ["p"], clock });
      let n = 0;
      const crashed = new Map<string, number>(); // path -> time written
      const newFile = async (part: number) => {
        const path = `p=${part}/f-${n++}.parquet`;
        await storage.put(path, new Uint8Array(8));
        return {
          path,
          partitionValues: { p: String(part) },
          size: 8,
          modificationTime: clock.nowMs(),
          dataChange: true,
        };
      };
      const commit = async (operation: string, actions: Action[]) => {
        const r = await commitActions(storage, snap, { operation, actions }, { clock });
        assert.ok(r.ok);
        snap = r.snapshot;
      };
      for (const op of ops) {
        const inPart = (part: number) =>
          snap.files.filter((f) => f.partitionValues.p === String(part));
        switch (op.kind) {
          case "append":
            await commit("WRITE", [{ add: await newFile(op.part) }]);
            break;
          case "compact": {
            const files = inPart(op.part);
            if (files.length < 2) break;
            const add = { ...(await newFile(op.part)), dataChange: false };
            const now = clock.nowMs();
            await commit("OPTIMIZE", [
              ...files.map((f) => ({
                remove: { path: f.path, deletionTimestamp: now, dataChange: false, size: f.size },
              })),
              { add },
            ]);
            break;
          }
          case "drop": {
            const files = inPart(op.part);
            if (files.length === 0) break;
            const now = clock.nowMs();
            await commit(
              "DELETE",
              files.map((f) => ({
                remove: { path: f.path, deletionTimestamp: now, dataChange: true },
              })),
            );
            break;
          }
          case "crash":
            crashed.set((await newFile(op.part)).path, clock.nowMs());
            break;
          case "advance":
            clock.advance(op.minutes * MIN);
            break;
          case "vacuum": {
            const plugins = op.keepLast > 0
              ? createPluginRegistry([keepLastVersionsPlugin({ versions: op.keepLast })]).freeze()
              : undefined;
            const horizonMs = clock.nowMs() - op.retentionMinutes * MIN;
            const before = await neededVersions(storage, horizonMs, snap.version, op.keepLast);
            const r = await vacuumTable(storage, snap, {
              clock,
              retentionHours: op.retentionMinutes / 60,
              enforceRetention: false,
              mode: op.lite ? "lite" : "full",
              ...(plugins ? { plugins } : {}),
            });
            const after = await neededVersions(storage, horizonMs, snap.version, op.keepLast);
            for (const [version, intact] of before) {
              if (intact) assert.ok(after.get(version), `vacuum broke version ${version}`);
            }
            assert.ok(r.horizonMs <= horizonMs);
            for (const [path, writtenMs] of crashed) {
              if (clock.nowMs() - writtenMs > UNREFERENCED_FILE_AGE_MIN_MS) continue;
              assert.ok(await storage.head(path), `vacuum deleted ${path}, younger than the floor`);
            }
            snap = await loadSnapshot(storage);
            deleted += r.files.length;
            break;
          }
        }
      }
    }),
    {
      numRuns: 60,
      // One history that certainly deletes (a compacted file past a retention of 0), so the
      // check below never depends on what the random ones happened to do.
      examples: [[[
        { kind: "append", part: 0 },
        { kind: "append", part: 0 },
        { kind: "compact", part: 0 },
        { kind: "advance", minutes: 5 },
        { kind: "vacuum", retentionMinutes: 0, lite: true, keepLast: 0 },
      ]]],
    },
  );
  assert.ok(deleted > 0, "the histories must make vacuum delete something");
});
