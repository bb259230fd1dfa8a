import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { main } from "./compact.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "day", type: "string", nullable: true, metadata: {} },
  ],
};

async function tableDir(appends: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-compact-cli-" });
  const storage = createLocalStorage(dir);
  let snapshot = await createTable(storage, { schema, partitionColumns: ["day"] });
  for (let i = 0; i < appends; i++) {
    const batch = createArrowTable(schema, [{ id: i, day: i % 2 ? "2024-01-02" : "2024-01-01" }]);
    const r = await appendBatch(storage, snapshot, batch);
    ok(r.ok);
    snapshot = r.snapshot;
  }
  return dir;
}

function capture(isTerminal = false) {
  let text = "";
  return {
    io: { write: (t: string) => void (text += t), isTerminal },
    text: () => text,
  };
}

Deno.test("compact CLI: --dry-run prints the plan and changes nothing", async () => {
  const dir = await tableDir(10);
  try {
    const before = await loadSnapshot(createLocalStorage(dir), {});
    const out = capture();
    await main([dir, "--dry-run"], out.io);
    match(out.text(), /dry run: 2 bins would be rewritten/);
    match(out.text(), /bin 1: day=2024-01-01: 5 files/);
    equal((await loadSnapshot(createLocalStorage(dir), {})).version, before.version);
    const json = capture();
    await main([dir, "--dry-run", "--json", "--partition", "day=2024-01-02"], json.io);
    const parsed = JSON.parse(json.text());
    equal(parsed.dryRun, true);
    equal(parsed.plan.length, 1);
    deepEqual(parsed.plan[0].partitionValues, { day: "2024-01-02" });
    equal(parsed.plan[0].files.length, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compact CLI: --strategy tiered plans in size tiers; a bad strategy is refused", async () => {
  const dir = await tableDir(30); // 15 one-row files a day: tier 0 of 5
  try {
    const out = capture();
    await main([dir, "--dry-run", "--json", "--strategy", "tiered"], out.io);
    // One bin of ten files per day (they make the next tier's 10 rows); five wait.
    deepEqual(JSON.parse(out.text()).plan.map((b: { files: unknown[] }) => b.files.length), [
      10,
      10,
    ]);
    await rejects(() => main([dir, "--strategy", "lsm"], capture().io), /--strategy/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compact CLI: compacts with a summary, progress bar only on a terminal", async () => {
  const dir = await tableDir(10);
  try {
    const out = capture(true);
    await main(
      [dir, "--min-files", "2", "--target-size", "1MiB", "--commit-interval", "1"],
      out.io,
    );
    const text = out.text();
    match(text, /\r\[#+\] 10\/10 files/);
    match(text, /files: 10 -> 2 \(removed 10, added 2\)/);
    match(text, /rows rewritten: 10/);
    match(text, /time: \d+\.\d\d s/);
    const after = await loadSnapshot(createLocalStorage(dir), {});
    equal(after.files.length, 2);
    // Two steps of one bin each, and the lock was released: a second run finds nothing.
    const again = capture(false);
    await main([dir, "--json"], again.io);
    ok(!again.text().includes("\r"), "no progress bar when stdout is not a terminal");
    const parsed = JSON.parse(again.text());
    deepEqual(parsed.versions, []);
    equal(parsed.filesAfter, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const engine of ["duckdb", "wasm"]) {
  Deno.test(`compact CLI: --engine ${engine} --threads 1 compacts the same rows`, async () => {
    const dir = await tableDir(6);
    try {
      const out = capture(false);
      await main([dir, "--min-files", "2", "--engine", engine, "--threads", "1", "--json"], out.io);
      const parsed = JSON.parse(out.text());
      equal(parsed.filesAfter, 2, "one file per partition");
      equal(parsed.rowsRewritten, 6);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("compact CLI: bad flags name the flag", async () => {
  const out = capture();
  await rejects(main(["x", "--target-size", "12 parsecs"], out.io), /--target-size/);
  await rejects(main(["x", "--min-files", "-1"], out.io), /--min-files/);
  await rejects(main(["x", "--min-files", "0"], out.io), /--min-files/);
  await rejects(main(["x", "--commit-interval", "a"], out.io), /--commit-interval/);
  await rejects(main(["x", "--partition", "nokey"], out.io), /--partition/);
  await rejects(
    main(["x", "--engine", "spark"], out.io),
    /--engine: expected auto, duckdb or wasm/,
  );
  await rejects(main(["x", "--threads", "0"], out.io), /--threads: must be at least 1/);
  await rejects(main([], out.io), /exactly one table URI/);
});

Deno.test("compact CLI: a failure exits non-zero with a one-line error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-compact-cli-" });
  try {
    const deno = Deno.execPath();
    const script = new URL("./compact.ts", import.meta.url).pathname;
    const run = async (...args: string[]) => {
      const env = { NO_COLOR: "1" };
      const r = await new Deno.Command(deno, {
        args: ["run", "--allow-all", script, ...args],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
    };
    const missing = await run(dir);
    equal(missing.code, 1);
    equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    match(missing.stderr, /^error: Cannot load table/);
    const bad = await run(dir, "--target-size", "12XB");
    equal(bad.code, 2);
    match(bad.stderr.split("\n")[0]!, /^error: Invalid value for --target-size/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
