import assert from "node:assert/strict";
import { createManualClock } from "../../core/clock.ts";
import { commitActions } from "../../core/log/commit.ts";
import { commitPath } from "../../core/log/paths.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { createMemoryStorage, type MemoryStorage } from "../../core/storage/memory.ts";
import { noopLogger } from "../../plugins/logger.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { type Plugin, PLUGIN_API_VERSION } from "../../plugins/types.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import {
  type BatchEntry,
  type BatchOutcome,
  commitGroup,
  type GroupCommitDeps,
} from "./commit_group.ts";
import { createProducerSequences } from "./producer_sequences.ts";
import { createRunnerMetrics } from "./runner_metrics.ts";
import { createTestTable, rows, SCHEMA } from "./test_util.ts";

function entry(producer: string, seq: number, data = rows(2, seq * 10)): BatchEntry {
  return { producer, seq, batch: createArrowTable(SCHEMA, data), bytes: 100 };
}

/** Deps over `storage` that record the answers, the snapshots set and the writeFiles calls. */
function testDeps(
  storage: MemoryStorage,
  options: { plugins?: Plugin[]; conflictRetriesMax?: number; first?: Snapshot } = {},
) {
  const answers = new Map<BatchEntry, BatchOutcome>();
  const setSnapshots: (number | undefined)[] = [];
  const written: string[] = [];
  let current = options.first;
  const clock = createManualClock(1_000_000);
  const counting: Plugin = {
    name: "count-writes",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      writeFiles: {
        order: "pre",
        handler(batch) {
          written.push(String(batch.getChild("id")?.get(0)));
          return undefined;
        },
      },
    },
  };
  const deps: GroupCommitDeps = {
    table: { name: "events", uri: "memory://events", storage },
    registry: createPluginRegistry([counting, ...(options.plugins ?? [writerPlugin()])]).freeze(),
    clock,
    logger: noopLogger,
    metrics: createRunnerMetrics(),
    limits: { writeBatchesConcurrencyMax: 2, conflictRetriesMax: options.conflictRetriesMax ?? 3 },
    sequences: createProducerSequences({ producersMax: 100, recentSeqsMax: 8 }),
    snapshot: async () => (current ??= await loadSnapshot(storage)),
    setSnapshot(s) {
      current = s;
      setSnapshots.push(s?.version);
    },
    context: (snapshot) => ({
      table: { name: "events", uri: "memory://events" },
      snapshot,
      storage,
      clock,
      signal: new AbortController().signal,
      limits: { groupRowsMax: 1_000, groupBytesMax: 1 << 20, writeBatchesConcurrencyMax: 2 },
      logger: noopLogger,
      operation: "write",
      dryRun: false,
    }),
    answer(e, outcome) {
      assert.equal(answers.has(e), false, `batch ${e.producer}/${e.seq} answered twice`);
      answers.set(e, outcome);
    },
  };
  return { deps, answers, setSnapshots, written };
}

Deno.test("commitGroup: commits every batch in one version with a txn per producer", async () => {
  const storage = await createTestTable();
  const { deps, answers } = testDeps(storage);
  const group = [entry("a", 1), entry("b", 1), entry("a", 2)];
  const result = await commitGroup(deps, group);
  assert.equal(result.kind, "committed");
  for (const e of group) {
    assert.deepEqual(answers.get(e), { ok: true, version: 1, rows: 2, duplicate: false });
  }
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.version, 1);
  assert.deepEqual([...snapshot.txns.values()].map((t) => [t.appId, t.version]), [
    ["a", 2],
    ["b", 1],
  ]);
  assert.deepEqual(deps.sequences.status("a", 1, undefined, 0), { kind: "duplicate", version: 1 });
});

Deno.test("commitGroup: duplicates and stale seqs are answered without writing", async () => {
  const storage = await createTestTable();
  const first = testDeps(storage);
  await commitGroup(first.deps, [entry("a", 5)]);
  // A new committer (a restart): it knows only what the table holds.
  const { deps, answers, written } = testDeps(storage);
  const retry = entry("a", 5), old = entry("a", 3), next = entry("a", 6);
  const result = await commitGroup(deps, [retry, old, next]);
  assert.equal(result.kind, "committed");
  assert.deepEqual(answers.get(retry), { ok: true, version: 1, rows: 2, duplicate: true });
  const stale = answers.get(old);
  assert.ok(stale !== undefined && !stale.ok);
  assert.equal(stale.status, 409);
  assert.equal(stale.committedSeq, 5);
  assert.deepEqual(answers.get(next), { ok: true, version: 2, rows: 2, duplicate: false });
  assert.deepEqual(written, ["60"], "only the new batch was written");
});

