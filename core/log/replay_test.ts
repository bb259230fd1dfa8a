import assert from "node:assert/strict";
import fc from "fast-check";
import type { Action, Add, DeletionVectorDescriptor } from "./actions.ts";
import { CorruptLogError } from "../errors.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { applyActions, applyCommitToSnapshot, createReplayState, finishReplay } from "./replay.ts";

const SCHEMA =
  '{"type":"struct","fields":[{"name":"a","type":"long","nullable":true,"metadata":{}}]}';
const header = (configuration: Record<string, string> = {}): Action[] => [
  { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
  {
    metaData: {
      id: "t",
      format: { provider: "parquet" },
      schemaString: SCHEMA,
      partitionColumns: [],
      configuration,
    },
  },
];
const add = (path: string, dv?: DeletionVectorDescriptor): Action => {
  const a: Add = { path, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true };
  if (dv) a.deletionVector = dv;
  return { add: a };
};
const remove = (path: string, dv?: DeletionVectorDescriptor): Action => ({
  remove: { path, dataChange: true, deletionTimestamp: 1, ...(dv ? { deletionVector: dv } : {}) },
});
const dv = (id: string, cardinality: number): DeletionVectorDescriptor => ({
  storageType: "u",
  pathOrInlineDv: id,
  offset: 1,
  sizeInBytes: 10,
  cardinality,
});

function replay(commits: Action[][]): Snapshot {
  const state = createReplayState();
  commits.forEach((c, v) => applyActions(state, v, c));
  return finishReplay(state, { timestampMs: commits.length });
}

/** Everything observable of a snapshot, as plain data. */
function view(s: Snapshot) {
  return {
    version: s.version,
    protocol: s.protocol,
    metadata: s.metadata,
    columnMappingMode: s.columnMappingMode,
    files: s.files.map((f) => [f.path, f.deletionVector?.pathOrInlineDv ?? null]).sort(),
    tombstones: s.tombstones.map((r) => [r.path, r.deletionVector?.pathOrInlineDv ?? null]).sort(),
    txns: [...s.txns.entries()].sort(),
    domainMetadata: [...s.domainMetadata.entries()].sort(),
  };
}

Deno.test("newest protocol and metaData win; column mapping mode follows metaData", () => {
  const s = replay([
    header(),
    [{ protocol: { minReaderVersion: 2, minWriterVersion: 5 } }, {
      metaData: {
        id: "t",
        format: { provider: "parquet" },
        schemaString: SCHEMA,
        partitionColumns: [],
        configuration: { "delta.columnMapping.mode": "name" },
      },
    }],
  ]);
  assert.equal(s.protocol.minWriterVersion, 5);
  assert.equal(s.columnMappingMode, "name");
  assert.equal(s.schema.fields[0]?.name, "a");
});

Deno.test("files are keyed by path and deletion vector", () => {
  const s = replay([
    [...header(), add("f1"), add("f2")],
    [remove("f1"), add("f1", dv("A", 1))],
    // Remove before add in the same commit, and an add for a new DV that replaces the old.
    [add("f1", dv("B", 2)), remove("f1", dv("A", 1))],
    [remove("f2", dv("X", 1))], // wrong DV id: f2 stays active
  ]);
  assert.deepEqual(view(s).files, [["f1", "B"], ["f2", null]]);
  assert.equal(s.files.find((f) => f.path === "f1")?.deletionVector?.cardinality, 2);
  assert.deepEqual(view(s).tombstones, [["f1", null], ["f1", "A"], ["f2", "X"]]);
});

Deno.test("a re-added file is no longer a tombstone", () => {
  const s = replay([[...header(), add("a")], [remove("a")], [add("a")]]);
  assert.equal(s.files.length, 1);
  assert.equal(s.tombstones.length, 0);
});

Deno.test("txn latest per appId; removed domainMetadata is dropped", () => {
  const s = replay([
    [...header(), { txn: { appId: "x", version: 1 } }, {
      domainMetadata: { domain: "d1", configuration: "{}", removed: false },
    }, { domainMetadata: { domain: "d2", configuration: "{}", removed: false } }],
    [{ txn: { appId: "x", version: 2 } }, { txn: { appId: "y", version: 7 } }, {
      domainMetadata: { domain: "d1", configuration: "{}", removed: true },
    }, { domainMetadata: { domain: "d2", configuration: '{"v":2}', removed: false } }],
  ]);
  assert.deepEqual(s.txns.get("x")?.version, 2);
  assert.deepEqual(s.txns.get("y")?.version, 7);
  assert.deepEqual([...s.domainMetadata.keys()], ["d2"]);
  assert.equal(s.domainMetadata.get("d2")?.configuration, '{"v":2}');
});

Deno.test("a replay without protocol or metaData cannot finish", () => {
  const state = createReplayState();
  applyActions(state, 0, [add("a")]);
  assert.throws(
    () => finishReplay(state, { timestampMs: 0 }),
    (e: unknown) =>
      e instanceof CorruptLogError &&
      e.message.includes("no protocol action in reconstructed snapshot"),
  );
});

Deno.test("applyCommitToSnapshot keeps the old snapshot and checks contiguity", () => {
  const v0 = replay([[...header(), add("a")]]);
  const v1 = applyCommitToSnapshot(v0, 1, [remove("a"), add("b")], 99);
  assert.deepEqual(view(v0).files, [["a", null]]);
  assert.deepEqual(view(v1).files, [["b", null]]);
  assert.equal(v1.timestampMs, 99);
  assert.throws(() => applyCommitToSnapshot(v1, 3, [], 0), CorruptLogError);
});

// Random logs over a small set of paths and DV ids so that keys collide often.
const arbAction: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.integer({ min: 0, max: 6 }),
      fc.option(fc.constantFrom("A", "B"), { nil: undefined }),
    ).map(([p, d]) => add(`f${p}`, d ? dv(d, 1) : undefined)),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.integer({ min: 0, max: 6 }),
      fc.option(fc.constantFrom("A", "B"), { nil: undefined }),
    ).map(([p, d]) => remove(`f${p}`, d ? dv(d, 1) : undefined)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("x", "y"), fc.nat(9)).map(([appId, version]): Action => ({
      txn: { appId, version },
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("d1", "d2"), fc.boolean()).map((
      [domain, removed],
    ): Action => ({ domainMetadata: { domain, configuration: "{}", removed } })),
  },
);
const arbLog = fc.array(fc.array(arbAction, { maxLength: 6 }), { minLength: 1, maxLength: 80 })
  .map((commits) => [[...header(), ...commits[0]!], ...commits.slice(1)]);

