/**
 * Property: log replay against a model. Random sequences of legal commits (adds, removes, new
 * deletion vectors, txns, metaData and protocol changes) are written as JSON commit files to a
 * memory table, with checkpoints written by the project at random versions and, at random, log
 * cleanup at the end. At random versions three readers must agree:
 *
 * * the project's `loadSnapshot` (core/snapshot, reading the project's checkpoints);
 * * the independent reader (`independent_reader.ts`, written from the protocol alone);
 * * a model kept in this test: a map from path to the one active logical file of that path, which
 *   is how Delta PROTOCOL, "Action Reconciliation" describes a snapshot.
 *
 * fast-check prints the seed and the shrunk scenario of a failure; rerun it with
 * `fc.assert(..., { seed, path })`.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createManualClock, type ManualClock } from "../../core/clock.ts";
import { deletionVectorUniqueId } from "../../core/log/actions.ts";
import { writeCheckpoint } from "../../core/log/checkpoint_write.ts";
import { cleanupExpiredLogs } from "../../core/log/log_cleanup.ts";
import { loadSnapshot, type Snapshot } from "../../core/snapshot/mod.ts";
import { createMemoryStorage, type MemoryStorage } from "../../core/storage/memory.ts";
import { storageTableAccess } from "./_testing.ts";
import { type IndependentSnapshot, loadLogIndependently } from "./independent_reader.ts";

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// The scenario

/** File paths as they are in storage; the log holds them URI-encoded. */
const PATHS = [
  "f0.parquet",
  "f1.parquet",
  "p=a/f2.parquet",
  "p=b/f 3.parquet",
  "x%y.parquet",
  "ü/g#h.parquet",
];
const PARTITION_VALUES: (string | null)[] = ["a", "b", null, ""];
const DVS = [
  {
    storageType: "u",
    pathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k^",
    offset: 1,
    sizeInBytes: 40,
    cardinality: 6,
  },
  {
    storageType: "u",
    pathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k^",
    offset: 9,
    sizeInBytes: 40,
    cardinality: 2,
  },
  {
    storageType: "i",
    pathOrInlineDv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
    sizeInBytes: 40,
    cardinality: 6,
  },
] as const;
const PROTOCOLS = [
  { minReaderVersion: 1, minWriterVersion: 2 },
  { minReaderVersion: 1, minWriterVersion: 4 },
  {
    minReaderVersion: 3,
    minWriterVersion: 7,
    readerFeatures: ["deletionVectors"],
    writerFeatures: ["deletionVectors"],
  },
];
const SCHEMA = JSON.stringify({
  type: "struct",
  fields: [
    { name: "p", type: "string", nullable: true, metadata: {} },
    { name: "x", type: "long", nullable: true, metadata: {} },
  ],
});

type Op =
  | { t: "add"; path: number; size: number; part: number }
  | { t: "remove"; path: number }
  | { t: "dv"; path: number; dv: number }
  | { t: "txn"; app: number; version: number }
  | { t: "meta"; conf: number; partitioned: boolean }
  | { t: "protocol"; protocol: number };

interface Scenario {
  commits: { ops: Op[]; checkpoint: boolean }[];
  cleanup: boolean;
  probes: number[];
}

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("add" as const),
      path: fc.nat(PATHS.length - 1),
      size: fc.integer({ min: 1, max: 1_000_000 }),
      part: fc.nat(PARTITION_VALUES.length - 1),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant("remove" as const), path: fc.nat(PATHS.length - 1) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("dv" as const),
      path: fc.nat(PATHS.length - 1),
      dv: fc.nat(DVS.length - 1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("txn" as const),
      app: fc.nat(2),
      version: fc.nat(1000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("meta" as const),
      conf: fc.nat(3),
      partitioned: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("protocol" as const),
      protocol: fc.nat(PROTOCOLS.length - 1),
    }),
  },
);

