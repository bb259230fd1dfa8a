/**
 * Vacuum with retention 0 on a temporary copy of every conformance table deletes exactly
 * `vacuum_retention_zero_deletes` (shared/conformance/README.md, "Vacuum expectation"), and the
 * table still reads the same rows (log-only tables: the same active files) afterwards.
 *
 * Copying resets modification times, so "old enough" comes from the clock (a year ahead), not from
 * the mtimes.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createManualClock } from "../core/clock.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { loadSnapshot, type Snapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { vacuumTable } from "../plugins/vacuum/mod.ts";
import { canonicalRow, type CanonicalValue, checksumOf } from "./canonical.ts";
import { conformanceTableNames, conformanceTableRoot, loadExpected } from "./conformance.ts";

async function checksumAt(storage: ObjectStorage, snapshot: Snapshot) {
  const rows: CanonicalValue[][] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const row of batch) rows.push(canonicalRow(row, snapshot.schema));
  }
  return { rows: rows.length, checksum: checksumOf(rows) };
}

async function copyTable(name: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `vacuum-${name}-` });
  const out = await new Deno.Command("cp", {
    args: ["-R", `${conformanceTableRoot(name)}/.`, dir],
  }).output();
  ok(out.success, new TextDecoder().decode(out.stderr));
  return dir;
}

for (const name of conformanceTableNames()) {
  const expected = loadExpected(name);
  if (typeof expected["expected_error"] === "string") continue;
  Deno.test(`vacuum conformance: ${name}`, async () => {
    const dir = await copyTable(name);
    try {
      const storage = createLocalStorage(dir);
      const before = await loadSnapshot(storage);
      const logOnly = expected["row_count"] === null;
      const rowsBefore = logOnly ? undefined : await checksumAt(storage, before);
      const clock = createManualClock(Date.now() + 365 * 86_400_000);
      const result = await vacuumTable(storage, before, {
        retentionHours: 0,
        enforceRetention: false,
        clock,
      });
      const want = [...(expected["vacuum_retention_zero_deletes"] as string[])].sort();
      deepEqual(result.files.map((f) => f.path).sort(), want);
      for (const path of want) equal(await storage.head(path), undefined, `${path} still exists`);

      const after = await loadSnapshot(storage);
      equal(after.version, before.version + (want.length > 0 ? 2 : 0), "VACUUM START/END commits");
      deepEqual(after.files.map((f) => f.path).sort(), before.files.map((f) => f.path).sort());
      if (logOnly) return;
      const rowsAfter = await checksumAt(storage, after);
      deepEqual(rowsAfter, rowsBefore);
      equal(rowsAfter.rows, expected["row_count"]);
      // A second vacuum finds nothing left to delete.
      const again = await vacuumTable(storage, after, {
        retentionHours: 0,
        enforceRetention: false,
        clock,
      });
      deepEqual(again.files, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
