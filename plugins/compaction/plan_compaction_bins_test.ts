import { equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import type { Add } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { parseByteSize, planCompactionBins, targetSizeOf } from "./plan_compaction_bins.ts";

function snapshotOf(files: Add[], configuration: Record<string, string> = {}) {
  return { files, metadata: { partitionColumns: ["p"], configuration } } as unknown as Snapshot;
}

Deno.test("planCompactionBins: property: bins are valid, ordered and within the target", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          size: fc.integer({ min: 1, max: 300 }),
          time: fc.integer({ min: 0, max: 20 }),
          p: fc.constantFrom("a", "b", null),
        }),
        { maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 600 }),
      (specs, minFiles, target) => {
        const files: Add[] = specs.map((s, i) => ({
          path: `f${i}`,
          partitionValues: { p: s.p },
          size: s.size,
          modificationTime: s.time,
          dataChange: true,
        }));
        const bins = planCompactionBins(snapshotOf(files), { minFiles, targetSizeBytes: target });
        const seen = new Set<string>();
        for (const bin of bins) {
          ok(bin.files.length >= minFiles);
          const bytes = bin.files.reduce((a, f) => a + f.size, 0);
          ok(
            bin.files.length === 1 || bytes <= target,
            "a bin of several files exceeds the target",
          );
          for (let i = 0; i < bin.files.length; i++) {
            const f = bin.files[i]!;
            ok(f.size < target);
            equal(f.partitionValues.p, bin.partitionValues.p);
            ok(!seen.has(f.path));
            seen.add(f.path);
            const prev = bin.files[i - 1];
            if (prev) {
              const order = prev.modificationTime - f.modificationTime ||
                Number(prev.path.slice(1)) - Number(f.path.slice(1));
              ok(order < 0, "files out of order");
            }
          }
        }
      },
    ),
  );
});

Deno.test("planCompactionBins: sizes, property and errors", () => {
  equal(parseByteSize("128MiB"), 134217728);
  equal(parseByteSize("1.5g"), 1610612736);
  equal(parseByteSize("100mb"), 100_000_000);
  throws(() => parseByteSize("12 parsecs", "--target-size"), /--target-size/);
  equal(targetSizeOf({}), 128 * 1024 * 1024);
  equal(targetSizeOf({ "delta.targetFileSize": "64mb" }), 64_000_000);
  throws(() => targetSizeOf({ "delta.targetFileSize": "lots" }), /delta.targetFileSize/);
  throws(() => planCompactionBins(snapshotOf([]), { minFiles: 0 }), /minFiles/);
});
