// `deno task dev`, `deno task runner` and `deno task edge` as processes: the printed curl line works
// as printed, a config is used when given, and a bad config exits non-zero naming the field.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CLIENT_TOKEN,
  CONFIG_MODULE_URL,
  freePort,
  makeEvents,
  postEvents,
  readTable,
  REPO_ROOT,
  RUNNER_TOKEN,
  spawnUntil,
  type Started,
  stop,
  writeConfig,
} from "./fixtures/e2e_util.ts";

/** Runs a script to completion and returns its status and output. */
async function runToEnd(script: string, args: string[], cwd: string, env = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, script), ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("e2e: deno task dev with built-in defaults; the printed curl line works as printed", async () => {
  // A directory without lakestrike.config.ts: the built-in defaults apply.
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-dev-" });
  const dev = await spawnUntil(
    "batch/dev.ts",
    ["--port", "0", "--data", "d"],
    dir,
    /\n {2}curl .*\n/,
  );
  try {
    assert.match(dev.output, /created table events/);
    assert.match(
      dev.output,
      /lakestrike dev \(built-in defaults\): edge http:\/\/127\.0\.0\.1:\d+/,
    );
    const curl = /\n {2}(curl .*)\n/.exec(dev.output)![1]!;
    assert.match(curl, /Bearer dev-token/);
    const out = await new Deno.Command("bash", { args: ["-c", curl], stdout: "piped" }).output();
    assert.equal(out.code, 0);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), { version: 1, rows: 1 });
  } finally {
    assert.equal((await stop(dev.child)).code, 0, "dev exits cleanly on SIGTERM");
  }
  const table = await readTable(join(dir, "d/events"));
  assert.deepEqual(table.payloads, ["hello"]);
  assert.deepEqual(table.snapshot.metadata.partitionColumns, ["date"]);
  assert.deepEqual(
    table.snapshot.schema.fields.map((f) => `${f.name}:${f.type}`),
    [
      "ts:timestamp",
      "device_id:string",
      "value_i:integer",
      "value_d:double",
      "payload:string",
      "date:date",
    ],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: deno task dev uses the lakestrike.config.ts of the working directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-devcfg-" });
  await writeConfig(dir);
  const dev = await spawnUntil("batch/dev.ts", ["--port", "0"], dir, /\n {2}curl .*\n/);
  try {
    assert.match(dev.output, /lakestrike dev \(lakestrike\.config\.ts\)/);
    assert.match(dev.output, new RegExp(`table events: ${dir}/events`));
    assert.match(dev.output, new RegExp(`Bearer ${CLIENT_TOKEN}`));
    const edgeUrl = /edge (http:\/\/\S+?),/.exec(dev.output)![1]!;
    const answer = await postEvents(edgeUrl, JSON.stringify(makeEvents("cfg", 4)));
    assert.equal(answer.status, 200);
  } finally {
    await stop(dev.child);
  }
  assert.equal((await readTable(join(dir, "events"))).payloads.length, 4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: deno task dev --edges 2 serves two edge threads on two ports, one table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-dev-edges-" });
  const dev = await spawnUntil(
    "batch/dev.ts",
    ["--port", "0", "--data", "d", "--edges", "2"],
    dir,
    /\n {2}curl .*\n/,
  );
  try {
    const urls = /edges (http:\/\/\S+) (http:\/\/\S+), runner/.exec(dev.output);
    assert.ok(urls !== null, dev.output);
    assert.notEqual(urls[1], urls[2]);
    for (const [k, url] of [urls[1]!, urls[2]!].entries()) {
      const answer = await postEvents(url, JSON.stringify(makeEvents(`edge${k}`, 3)), {
        token: "dev-token",
      });
      assert.equal(answer.status, 200);
    }
  } finally {
    assert.equal((await stop(dev.child)).code, 0, "dev exits cleanly on SIGTERM");
  }
  const table = await readTable(join(dir, "d/events"));
  assert.deepEqual(
    table.payloads.toSorted(),
    [
      ...makeEvents("edge0", 3).map((e) => e.payload),
      ...makeEvents("edge1", 3).map((e) => e.payload),
    ].toSorted(),
  );
  for (const edges of ["0", "17", "two"]) {
    const r = await runToEnd("batch/dev.ts", ["--port", "0", "--data", "d", "--edges", edges], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--edges/);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: deno task runner and deno task edge as separate processes, two edges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-split-" });
  const runnerPort = freePort();
  const config = await writeConfig(dir, { runner: `port: ${runnerPort}` });
  const runner = await spawnUntil(
    "batch/runner_main.ts",
    ["--config", config],
    dir,
    /listening on/,
  );
  const edges: Started[] = [];
  try {
    for (const producer of ["edge-a", "edge-b"]) {
      edges.push(
        await spawnUntil(
          "edge/main.ts",
          ["--config", config, "--port", "0", "--producer", producer],
          dir,
          /listening on http:\/\/\S+,/,
        ),
      );
    }
    const urls = edges.map((e) => /listening on (http:\/\/\S+),/.exec(e.output)![1]!);
    assert.match(edges[0]!.output, /lakestrike edge edge-a listening on/);
    const answers = await Promise.all(
      urls.map((url, i) => postEvents(url, JSON.stringify(makeEvents(`split${i}`, 3)))),
    );
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
  } finally {
    for (const e of edges) await stop(e.child);
    await stop(runner.child);
  }
  const table = await readTable(join(dir, "events"));
  assert.equal(table.payloads.length, 6);
  // Each edge committed under its own producer id: its name plus a random incarnation.
  const producers = [...table.snapshot.txns.keys()].sort();
  assert.equal(producers.length, 2);
  assert.match(producers[0]!, /^edge-a#[0-9a-f]{32}$/);
  assert.match(producers[1]!, /^edge-b#[0-9a-f]{32}$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: a bad config or a missing token exits non-zero naming the problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-badcfg-" });
  const bad = join(dir, "bad.config.ts");
  await Deno.writeTextFile(
    bad,
    `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE_URL)};
export const config = defineConfig({
  tables: [
    { name: "a", uri: "./a", schema: { x: "long" } },
    { name: "b", uri: "./b", schema: { ts: "timestamp" }, partitionColumns: ["day"] },
  ],
});
`,
  );
  for (const script of ["batch/dev.ts", "batch/runner_main.ts", "edge/main.ts"]) {
    const r = await runToEnd(script, ["--config", bad], dir, {
      LAKESTRIKE_RUNNER_TOKEN: RUNNER_TOKEN,
    });
    assert.equal(r.code, 1, `${script}: ${r.stderr}`);
    assert.match(r.stderr, /tables\[1\]\.partitionColumns\[0\]: 'day' is not a column/);
  }
  const missing = await runToEnd("batch/runner_main.ts", ["--config", join(dir, "nope.ts")], dir);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.ts: cannot read/);
  // A valid config but no runner token anywhere.
  const good = await writeConfig(dir, { runner: "" });
  await Deno.writeTextFile(good, (await Deno.readTextFile(good)).replace(/token: "[^"]*",/, ""));
  const noToken = await runToEnd("batch/runner_main.ts", ["--config", good], dir);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /environment variable LAKESTRIKE_RUNNER_TOKEN/);
  const usage = await runToEnd("batch/runner_main.ts", ["--prot", "1"], dir);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: deno task runner/);
  await Deno.remove(dir, { recursive: true });
});