const arbScenario: fc.Arbitrary<Scenario> = fc.record({
  commits: fc.array(
    fc.record({
      ops: fc.array(arbOp, { maxLength: 5 }),
      // A checkpoint after one commit in four.
      checkpoint: fc.constantFrom(false, false, false, true),
    }),
    { minLength: 1, maxLength: 16 },
  ),
  cleanup: fc.boolean(),
  probes: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
});

// ---------------------------------------------------------------------------------------------
// The model

type Dv = (typeof DVS)[number];

interface ModelFile {
  size: number;
  partitionValues: Record<string, string | null>;
  dv?: Dv;
}

interface Model {
  protocol: (typeof PROTOCOLS)[number];
  configuration: Record<string, string>;
  partitionColumns: string[];
  /** The active logical file of each path. */
  files: Map<string, ModelFile>;
  /** Tombstones by (path, dv id). */
  tombstones: Map<string, { path: string; dvId: string }>;
  txns: Map<string, number>;
  timestampMs: number;
}

function dvId(dv: Dv | undefined): string {
  return deletionVectorUniqueId(dv);
}

function copyModel(m: Model): Model {
  return {
    ...m,
    files: new Map(m.files),
    tombstones: new Map(m.tombstones),
    txns: new Map(m.txns),
  };
}

/** Encode a storage path for the log (every reserved character, once). */
function logPath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Turn the ops of one commit into legal actions, applying them to the model as it goes. */
function commitActions(model: Model, ops: readonly Op[], nowMs: number): unknown[] {
  const actions: unknown[] = [];
  const touched = new Set<string>();
  let meta = false;
  let protocol = false;
  const apps = new Set<string>();
  const addAction = (path: string, f: ModelFile) => ({
    add: {
      path: logPath(path),
      partitionValues: f.partitionValues,
      size: f.size,
      modificationTime: nowMs,
      dataChange: true,
      ...(f.dv === undefined ? {} : { deletionVector: f.dv }),
    },
  });
  const removeAction = (path: string, dv: Dv | undefined) => ({
    remove: {
      path: logPath(path),
      deletionTimestamp: nowMs,
      dataChange: true,
      ...(dv === undefined ? {} : { deletionVector: dv }),
    },
  });
  for (const op of ops) {
    switch (op.t) {
      case "add": {
        const path = PATHS[op.path]!;
        if (touched.has(path)) break;
        touched.add(path);
        // Adding an active file again (same path and deletion vector) updates its metadata.
        const f: ModelFile = {
          size: op.size,
          partitionValues: { p: PARTITION_VALUES[op.part]! },
        };
        const dv = model.files.get(path)?.dv;
        if (dv !== undefined) f.dv = dv;
        model.files.set(path, f);
        model.tombstones.delete(`${path}\u0000${dvId(dv)}`);
        actions.push(addAction(path, f));
        break;
      }
      case "remove": {
        const path = PATHS[op.path]!;
        if (touched.has(path)) break;
        touched.add(path);
        const dv = model.files.get(path)?.dv;
        model.files.delete(path);
        model.tombstones.set(`${path}\u0000${dvId(dv)}`, { path, dvId: dvId(dv) });
        actions.push(removeAction(path, dv));
        break;
      }
      case "dv": {
        const path = PATHS[op.path]!;
        const f = model.files.get(path);
        const dv = DVS[op.dv]!;
        if (touched.has(path) || f === undefined || dvId(f.dv) === dvId(dv)) break;
        touched.add(path);
        // Delta PROTOCOL: a new deletion vector is a remove of the old logical file and an add
        // of the new one, in the same commit.
        model.tombstones.set(`${path}\u0000${dvId(f.dv)}`, { path, dvId: dvId(f.dv) });
        actions.push(removeAction(path, f.dv));
        const next: ModelFile = { ...f, dv };
        model.files.set(path, next);
        model.tombstones.delete(`${path}\u0000${dvId(dv)}`);
        actions.push(addAction(path, next));
        break;
      }
      case "txn": {
        const appId = `app-${op.app}`;
        if (apps.has(appId)) break;
        apps.add(appId);
        model.txns.set(appId, op.version);
        actions.push({ txn: { appId, version: op.version, lastUpdated: nowMs } });
        break;
      }
      case "meta": {
        if (meta) break;
        meta = true;
        model.configuration = op.conf === 0
          ? {}
          : { [`lakestrike.model.k${op.conf}`]: `v${op.conf}` };
        model.partitionColumns = op.partitioned ? ["p"] : [];
        actions.push(metaDataAction(model, nowMs));
        break;
      }
      case "protocol": {
        if (protocol) break;
        protocol = true;
        model.protocol = PROTOCOLS[op.protocol]!;
        actions.push({ protocol: model.protocol });
        break;
      }
    }
  }
  return actions;
}

