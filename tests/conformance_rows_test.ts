/**
 * Rows of every conformance table, read by `scanSnapshot`, against the expected row count and
 * checksum (shared/conformance/README.md), at the latest version and at every version of
 * `per_version`.
 *
 * @module
 */
import { equal, fail, ok } from "node:assert/strict";
import { existsSync } from "node:fs";
import { LakestrikeError } from "../core/errors.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { loadSnapshot, type Snapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { canonicalRow, type CanonicalValue, checksumOf } from "./canonical.ts";
import { conformanceTableNames, conformanceTableRoot, loadExpected } from "./conformance.ts";

interface VersionExpectation {
  num_files_active: number;
  row_count: number | null;
  checksum: string | null;
}

async function scanCanonical(
  storage: ObjectStorage,
  snapshot: Snapshot,
): Promise<CanonicalValue[][]> {
  const rows: CanonicalValue[][] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const row of batch) rows.push(canonicalRow(row, snapshot.schema));
  }
  return rows;
}

/** A few rows that one side has and the other lacks, for a readable failure. */
function rowDiff(actual: CanonicalValue[][], expected: CanonicalValue[][]): string {
  const count = (rows: CanonicalValue[][]) => {
    const m = new Map<string, number>();
    for (const r of rows) {
      const k = JSON.stringify(r);
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  };
  const a = count(actual);
  const e = count(expected);
  const only = (x: Map<string, number>, y: Map<string, number>) =>
    [...x].filter(([k, n]) => (y.get(k) ?? 0) < n).map(([k]) => k).slice(0, 5);
  return [
    "expected rows not read:",
    ...only(e, a).map((r) => `  ${r}`),
    "rows read but not expected:",
    ...only(a, e).map((r) => `  ${r}`),
  ].join("\n");
}

for (const name of conformanceTableNames()) {
  const expected = loadExpected(name);
  Deno.test(`conformance rows: ${name}`, async () => {
    const storage = createLocalStorage(conformanceTableRoot(name));
    const expectedError = expected["expected_error"];
    if (typeof expectedError === "string") {
      try {
        const snapshot = await loadSnapshot(storage, {});
        await scanCanonical(storage, snapshot);
      } catch (e) {
        ok(e instanceof LakestrikeError, `expected a LakestrikeError, got ${e}`);
        ok(
          e.message.includes(expectedError),
          `error ${JSON.stringify(e.message)} does not contain ${JSON.stringify(expectedError)}`,
        );
        return;
      }
      fail(`table ${name} was read, expected the error ${JSON.stringify(expectedError)}`);
    }

    const latest = expected["latest_version"] as number;
    if (expected["row_count"] === null) {
      // Log-only table: its data files were never published, so its rows cannot be read. Prove
      // that this is what the expectation says and what is on disk, rather than skipping.
      equal(typeof expected["row_count_from_stats"], "number");
      const missing = expected["missing_data_files"] as string[];
      ok(missing.length > 0, "a log-only table must list its missing data files");
      for (const path of missing) {
        ok(!existsSync(`${conformanceTableRoot(name)}/${path}`), `${path} exists`);
      }
      const snapshot = await loadSnapshot(storage, {});
      equal(snapshot.version, latest);
      equal(snapshot.files.length, expected["num_files_active"]);
      for (const add of snapshot.files) {
        ok(missing.includes(add.path), `${add.path} is active but not listed as missing`);
      }
      return;
    }

    const snapshot = await loadSnapshot(storage, {});
    equal(snapshot.version, latest);
    const rows = await scanCanonical(storage, snapshot);
    const expectedRows = expected["rows"] as CanonicalValue[][] | null | undefined;
    const expectedChecksum = expected["checksum"] as string;
    const checksum = checksumOf(rows);
    if (expectedRows && checksum !== expectedChecksum) {
      fail(`latest version ${latest}: checksum differs\n${rowDiff(rows, expectedRows)}`);
    }
    equal(rows.length, expected["row_count"], `row count at latest version ${latest}`);
    equal(checksum, expectedChecksum, `checksum at latest version ${latest}`);

    const perVersion = (expected["per_version"] ?? {}) as Record<string, VersionExpectation>;
    for (const [v, want] of Object.entries(perVersion)) {
      const version = Number(v);
      const snap = await loadSnapshot(storage, { version });
      equal(snap.files.length, want.num_files_active, `active files at version ${version}`);
      if (want.row_count === null) {
        // The data of this version was vacuumed away: some active file must really be gone.
        ok(
          snap.files.some((f) => !existsSync(`${conformanceTableRoot(name)}/${f.path}`)),
          `version ${version} is expected unreadable, but all its data files exist`,
        );
        continue;
      }
      const got = await scanCanonical(storage, snap);
      equal(got.length, want.row_count, `row count at version ${version}`);
      equal(checksumOf(got), want.checksum, `checksum at version ${version}`);
    }
  });
}

Deno.test("canonical rows follow the README rules", () => {
  const schema = {
    type: "struct" as const,
    fields: [
      { name: "f", type: "float" as const, nullable: true, metadata: {} },
      { name: "z", type: "double" as const, nullable: true, metadata: {} },
      { name: "d", type: "decimal(5,3)" as const, nullable: true, metadata: {} },
      { name: "b", type: "binary" as const, nullable: true, metadata: {} },
      {
        name: "m",
        type: {
          type: "map" as const,
          keyType: "string" as const,
          valueType: "long" as const,
          valueContainsNull: true,
        },
        nullable: true,
        metadata: {},
      },
    ],
  };
  const row = canonicalRow(
    [Math.fround(3.4), -0, { unscaled: 5n, scale: 3 }, new Uint8Array([0xab, 1]), [["b", 1n], [
      "a",
      null,
    ]]],
    schema,
  );
  equal(JSON.stringify(row), '["3.4000000953674316","0","0.005","ab01",[["a",null],["b","1"]]]');
  // The checksum of no rows is the sha256 of the empty string; it ignores row order.
  equal(checksumOf([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  equal(checksumOf([["1"], ["2"]]), checksumOf([["2"], ["1"]]));
  ok(checksumOf([["1"], ["1"]]) !== checksumOf([["1"]]));
});
