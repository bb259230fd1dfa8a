/**
 * Compaction of every conformance table lakestrike can write (shared/conformance): a copy of the
 * table is compacted with `minFiles` 1; its rows (checksum over `scanSnapshot`) must equal the
 * expected `checksum` and the file count must not grow. Tables that
 * must be refused are refused with `UNSUPPORTED_FEATURE` and left unchanged.
 *
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { cpSync } from "node:fs";
import { isLakestrikeError } from "../core/errors.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { assertWriteSupported, loadSnapshot, type Snapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { compactTable } from "../plugins/compaction/mod.ts";
import { canonicalRow, type CanonicalValue, checksumOf } from "./canonical.ts";
import { conformanceTableNames, conformanceTableRoot, loadExpected } from "./conformance.ts";

async function checksumOfTable(storage: ObjectStorage, snapshot: Snapshot): Promise<string> {
  const rows: CanonicalValue[][] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const row of batch) rows.push(canonicalRow(row, snapshot.schema));
  }
  return checksumOf(rows);
}

let compacted = 0;
let refused = 0;
for (const name of conformanceTableNames()) {
  const expected = loadExpected(name);
  if (typeof expected["expected_error"] === "string" || expected["row_count"] === null) continue;
  Deno.test(`compaction conformance: ${name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "lakestrike-compact-conf-" });
    try {
      cpSync(conformanceTableRoot(name), dir, { recursive: true });
      const storage = createLocalStorage(dir);
      const before = await loadSnapshot(storage, {});
      let writable = true;
      try {
        assertWriteSupported(before.protocol, before.metadata);
      } catch {
        writable = false;
      }
      if (!writable) {
        let error: unknown;
        try {
          await compactTable(storage, before, { minFiles: 1 });
        } catch (e) {
          error = e;
        }
        ok(isLakestrikeError(error, "UNSUPPORTED_FEATURE"), `expected a refusal, got ${error}`);
        equal((await loadSnapshot(storage, {})).version, before.version, "refused table changed");
        refused++;
        return;
      }
      const result = await compactTable(storage, before, { minFiles: 1 });
      const after = await loadSnapshot(storage, {});
      equal(after.version, result.snapshot.version);
      ok(after.files.length <= before.files.length, `${after.files.length} files after`);
      // minFiles 1 and the default 128 MiB target: every partition ends with one file.
      const partitions = new Set(before.files.map((f) => JSON.stringify(f.partitionValues)));
      equal(after.files.length, partitions.size, "one file per partition");
      equal(after.files.filter((f) => f.deletionVector).length, 0, "deletion vectors remain");
      if (result.plan.length > 0) equal(after.version, before.version + 1);
      for (const f of after.files) {
        if (result.versions.length > 0) ok(f.stats, `no stats on ${f.path}`);
      }
      equal(await checksumOfTable(storage, after), expected["checksum"]);
      compacted++;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("compaction conformance: most tables were compacted", () => {
  ok(compacted >= 30, `only ${compacted} tables compacted (${refused} refused)`);
  ok(refused >= 1, "no refused table");
});