function metaDataAction(model: Model, nowMs: number): unknown {
  return {
    metaData: {
      id: "model-table",
      format: { provider: "parquet", options: {} },
      schemaString: SCHEMA,
      partitionColumns: model.partitionColumns,
      configuration: model.configuration,
      createdTime: nowMs,
    },
  };
}

async function putCommit(
  storage: MemoryStorage,
  version: number,
  actions: readonly unknown[],
  nowMs: number,
): Promise<void> {
  const lines = [{ commitInfo: { timestamp: nowMs, operation: "MODEL" } }, ...actions]
    .map((a) => JSON.stringify(a));
  const path = `_delta_log/${String(version).padStart(20, "0")}.json`;
  const r = await storage.put(path, new TextEncoder().encode(lines.join("\n") + "\n"), {
    ifAbsent: true,
  });
  assert.ok(r.ok, `version ${version} written twice`);
}

// ---------------------------------------------------------------------------------------------
// Comparing

interface View {
  files: string[];
  tombstones: string[];
  txns: string[];
  protocol: string;
  configuration: string;
  partitionColumns: string[];
  timestampMs: number;
}

function fileText(path: string, id: string, size: number, pv: Record<string, string | null>) {
  return `${path} [${id}] ${size} ${JSON.stringify(pv)}`;
}

function protocolText(p: {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}): string {
  return JSON.stringify([
    p.minReaderVersion,
    p.minWriterVersion,
    p.readerFeatures ?? [],
    p.writerFeatures ?? [],
  ]);
}

function sortedConfiguration(c: Record<string, string>): string {
  return JSON.stringify(Object.entries(c).sort());
}

function modelView(m: Model): View {
  return {
    files: [...m.files].map(([path, f]) => fileText(path, dvId(f.dv), f.size, f.partitionValues))
      .sort(),
    tombstones: [...m.tombstones.values()].map((t) => `${t.path} [${t.dvId}]`).sort(),
    txns: [...m.txns].map(([appId, v]) => `${appId}=${v}`).sort(),
    protocol: protocolText(m.protocol),
    configuration: sortedConfiguration(m.configuration),
    partitionColumns: m.partitionColumns,
    timestampMs: m.timestampMs,
  };
}

function projectView(s: Snapshot): View {
  return {
    files: s.files.map((f) =>
      fileText(f.path, deletionVectorUniqueId(f.deletionVector), f.size, f.partitionValues)
    ).sort(),
    tombstones: s.tombstones.map((t) => `${t.path} [${deletionVectorUniqueId(t.deletionVector)}]`)
      .sort(),
    txns: [...s.txns.values()].map((t) => `${t.appId}=${t.version}`).sort(),
    protocol: protocolText(s.protocol),
    configuration: sortedConfiguration(s.metadata.configuration),
    partitionColumns: s.metadata.partitionColumns,
    timestampMs: s.timestampMs,
  };
}

