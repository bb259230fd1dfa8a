import assert from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { CorruptLogError, isLakestrikeError, TableNotFoundError } from "../errors.ts";
import { loadSnapshot } from "../snapshot/load_snapshot.ts";
import { createMemoryStorage, type MemoryStorage } from "../storage/memory.ts";
import type { ObjectMeta } from "../storage/storage.ts";
import { conformanceTableRoot } from "../../tests/conformance.ts";
import { classifyLogFiles, listLog, loadLogSegment, planLogSegment } from "./log_segment.ts";
import { commitPath, LAST_CHECKPOINT_PATH, multipartCheckpointPath } from "./paths.ts";

const meta = (path: string): ObjectMeta => ({ path, size: 1, lastModifiedMs: 0 });

/** A listing with commits `commits` and the given checkpoint file names. */
function listingOf(commits: number[], checkpointPaths: string[] = []) {
  return classifyLogFiles([
    ...commits.map((v) => meta(commitPath(v))),
    ...checkpointPaths.map(meta),
  ]);
}

async function copyToMemory(name: string): Promise<MemoryStorage> {
  const storage = createMemoryStorage({
    location: `memory://${name}`,
    clock: createManualClock(1000),
  });
  const root = conformanceTableRoot(name);
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(`${dir}/${e.name}`, r);
      else if (r.startsWith("_delta_log/")) {
        await storage.put(r, await Deno.readFile(`${dir}/${e.name}`));
      }
    }
  };
  await walk(root, "");
  return storage;
}

Deno.test("planLogSegment picks the newest checkpoint at or below the target", () => {
  const listing = listingOf([0, 1, 2, 3, 4, 5, 6], [
    "_delta_log/00000000000000000002.checkpoint.parquet",
    "_delta_log/00000000000000000005.checkpoint.parquet",
  ]);
  const latest = planLogSegment(listing, undefined, "t");
  assert.equal(latest.version, 6);
  assert.equal(latest.checkpoint?.version, 5);
  assert.deepEqual(latest.commits.map((c) => c.version), [6]);
  const at4 = planLogSegment(listing, 4, "t");
  assert.equal(at4.checkpoint?.version, 2);
  assert.deepEqual(at4.commits.map((c) => c.version), [3, 4]);
  const at1 = planLogSegment(listing, 1, "t");
  assert.equal(at1.checkpoint, undefined);
  assert.deepEqual(at1.commits.map((c) => c.version), [0, 1]);
  const at5 = planLogSegment(listing, 5, "t");
  assert.equal(at5.checkpoint?.version, 5);
  assert.deepEqual(at5.commits, []);
});

Deno.test("a multi-part checkpoint with a missing part is ignored", () => {
  const complete = listingOf([0, 1, 2, 3], [
    multipartCheckpointPath(1, 1, 2),
    multipartCheckpointPath(1, 2, 2),
    multipartCheckpointPath(3, 1, 3),
    multipartCheckpointPath(3, 3, 3),
  ]);
  assert.deepEqual(complete.checkpoints.map((c) => [c.version, c.kind, c.files.length]), [
    [1, "multipart", 2],
  ]);
  const seg = planLogSegment(complete, 3, "t");
  assert.equal(seg.checkpoint?.version, 1);
  assert.deepEqual(seg.commits.map((c) => c.version), [2, 3]);
});

Deno.test("V2 checkpoints are recognised; sidecars and other files are not commits", () => {
  const listing = classifyLogFiles([
    meta(commitPath(0)),
    meta(commitPath(1)),
    meta("_delta_log/00000000000000000001.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json"),
    meta("_delta_log/00000000000000000001.crc"),
    meta("_delta_log/_sidecars/00000000000000000001.checkpoint.0000000001.0000000001.parquet"),
    meta("_delta_log/_last_checkpoint"),
  ]);
  assert.deepEqual(listing.commits.map((c) => c.version), [0, 1]);
  assert.deepEqual(listing.checkpoints.map((c) => c.kind), ["v2-json"]);
});

Deno.test("a gap after the checkpoint is a CorruptLogError", () => {
  const listing = listingOf([0, 1, 2, 4, 5], [
    "_delta_log/00000000000000000001.checkpoint.parquet",
  ]);
  assert.throws(() => planLogSegment(listing, undefined, "t"), CorruptLogError);
  assert.throws(() => planLogSegment(listingOf([0, 2]), undefined, "t"), CorruptLogError);
  // Up to the gap the log is fine.
  assert.equal(planLogSegment(listing, 2, "t").version, 2);
});

