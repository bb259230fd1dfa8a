import assert from "node:assert/strict";
import { createManualClock } from "../core/clock.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/scan_snapshot.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch } from "../core/write/append_batch.ts";
import { createTable } from "../core/write/create_table.ts";
import { UsageError } from "./cli.ts";
import { formatVacuumReport, main, parseVacuumArgs, runVacuum } from "./vacuum.ts";

const DENO = Deno.execPath();
const schema = {
  type: "struct" as const,
  fields: [{ name: "x", type: "long" as const, nullable: true, metadata: {} }],
};

async function tableWithStray(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "vacuum-cli-" });
  const storage = createLocalStorage(dir);
  await createTable(storage, { schema });
  await storage.put("stray.parquet", new Uint8Array(42));
  const old = new Date(Date.now() - 30 * 86_400_000);
  await Deno.utime(`${dir}/stray.parquet`, old, old);
  return dir;
}

async function run(args: string[]) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "--allow-all", new URL("./vacuum.ts", import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("parseVacuumArgs: flags and usage errors", () => {
  const a = parseVacuumArgs(["t", "--lite", "--logs", "--json"]);
  assert.deepEqual(a, {
    uri: "t",
    enforceRetention: true,
    lite: true,
    logs: true,
    dryRun: false,
    json: true,
    table: {},
  });
  assert.throws(() => parseVacuumArgs([]), UsageError);
  assert.throws(() => parseVacuumArgs(["t", "--retention-hours", "-1"]), UsageError);
  assert.throws(() => parseVacuumArgs(["t", "--bogus"]), UsageError);
});

Deno.test("deno task vacuum: --dry-run lists and keeps, then a real run deletes", async () => {
  const dir = await tableWithStray();
  try {
    const dry = await run([dir, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^stray\.parquet\t42$/m);
    assert.match(dry.stdout, /Would delete 1 files \(42 B\)/);
    await Deno.stat(`${dir}/stray.parquet`);

    const real = await run([dir, "--json", "--logs"]);
    assert.equal(real.code, 0, real.stderr);
    const report = JSON.parse(real.stdout);
    assert.deepEqual(report.vacuum.files, [{ path: "stray.parquet", size: 42 }]);
    assert.equal(report.logs.skipped, "no_checkpoint");
    await assert.rejects(Deno.stat(`${dir}/stray.parquet`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task vacuum: one-line errors and non-zero exits", async () => {
  const dir = await tableWithStray();
  try {
    const refused = await run([dir, "--retention-hours", "1"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^error: Cannot vacuum with a retention of 1 hours/);
    const missing = await run([`${dir}/nope`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split("\n").length, 1);
    assert.match(missing.stderr, /^error: /);
    await Deno.stat(`${dir}/stray.parquet`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runVacuum with an injected clock and the summary", async () => {
  const clock = createManualClock(Date.now() + 400 * 86_400_000);
  const dir = await tableWithStray();
  try {
    const report = await runVacuum(parseVacuumArgs([dir, "--lite", "--logs", "--dry-run"]), {
      clock,
    });
    assert.deepEqual(report.vacuum.files, []); // lite mode never lists: the stray file is unknown
    assert.match(formatVacuumReport(report), /Would delete 0 files .* lite mode/);
    assert.match(formatVacuumReport(report), /Log cleanup: nothing deleted \(no_checkpoint\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task vacuum --config: the config's plugins run (filterVacuumCandidates spares)", async () => {
  const dir = await tableWithStray();
  const configDir = await Deno.makeTempDir({ prefix: "vacuum-cli-config-" });
  try {
    const configPath = `${configDir}/lakestrike.config.ts`;
    await Deno.writeTextFile(
      configPath,
      `import { defineConfig } from ${JSON.stringify(new URL("./config.ts", import.meta.url).href)};
import { PLUGIN_API_VERSION } from ${
        JSON.stringify(new URL("../plugins/types.ts", import.meta.url).href)
      };
export const config = defineConfig({
  tables: [{ name: "t", uri: ${JSON.stringify(dir)}, schema: { x: "long" } }],
  plugins: [{
    name: "spare-stray",
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      filterVacuumCandidates: (paths) => paths.filter((p) => p !== "stray.parquet"),
    },
  }],
});
`,
    );
    assert.equal(parseVacuumArgs([dir, "--config", configPath]).config, configPath);
    const real = await run([dir, "--json", "--config", configPath]);
    assert.equal(real.code, 0, real.stderr);
    const report = JSON.parse(real.stdout);
    assert.deepEqual(report.vacuum.files, []);
    assert.equal(report.vacuum.filesSpared, 1);
    await Deno.stat(`${dir}/stray.parquet`);
    const missing = await run([dir, "--config", `${configDir}/nope.config.ts`]);
    assert.notEqual(missing.code, 0);
    await Deno.stat(`${dir}/stray.parquet`);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(configDir, { recursive: true });
  }
});

Deno.test("deno task vacuum --config: the config's retention plugins remove expired partitions, then vacuum deletes them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vacuum-cli-ttl-" });
  const configDir = await Deno.makeTempDir({ prefix: "vacuum-cli-ttl-config-" });
  try {
    const datedSchema = {
      type: "struct" as const,
      fields: [
        { name: "x", type: "long" as const, nullable: true, metadata: {} },
        { name: "date", type: "date" as const, nullable: true, metadata: {} },
      ],
    };
    const storage = createLocalStorage(dir);
    let snapshot = await createTable(storage, { schema: datedSchema, partitionColumns: ["date"] });
    const today = new Date().toISOString().slice(0, 10);
    for (const [x, date] of [[1, "2020-01-01"], [2, "2020-01-01"], [3, today]] as const) {
      const batch = createArrowTable(datedSchema, [{ x: BigInt(x), date }]);
      const r = await appendBatch(storage, snapshot, batch);
      assert.ok(r.ok);
      snapshot = r.snapshot;
    }
    const expired = snapshot.files.filter((f) => f.partitionValues.date === "2020-01-01");
    assert.equal(expired.length, 2);
    const configPath = `${configDir}/lakestrike.config.ts`;
    await Deno.writeTextFile(
      configPath,
      `import { defineConfig } from ${JSON.stringify(new URL("./config.ts", import.meta.url).href)};
import { partitionTtlPlugin } from ${
        JSON.stringify(new URL("../plugins/retention/mod.ts", import.meta.url).href)
      };
export const config = defineConfig({
  tables: [{
    name: "t",
    uri: ${JSON.stringify(dir)},
    schema: { x: "long", date: "date" },
    partitionColumns: ["date"],
  }],
  plugins: [partitionTtlPlugin({ column: "date", days: 30 })],
});
`,
    );
    // A dry run lists the expired files and changes nothing.
    const dry = await run([dir, "--dry-run", "--config", configPath]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Data retention: would remove 2 expired files/);
    assert.equal((await loadSnapshot(storage)).version, snapshot.version);
    // A retention of zero: the removes committed by this run are already past the horizon.
    const real = await run([
      dir,
      "--json",
      "--config",
      configPath,
      "--retention-hours",
      "0",
      "--no-enforce-retention",
    ]);
    assert.equal(real.code, 0, real.stderr);
    const report = JSON.parse(real.stdout);
    assert.deepEqual(
      report.retention.files.map((f: { path: string }) => f.path).sort(),
      expired.map((f) => f.path).sort(),
    );
    assert.equal(report.retention.version, snapshot.version + 1);
    assert.deepEqual(
      report.vacuum.files.map((f: { path: string }) => f.path).sort(),
      expired.map((f) => f.path).sort(),
    );
    const after = await loadSnapshot(storage);
    const rows: unknown[][] = [];
    for await (const batch of scanSnapshot(storage, after)) rows.push(...batch);
    assert.deepEqual(rows.map((r) => r[0]), [3n], "only the row of the live partition is left");
    for (const f of expired) {
      await assert.rejects(Deno.stat(`${dir}/${f.path}`), Deno.errors.NotFound, f.path);
    }
    await Deno.stat(`${dir}/${after.files[0]!.path}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(configDir, { recursive: true });
  }
});

Deno.test("deno task vacuum: a progress bar on a terminal, none with --json", async () => {
  const capture = (isTerminal: boolean) => {
    let text = "";
    return { io: { write: (t: string) => void (text += t), isTerminal }, text: () => text };
  };
  const dir = await tableWithStray();
  try {
    const json = capture(true);
    await main([dir, "--dry-run", "--json"], json.io);
    assert.ok(!json.text().includes("\r"), json.text());
    assert.deepEqual(JSON.parse(json.text()).vacuum.files, [{ path: "stray.parquet", size: 42 }]);
    const piped = capture(false);
    await main([dir, "--dry-run"], piped.io);
    assert.ok(!piped.text().includes("\r"), "no bar into a pipe");
    const tty = capture(true);
    await main([dir], tty.io);
    // The last frame is drawn whatever the throttle: every file deleted.
    assert.match(tty.text(), /\r\[#{30}\] 1\/1 files deleting {3}\n/);
    assert.match(tty.text(), /Deleted 1 files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