function independentView(s: IndependentSnapshot): View {
  return {
    files: s.files.map((f) => fileText(f.path, f.deletionVectorId ?? "", f.size, f.partitionValues))
      .sort(),
    tombstones: s.tombstones.map((t) => `${t.path} [${t.deletionVectorId ?? ""}]`).sort(),
    txns: [...s.txns.values()].map((t) => `${t.appId}=${t.version}`).sort(),
    protocol: protocolText(s.protocol),
    configuration: sortedConfiguration(s.metaData.configuration),
    partitionColumns: s.metaData.partitionColumns,
    timestampMs: s.timestampMs,
  };
}

// ---------------------------------------------------------------------------------------------
// The property

async function runScenario(scenario: Scenario): Promise<void> {
  const clock: ManualClock = createManualClock(Date.UTC(2025, 0, 1));
  const storage = createMemoryStorage({ clock });
  const access = storageTableAccess(storage);
  const model: Model = {
    protocol: PROTOCOLS[0]!,
    configuration: {},
    partitionColumns: [],
    files: new Map(),
    tombstones: new Map(),
    txns: new Map(),
    timestampMs: clock.nowMs(),
  };
  await putCommit(
    storage,
    0,
    [{ protocol: model.protocol }, metaDataAction(model, clock.nowMs())],
    clock.nowMs(),
  );
  const models: Model[] = [copyModel(model)];
  const checkpoints: number[] = [];
  for (const commit of scenario.commits) {
    clock.advance(1000);
    const version = models.length;
    const actions = commitActions(model, commit.ops, clock.nowMs());
    await putCommit(storage, version, actions, clock.nowMs());
    model.timestampMs = clock.nowMs();
    models.push(copyModel(model));
    if (commit.checkpoint) {
      await writeCheckpoint(storage, await loadSnapshot(storage, { version }), { clock });
      checkpoints.push(version);
    }
  }
  const latest = models.length - 1;

  // Log cleanup at the end: everything below the newest checkpoint goes.
  let oldest = 0;
  if (scenario.cleanup && checkpoints.length > 0) {
    clock.advance(40 * DAY_MS);
    const cleaned = await cleanupExpiredLogs(storage, await loadSnapshot(storage), { clock });
    assert.equal(cleaned.checkpointVersion, checkpoints.at(-1));
    oldest = checkpoints.at(-1)!;
  }

  const versions = new Set([latest, ...scenario.probes.map((p) => p % (latest + 1))]);
  for (const version of versions) {
    if (version < oldest) {
      await assert.rejects(loadSnapshot(storage, { version }), `project loads cleaned v${version}`);
      await assert.rejects(
        loadLogIndependently(access, { version }),
        `independent reader loads cleaned v${version}`,
      );
      continue;
    }
    const expected = modelView(models[version]!);
    const project = await loadSnapshot(storage, { version });
    const independent = await loadLogIndependently(access, { version });
    assert.deepEqual(projectView(project), expected, `version ${version}: project vs model`);
    assert.deepEqual(
      independentView(independent),
      expected,
      `version ${version}: independent vs model`,
    );
  }
}

Deno.test("property: loadSnapshot, the independent reader and a model agree on random logs", async () => {
  await fc.assert(fc.asyncProperty(arbScenario, runScenario), { numRuns: 100 });
});

Deno.test("model: a new deletion vector supersedes the old one, its remove stays a tombstone", async () => {
  await runScenario({
    commits: [
      { ops: [{ t: "add", path: 0, size: 10, part: 0 }], checkpoint: false },
      { ops: [{ t: "dv", path: 0, dv: 0 }], checkpoint: true },
      { ops: [{ t: "dv", path: 0, dv: 2 }], checkpoint: false },
      {
        ops: [{ t: "remove", path: 0 }, { t: "add", path: 1, size: 3, part: 2 }],
        checkpoint: false,
      },
      { ops: [{ t: "add", path: 0, size: 11, part: 3 }], checkpoint: false },
    ],
    cleanup: true,
    probes: [0, 1, 2, 3, 4, 5],
  });
});
