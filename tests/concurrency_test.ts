// Concurrent writers never leave a version gap, never lose a batch and never commit one twice:
// in memory with seeded random interleavings and lost answers, and across OS processes on disk.
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseActions } from "../core/log/actions.ts";
import { commitPath, LOG_DIR, parseLogFileName } from "../core/log/paths.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { readParquetFile } from "../core/parquet/write_parquet_file.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { createMemoryStorage, type StorageOp } from "../core/storage/memory.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { WORKER_SCHEMA } from "./fixtures/append_worker.ts";

/** Small seeded PRNG (mulberry32), so a failing seed replays the same interleaving. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Memory storage whose operations yield a random number of times, and whose puts sometimes
 * land but lose their answer. */
function chaoticStorage(seed: number, lostAnswerRate: number) {
  const random = prng(seed);
  let lostAnswers = 0;
  const storage = createMemoryStorage({
    faults: {
      async before(_op: StorageOp) {
        const yields = Math.floor(random() * 4);
        for (let i = 0; i < yields; i++) await Promise.resolve();
        if (random() < 0.05) await new Promise((r) => setTimeout(r, 0));
      },
      after(op: StorageOp) {
        if (op === "put" && random() < lostAnswerRate) {
          lostAnswers++;
          throw new Error("connection reset: the put landed but the answer was lost");
        }
      },
    },
  });
  return { storage, lostAnswers: () => lostAnswers };
}

/** Every commit 0..latest exists, and the (appId, version) of every txn in the log. */
async function auditLog(storage: ObjectStorage): Promise<{ latest: number; txns: string[] }> {
  const listed = await storage.list(`${LOG_DIR}/`);
  const versions = listed
    .map((m) => parseLogFileName(m.path.slice(LOG_DIR.length + 1)))
    .flatMap((f) => (f?.kind === "commit" ? [f.version] : []));
  versions.sort((a, b) => a - b);
  versions.forEach((v, i) => assert.equal(v, i, `version ${i} is missing`));
  const txns: string[] = [];
  for (const v of versions) {
    const actions = parseActions(
      new TextDecoder().decode(await storage.get(commitPath(v))),
      `${v}`,
    );
    for (const a of actions) if ("txn" in a) txns.push(`${a.txn.appId}#${a.txn.version}`);
  }
  return { latest: versions.at(-1) ?? -1, txns };
}

/** The (writer, seq) rows of every active file of the snapshot. */
async function rowsOf(storage: ObjectStorage, snapshot: Snapshot): Promise<string[]> {
  const rows: string[] = [];
  for (const f of snapshot.files) {
    const t = readParquetFile(await storage.get(f.path));
    const w = t.getChild("writer")!;
    const s = t.getChild("seq")!;
    for (let i = 0; i < t.numRows; i++) rows.push(`${w.get(i)}#${s.get(i)}`);
  }
  return rows;
}

/** Appends (writer, seq) for seq in [0, n) with txn idempotency, retrying on errors and conflicts. */
async function runWriter(
  storage: ObjectStorage,
  start: Snapshot,
  writer: string,
  n: number,
): Promise<number> {
  let snapshot = start;
  let attempts = 0;
  for (let seq = 0; seq < n; seq++) {
    const batch = createArrowTable(WORKER_SCHEMA, [{ writer, seq }]);
    for (let tries = 0;; tries++) {
      assert.ok(tries < 200, `${writer} could not commit seq ${seq}`);
      try {
        const r = await appendBatch(storage, snapshot, batch, {
          txn: { appId: writer, version: seq },
          maxAttempts: 100,
          compression: "uncompressed",
        });
        snapshot = r.snapshot;
        attempts += r.attempts;
        if (r.ok) break;
      } catch {
        // A data file put lost its answer: start over from a fresh snapshot (same txn).
        snapshot = await loadSnapshot(storage);
      }
    }
  }
  return attempts;
}

