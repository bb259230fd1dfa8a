/**
 * Log-level conformance: for every shared conformance table, `loadSnapshot` must agree with the
 * expected JSON (version, protocol, metadata, checkpoint used, txns, domain metadata, active files,
 * row count from stats, and the number of active files at every reconstructable version).
 *
 * @module
 */
import assert from "node:assert/strict";
import { isLakestrikeError } from "../core/errors.ts";
import type { Add } from "../core/log/actions.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { conformanceTableNames, conformanceTableRoot, loadExpected } from "./conformance.ts";

interface ExpectedFile {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  dv_cardinality: number;
}

function numRecordsOf(add: Add): number | undefined {
  if (typeof add.stats === "string" && add.stats !== "") {
    const n = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords;
    if (typeof n === "number") return n;
  }
  const parsed = add.statsParsed?.numRecords;
  if (typeof parsed === "number") return parsed;
  if (typeof parsed === "bigint") return Number(parsed);
  return undefined;
}

/**
 * Sum of `numRecords` minus rows deleted by deletion vectors over active files, or null when a
 * file has no row count in its stats.
 */
function rowCountFromStats(snapshot: Snapshot): number | null {
  let total = 0;
  for (const f of snapshot.files) {
    const n = numRecordsOf(f);
    if (n === undefined) return null;
    total += n - (f.deletionVector?.cardinality ?? 0);
  }
  return total;
}

function checkpointKind(snapshot: Snapshot): unknown {
  const cp = snapshot.checkpointUsed;
  if (!cp) return null;
  const kind = cp.kind === "multipart" ? `multipart-${cp.parts}` : cp.kind;
  return { version: cp.version, kind, parts: cp.parts };
}

function assertMatches(snapshot: Snapshot, expected: Record<string, unknown>): void {
  assert.equal(snapshot.version, expected.latest_version, "latest_version");

  const protocol = expected.protocol as Record<string, unknown>;
  assert.equal(snapshot.protocol.minReaderVersion, protocol.minReaderVersion, "minReaderVersion");
  assert.equal(snapshot.protocol.minWriterVersion, protocol.minWriterVersion, "minWriterVersion");
  assert.deepEqual(snapshot.protocol.readerFeatures ?? null, protocol.readerFeatures ?? null);
  assert.deepEqual(snapshot.protocol.writerFeatures ?? null, protocol.writerFeatures ?? null);

  const metadata = expected.metadata as Record<string, unknown>;
  assert.equal(snapshot.metadata.id, metadata.id, "metadata.id");
  assert.deepEqual(snapshot.metadata.partitionColumns, metadata.partitionColumns);
  assert.deepEqual(snapshot.metadata.configuration, metadata.configuration);

  assert.deepEqual(checkpointKind(snapshot), expected.checkpoint_used ?? null, "checkpoint_used");

  const txns: Record<string, unknown> = {};
  for (const [appId, t] of snapshot.txns) {
    txns[appId] = { version: t.version, lastUpdated: t.lastUpdated ?? null };
  }
  assert.deepEqual(txns, expected.txns, "txns");

  const domains = expected.domain_metadata as Record<string, unknown>;
  assert.deepEqual([...snapshot.domainMetadata.keys()].sort(), Object.keys(domains).sort());
  for (const [domain, d] of snapshot.domainMetadata) {
    const e = domains[domain];
    const conf = typeof e === "string" ? e : (e as { configuration?: unknown }).configuration;
    assert.equal(d.configuration, conf, `domain ${domain}`);
  }

  // The expected JSON spells paths as in the log (percent-encoded); ours are decoded once.
  const want = (expected.active_files as ExpectedFile[])
    .map((f) => ({
      path: decodeURIComponent(f.path),
      partitionValues: f.partitionValues,
      size: f.size,
      dvCardinality: f.dv_cardinality,
    }))
    .sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const got = snapshot.files
    .map((f) => ({
      path: f.path,
      partitionValues: f.partitionValues,
      size: f.size,
      dvCardinality: f.deletionVector?.cardinality ?? 0,
    }))
    .sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  assert.deepEqual(got, want, "active_files");
  assert.equal(snapshot.files.length, expected.num_files_active, "num_files_active");
  assert.equal(
    snapshot.files.filter((f) => f.deletionVector).length,
    expected.num_files_with_dv,
    "num_files_with_dv",
  );
  assert.equal(rowCountFromStats(snapshot), expected.row_count_from_stats, "row_count_from_stats");
}

for (const name of conformanceTableNames()) {
  Deno.test(`conformance log: ${name}`, async () => {
    const expected = loadExpected(name);
    const storage = createLocalStorage(conformanceTableRoot(name));
    const error = expected.expected_error;
    if (typeof error === "string") {
      await assert.rejects(loadSnapshot(storage), (e: unknown) => {
        assert.ok(isLakestrikeError(e), `expected a LakestrikeError, got ${e}`);
        assert.ok(e.message.includes(error), `"${e.message}" should contain "${error}"`);
        return true;
      });
      return;
    }
    const snapshot = await loadSnapshot(storage);
    assertMatches(snapshot, expected);

    const perVersion = expected.per_version as Record<string, { num_files_active: number }>;
    for (const [v, want] of Object.entries(perVersion)) {
      const at = await loadSnapshot(storage, { version: Number(v) });
      assert.equal(at.version, Number(v));
      assert.equal(at.files.length, want.num_files_active, `num_files_active at version ${v}`);
    }
  });
}