Deno.test("property: replay is deterministic", () => {
  fc.assert(fc.property(arbLog, (log) => {
    assert.deepEqual(view(replay(log)), view(replay(log)));
  }));
});

Deno.test("property: replaying in one go equals replaying in two parts", () => {
  fc.assert(fc.property(arbLog, fc.nat(), (log, cut) => {
    const whole = replay(log);
    const k = 1 + (cut % log.length);
    let s = replay(log.slice(0, k));
    for (let v = k; v < log.length; v++) s = applyCommitToSnapshot(s, v, log[v]!, log.length);
    assert.deepEqual(view(s), view(whole));
  }));
});

Deno.test("property: chained applyCommitToSnapshot equals full replay at every version", () => {
  fc.assert(
    fc.property(arbLog, (log) => {
      let s = replay(log.slice(0, 1));
      const snapshots = [s];
      for (let v = 1; v < log.length; v++) {
        s = applyCommitToSnapshot(s, v, log[v]!, v + 1);
        snapshots.push(s);
      }
      // Older snapshots stay valid after newer ones were made (and after flattening).
      for (let v = 0; v < log.length; v += 7) {
        assert.deepEqual(view(snapshots[v]!), view(replay(log.slice(0, v + 1))));
      }
    }),
    { numRuns: 50 },
  );
});

Deno.test("a spread snapshot keeps its files", () => {
  const s = replay([[...header(), add("a")], [remove("a"), add("b")]]);
  const copy = { ...s };
  assert.deepEqual(copy.files.map((f) => f.path), ["b"]);
  assert.deepEqual(copy.tombstones.map((r) => r.path), ["a"]);
});

Deno.test("a commit that removes nothing shares the tombstones array of the version before", () => {
  // A runner reads `files` after every commit: the tombstones (tens of thousands after minutes of
  // compaction) must not be copied each time.
  const v0 = replay([[...header(), add("a"), add("b")], [remove("a")]]);
  assert.equal(v0.tombstones.length, 1);
  const v2 = applyCommitToSnapshot(v0, 2, [add("c"), { txn: { appId: "x", version: 1 } }], 3);
  assert.deepEqual(v2.files.map((f) => f.path), ["b", "c"]);
  assert.equal(v2.tombstones, v0.tombstones);
  const v3 = applyCommitToSnapshot(v2, 3, [remove("b")], 4);
  assert.deepEqual(v3.tombstones.map((r) => r.path), ["a", "b"]);
});

Deno.test("property: files and tombstones read at every version equal those read only at the end, in order", () => {
  const longLog = fc.array(fc.array(arbAction, { maxLength: 4 }), {
    minLength: 1,
    maxLength: 300,
    // Past the chain's depth limit (32), so layers get merged.
    size: "max",
  })
    .map((commits) => {
      // A first version larger than what 32 commits touch, so layers merge above it, not into it.
      const many = Array.from({ length: 80 }, (_, i) => [add(`g${i}`), remove(`h${i}`)]).flat();
      return [[...header(), ...many, ...commits[0]!], ...commits.slice(1)];
    });
  const order = (s: Snapshot) => ({
    files: s.files.map((f) => [f.path, f.deletionVector?.pathOrInlineDv ?? null]),
    tombstones: s.tombstones.map((r) => [r.path, r.deletionVector?.pathOrInlineDv ?? null]),
  });
  fc.assert(
    fc.property(longLog, fc.nat(), (log, seed) => {
      // `eager` reads its arrays at every version (or every few, as a runner's trigger does), so
      // each is derived from the one below; `lazy` reads them once, from the whole chain.
      const every = 1 + (seed % 3);
      let eager = replay(log.slice(0, 1));
      let lazy = eager;
      for (let v = 1; v < log.length; v++) {
        eager = applyCommitToSnapshot(eager, v, log[v]!, v + 1);
        lazy = applyCommitToSnapshot(lazy, v, log[v]!, v + 1);
        if (v % every === 0) order(eager);
      }
      assert.deepEqual(order(eager), order(lazy));
      assert.deepEqual(view(eager), view(replay(log)));
    }),
    { numRuns: 100 },
  );
});