Deno.test("commitGroup: a failed write holds back the producer's higher seqs, others commit", async () => {
  const storage = await createTestTable();
  const refuse: Plugin = {
    name: "refuse-666",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      writeFiles(batch) {
        if (batch.getChild("id")?.toArray().includes(666n)) throw new Error("disk on fire");
      },
    },
  };
  const { deps, answers } = testDeps(storage, { plugins: [refuse, writerPlugin()] });
  const a1 = entry("a", 1), bad = entry("a", 2, [{ id: 666, region: "eu", v: 0 }]);
  const a3 = entry("a", 3), b1 = entry("b", 1);
  const result = await commitGroup(deps, [a1, bad, a3, b1]);
  assert.equal(result.kind, "committed");
  const outcome = (e: BatchEntry) => {
    const o = answers.get(e)!;
    return o.ok ? o.version : `${o.status} ${o.error}`;
  };
  assert.deepEqual([a1, bad, a3, b1].map(outcome), [
    1,
    "500 write_failed",
    "503 earlier_batch_failed",
    1,
  ]);
  const snapshot = await loadSnapshot(storage);
  assert.equal(snapshot.txns.get("a")?.version, 1, "seq 3 is not counted as committed");
});

Deno.test("commitGroup: a commit that throws is 503 written unknown and drops the snapshot", async () => {
  const storage = createMemoryStorage({
    faults: {
      before(op, path) {
        if (op === "put" && path === commitPath(1)) throw new Error("network down");
      },
    },
  });
  await createTestTable(storage);
  const { deps, answers, setSnapshots } = testDeps(storage);
  const e = entry("a", 1);
  const result = await commitGroup(deps, [e]);
  assert.deepEqual(result, {
    kind: "failed",
    error: "Cannot commit to table events: network down",
  });
  const outcome = answers.get(e)!;
  assert.ok(!outcome.ok);
  assert.deepEqual([outcome.status, outcome.error, outcome.written], [
    503,
    "commit_failed",
    "unknown",
  ]);
  assert.deepEqual(setSnapshots, [undefined]);
});

/** A table at version 1 whose commit changed a property, and its snapshot at version 0. */
async function tableMovedOn(): Promise<{ storage: MemoryStorage; stale: Snapshot }> {
  const storage = await createTestTable();
  const stale = await loadSnapshot(storage);
  const metaData = {
    ...stale.metadata,
    configuration: { ...stale.metadata.configuration, "delta.checkpointInterval": "5" },
  };
  const moved = await commitActions(storage, stale, {
    operation: "SET TBLPROPERTIES",
    actions: [{ metaData }],
  });
  assert.ok(moved.ok);
  return { storage, stale };
}

Deno.test("commitGroup: a conflict reloads the snapshot and commits on the new one", async () => {
  const { storage, stale } = await tableMovedOn();
  const { deps, answers, setSnapshots } = testDeps(storage, { first: stale });
  const e = entry("a", 1);
  const result = await commitGroup(deps, [e]);
  assert.equal(result.kind, "committed");
  assert.deepEqual(answers.get(e), { ok: true, version: 2, rows: 2, duplicate: false });
  assert.deepEqual(setSnapshots, [undefined, 2]);
  assert.equal(deps.metrics.retries.get({ table: "events" }), 1);
});

Deno.test("commitGroup: past conflictRetriesMax the group fails with 503 commit_conflict", async () => {
  const { storage, stale } = await tableMovedOn();
  const { deps, answers } = testDeps(storage, { first: stale, conflictRetriesMax: 0 });
  const e = entry("a", 1);
  const result = await commitGroup(deps, [e]);
  assert.equal(result.kind, "failed");
  const outcome = answers.get(e)!;
  assert.ok(!outcome.ok);
  assert.deepEqual([outcome.status, outcome.error, outcome.written], [
    503,
    "commit_conflict",
    "no",
  ]);
  assert.equal((await loadSnapshot(storage)).version, 1, "nothing committed");
});

Deno.test("commitGroup: an unreadable table answers the whole group 503", async () => {
  const storage = createMemoryStorage(); // no table
  const { deps, answers } = testDeps(storage);
  const group = [entry("a", 1), entry("b", 1)];
  assert.deepEqual(await commitGroup(deps, group), { kind: "answered" });
  for (const e of group) {
    const o = answers.get(e)!;
    assert.ok(!o.ok);
    assert.equal(o.error, "table_unavailable");
  }
});