Deno.test("concurrency: 8 writers, 200 appends, random interleavings and lost answers", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
      const { storage, lostAnswers } = chaoticStorage(seed, 0.03);
      const v0 = await createTable(storage, { schema: WORKER_SCHEMA });
      const writers = Array.from({ length: 8 }, (_, i) => `w${i}`);
      const attempts = await Promise.all(writers.map((w) => runWriter(storage, v0, w, 25)));
      const { latest, txns } = await auditLog(storage);
      assert.equal(latest, 200, `seed ${seed}: expected versions 0..200`);
      assert.equal(new Set(txns).size, 200, `seed ${seed}: a txn was committed twice`);
      assert.equal(txns.length, 200);
      const snapshot = await loadSnapshot(storage);
      const rows = await rowsOf(storage, snapshot);
      const expected = writers.flatMap((w) => Array.from({ length: 25 }, (_, s) => `${w}#${s}`));
      assert.deepEqual(rows.sort(), expected.sort(), `seed ${seed}: rows lost or duplicated`);
      // The run really exercised the hard paths: lost races and lost answers.
      assert.ok(attempts.reduce((a, b) => a + b, 0) > 200, `seed ${seed}: no commit race`);
      assert.ok(lostAnswers() > 0, `seed ${seed}: no lost answer injected`);
    }),
    { numRuns: 4 },
  );
});

Deno.test("concurrency: retries of the same (appId, version) never commit twice", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 2, max: 5 }),
      async (seed, copies) => {
        const { storage } = chaoticStorage(seed, 0);
        const v0 = await createTable(storage, { schema: WORKER_SCHEMA });
        // For each seq, `copies` clients send the same batch at once from the same stale snapshot,
        // alongside an unrelated writer; then the next seq.
        let snapshot = v0;
        for (let seq = 0; seq < 10; seq++) {
          const batch = createArrowTable(WORKER_SCHEMA, [{ writer: "edge", seq }]);
          const other = createArrowTable(WORKER_SCHEMA, [{ writer: "other", seq }]);
          const results = await Promise.all([
            ...Array.from(
              { length: copies },
              () =>
                appendBatch(storage, snapshot, batch, {
                  txn: { appId: "edge", version: seq },
                  compression: "uncompressed",
                }),
            ),
            appendBatch(storage, snapshot, other, { compression: "uncompressed", maxAttempts: 50 }),
          ]);
          for (const r of results) assert.ok(r.ok, !r.ok ? r.reason : "");
          const fresh = results.filter((r) => r.ok && !r.duplicate).length;
          assert.equal(fresh, 2, `seed ${seed}: seq ${seq} committed ${fresh - 1} times`);
          snapshot = await loadSnapshot(storage);
        }
        const { txns } = await auditLog(storage);
        assert.deepEqual(txns, Array.from({ length: 10 }, (_, s) => `edge#${s}`));
        const rows = await rowsOf(storage, snapshot);
        assert.equal(rows.filter((r) => r.startsWith("edge#")).length, 10);
        assert.equal(new Set(rows).size, 20);
      },
    ),
    { numRuns: 5 },
  );
});

Deno.test("concurrency: 4 OS processes append 50 batches each to one local table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-procs-" });
  try {
    const storage = createLocalStorage(dir);
    await createTable(storage, { schema: WORKER_SCHEMA });
    const root = new URL("..", import.meta.url).pathname;
    const worker = new URL("./fixtures/append_worker.ts", import.meta.url).pathname;
    const env = { NO_COLOR: "1" };
    const procs = [0, 1, 2, 3].map((id) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", worker, dir, String(id), "50"],
        cwd: root,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    const outputs = await Promise.all(procs);
    for (const o of outputs) {
      assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    }
    const tallies = outputs.map((o) => JSON.parse(new TextDecoder().decode(o.stdout)));
    assert.deepEqual(tallies.map((t) => t.appends), [50, 50, 50, 50]);
    const { latest, txns } = await auditLog(storage);
    assert.equal(latest, 200);
    assert.equal(new Set(txns).size, 200);
    const snapshot = await loadSnapshot(storage);
    assert.equal(snapshot.version, 200);
    for (const id of [0, 1, 2, 3]) assert.equal(snapshot.txns.get(`proc-${id}`)?.version, 49);
    const rows = await rowsOf(storage, snapshot);
    const expected = [0, 1, 2, 3].flatMap((w) => Array.from({ length: 50 }, (_, s) => `${w}#${s}`));
    assert.deepEqual(rows.sort(), expected.sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