Deno.test("cleaned-up history: covered versions load, others are VERSION_NOT_FOUND", () => {
  const listing = listingOf([5, 6, 7, 8], ["_delta_log/00000000000000000005.checkpoint.parquet"]);
  assert.equal(planLogSegment(listing, 7, "t").checkpoint?.version, 5);
  for (const v of [3, 4, 9]) {
    assert.throws(
      () => planLogSegment(listing, v, "t"),
      (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND") && e.message.includes(`${v}`),
    );
  }
  assert.throws(
    () => planLogSegment(listingOf([3, 4]), undefined, "t"),
    (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND"),
  );
});

Deno.test("no log at all is TableNotFoundError", async () => {
  const storage = createMemoryStorage();
  await assert.rejects(loadLogSegment(storage), TableNotFoundError);
  await storage.put("_delta_log/_last_checkpoint", new TextEncoder().encode('{"version":3}'));
  await assert.rejects(loadLogSegment(storage), TableNotFoundError);
});

Deno.test("listLog from a version lists nothing older", async () => {
  const storage = createMemoryStorage();
  for (const v of [0, 1, 2, 3]) await storage.put(commitPath(v), new Uint8Array([10]));
  const listing = await listLog(storage, 2);
  assert.deepEqual(listing.commits.map((c) => c.version), [2, 3]);
});

const CHECKPOINTED = "golden-basic-with-inserts-deletes-checkpoint"; // checkpoint at 10, latest 13

async function filesOf(storage: MemoryStorage, version?: number) {
  const s = await loadSnapshot(storage, version === undefined ? {} : { version });
  return {
    version: s.version,
    cp: s.checkpointUsed?.version,
    files: s.files.map((f) => f.path).sort(),
  };
}

Deno.test("_last_checkpoint missing, stale or corrupt gives the same snapshot", async () => {
  const storage = await copyToMemory(CHECKPOINTED);
  const reference = await filesOf(storage);
  assert.equal(reference.version, 13);
  assert.equal(reference.cp, 10);
  const cases: Array<[string, string | undefined]> = [
    ["missing", undefined],
    ["corrupt", "{this is not json"],
    ["wrong type", '{"version":"ten"}'],
    ["stale (older than newest checkpoint)", '{"version":2,"size":5}'],
    ["pointing at a checkpoint that does not exist", '{"version":12,"size":5}'],
    ["pointing past the end of the log", '{"version":40,"size":5}'],
  ];
  for (const [why, content] of cases) {
    await storage.delete([LAST_CHECKPOINT_PATH]);
    if (content !== undefined) {
      await storage.put(LAST_CHECKPOINT_PATH, new TextEncoder().encode(content));
    }
    const got = await filesOf(storage);
    assert.equal(got.version, 13, why);
    assert.deepEqual(got, reference, why);
  }
  // Time travel below the hint still works.
  const at9 = await filesOf(storage, 9);
  assert.equal(at9.version, 9);
  assert.equal(at9.cp, undefined);
});

Deno.test("a checkpoint covers commits that were cleaned up", async () => {
  const storage = await copyToMemory(CHECKPOINTED);
  const reference = await filesOf(storage);
  await storage.delete([0, 1, 2, 3, 4, 5].map(commitPath));
  await storage.delete([LAST_CHECKPOINT_PATH]);
  assert.deepEqual(await filesOf(storage), reference);
  assert.equal((await filesOf(storage, 10)).cp, 10);
  await assert.rejects(
    loadSnapshot(storage, { version: 7 }),
    (e: unknown) => isLakestrikeError(e, "VERSION_NOT_FOUND"),
  );
});

Deno.test("a multi-part checkpoint missing a part falls back to the commits", async () => {
  const storage = await copyToMemory("golden-multi-part-checkpoint");
  const reference = await filesOf(storage);
  assert.equal(reference.cp, 1);
  await storage.delete([multipartCheckpointPath(1, 2, 2)]);
  const got = await filesOf(storage);
  assert.equal(got.cp, undefined);
  assert.deepEqual(got.files, reference.files);
});

Deno.test("a missing commit after the checkpoint is reported as corrupt", async () => {
  const storage = await copyToMemory(CHECKPOINTED);
  await storage.delete([commitPath(12)]);
  await assert.rejects(loadSnapshot(storage), CorruptLogError);
  assert.equal((await filesOf(storage, 11)).version, 11);
});

Deno.test("replay from a checkpoint equals replay of the commits it summarises", async () => {
  for (
    const name of [
      CHECKPOINTED,
      "golden-dv-partitioned-with-checkpoint",
      "golden-only-checkpoint-files",
      "kernel-app-txn-checkpoint",
      "drs-python-0.25.5-checkpoint",
    ]
  ) {
    const storage = await copyToMemory(name);
    const viaCheckpoint = await loadSnapshot(storage);
    assert.ok(viaCheckpoint.checkpointUsed, name);
    const checkpoints = (await storage.list("_delta_log/")).map((m) => m.path)
      .filter((p) => p.includes(".checkpoint.") || p.endsWith("_last_checkpoint"));
    await storage.delete(checkpoints);
    const viaCommits = await loadSnapshot(storage);
    assert.equal(viaCommits.checkpointUsed, undefined, name);
    const key = (s: typeof viaCommits) =>
      s.files.map((f) => `${f.path}|${f.deletionVector?.pathOrInlineDv ?? ""}|${f.size}`).sort();
    assert.deepEqual(key(viaCheckpoint), key(viaCommits), name);
    assert.deepEqual(viaCheckpoint.protocol, viaCommits.protocol, name);
    assert.deepEqual(viaCheckpoint.metadata.configuration, viaCommits.metadata.configuration, name);
    assert.deepEqual(
      [...viaCheckpoint.txns.keys()].sort(),
      [...viaCommits.txns.keys()].sort(),
      name,
    );
  }
});

Deno.test("a gap seen by one listing only is listed again, not reported; a real gap is", async () => {
  // A local directory listing taken while writers link commits in may hold N+1.json and not N.json.
  const storage = createMemoryStorage();
  for (const v of [0, 1, 2, 3]) await storage.put(commitPath(v), new Uint8Array([10]));
  let racyListings = 1;
  const racy: typeof storage = Object.create(storage);
  racy.list = async (prefix, options) => {
    const all = await storage.list(prefix, options);
    return racyListings-- > 0 ? all.filter((m) => m.path !== commitPath(2)) : all;
  };
  const segment = await loadLogSegment(racy);
  assert.deepEqual(segment.commits.map((c) => c.version), [0, 1, 2, 3]);
  assert.equal(racyListings, -1, "listed twice");
  await storage.delete([commitPath(2)]);
  await assert.rejects(loadLogSegment(storage), CorruptLogError);
});
