/**
 * The `inspect` and `scan` commands as a user runs them: separate processes, exit statuses, one-line
 * errors without stack traces, and output that agrees with the conformance expectations.
 *
 * @module
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { conformanceTableRoot, loadExpected } from "./conformance.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(script: string, args: string[]) {
  const env: Record<string, string> = { NO_COLOR: "1" };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}/batch/${script}`, ...args],
    env,
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

function assertOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("usage:"));
  equal(lines.length, 1, `expected a one-line error, got:\n${stderr}`);
  match(lines[0]!, pattern);
  ok(!/^\s+at /m.test(stderr), "no stack trace");
}

Deno.test("inspect --json reports what the expected snapshot says", async () => {
  for (
    const name of ["golden-dv-partitioned-with-checkpoint", "drs-delta-0.8.0-special-partition"]
  ) {
    const expected = loadExpected(name);
    const r = await run("inspect.ts", [conformanceTableRoot(name), "--json"]);
    equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    equal(s.version, expected["latest_version"]);
    equal(s.numFiles, expected["num_files_active"]);
    equal(
      s.sizeBytes,
      (expected["active_files"] as Array<{ size: number }>).reduce((a, f) => a + f.size, 0),
    );
    equal(s.numRecords, expected["row_count_from_stats"]);
    deepEqual(
      s.partitionColumns,
      (expected["metadata"] as { partitionColumns: string[] }).partitionColumns,
    );
    deepEqual(s.protocol, expected["protocol"]);
  }
});

Deno.test("inspect --version time-travels and prints the history", async () => {
  const name = "golden-dv-partitioned-with-checkpoint";
  const expected = loadExpected(name);
  const perVersion = expected["per_version"] as Record<string, { num_files_active: number }>;
  const r = await run("inspect.ts", [conformanceTableRoot(name), "--version", "3", "--json"]);
  equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  equal(s.version, 3);
  equal(s.numFiles, perVersion["3"]!.num_files_active);
  deepEqual(s.history.map((h: { version: number }) => h.version), [3, 2, 1, 0]);
  const text = await run("inspect.ts", [conformanceTableRoot(name)]);
  equal(text.code, 0);
  match(text.stdout, /version\s+15/);
  match(text.stdout, /reader features: deletionVectors/);
});

Deno.test("scan prints NDJSON rows keyed by logical name", async () => {
  const name = "golden-data-reader-primitives";
  const expected = loadExpected(name);
  const r = await run("scan.ts", [conformanceTableRoot(name)]);
  equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  equal(rows.length, expected["row_count"]);
  const columns = (expected["columns"] as Array<{ name: string }>).map((c) => c.name);
  for (const row of rows) deepEqual(Object.keys(row), columns);
  const limited = await run("scan.ts", [conformanceTableRoot(name), "--limit", "2"]);
  equal(limited.stdout.trim().split("\n").length, 2);
});

Deno.test("scan formats timestamps, dates, decimals, longs and binary", async () => {
  const r = await run("scan.ts", [conformanceTableRoot("golden-data-reader-partition-values")]);
  equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const withTs = rows.find((row) => typeof row.as_timestamp === "string");
  ok(withTs, "a row with a timestamp");
  match(withTs.as_timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  match(withTs.as_date, /^\d{4}-\d{2}-\d{2}$/);
  equal(typeof withTs.as_long, "string");
  equal(typeof withTs.as_big_decimal, "string");
});

Deno.test("bad input exits non-zero with a one-line error", async () => {
  const missing = await run("inspect.ts", ["/nonexistent/table"]);
  equal(missing.code, 1);
  assertOneLineError(missing.stderr, /^error: Cannot load table at .*no Delta log found/);

  const refused = await run("scan.ts", [
    conformanceTableRoot("golden-deltalog-invalid-protocol-version"),
  ]);
  equal(refused.code, 1);
  assertOneLineError(refused.stderr, /unsupported minReaderVersion 99/);

  const corrupt = await run("inspect.ts", [
    conformanceTableRoot("golden-deltalog-state-reconstruction-from-checkpoint-missing-protocol"),
  ]);
  equal(corrupt.code, 1);
  assertOneLineError(corrupt.stderr, /^error: .*protocol/);

  const badFlag = await run("scan.ts", ["--bogus"]);
  equal(badFlag.code, 2);
  const badVersion = await run("inspect.ts", [
    conformanceTableRoot("dat-basic_append"),
    "--version",
    "x",
  ]);
  equal(badVersion.code, 2);
  match(badVersion.stderr, /--version/);
  const noVersion = await run("inspect.ts", [
    conformanceTableRoot("dat-basic_append"),
    "--version",
    "99",
  ]);
  equal(noVersion.code, 1);
  assertOneLineError(noVersion.stderr, /version 99/);
  const noArgs = await run("inspect.ts", []);
  equal(noArgs.code, 2);
});
