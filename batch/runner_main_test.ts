import assert from "node:assert/strict";
import { join } from "node:path";
import { LakestrikeError } from "../core/errors.ts";
import { ConfigError, DEFAULT_RUNNER_TOKEN_ENV, validateConfig } from "./config.ts";
import { checkRunnerToken, openConfiguredTable, RUNNER_TOKEN_BYTES_MIN } from "./runner_main.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CONFIG_MODULE_URL = new URL("./config.ts", import.meta.url).href;
const decoder = new TextDecoder();

Deno.test("checkRunnerToken: fewer than 16 bytes is refused, naming the source, never the token", () => {
  assert.equal(RUNNER_TOKEN_BYTES_MIN, 16);
  checkRunnerToken("0123456789abcdef", DEFAULT_RUNNER_TOKEN_ENV);
  assert.throws(
    () => checkRunnerToken("0123456789abcde", DEFAULT_RUNNER_TOKEN_ENV),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message ===
        "Invalid config: LAKESTRIKE_RUNNER_TOKEN: the runner token has 15 bytes, fewer than 16; use a random one, e.g. export LAKESTRIKE_RUNNER_TOKEN=$(openssl rand -hex 24)" &&
      !e.message.includes("0123456789abcde"),
  );
  assert.throws(
    () => checkRunnerToken("dev", "runner.token"),
    /runner\.token: the runner token has 3 bytes/,
  );
});

function runRunner(dir: string, token: string, config: string): Deno.ChildProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "batch/runner_main.ts"), "--config", config, "--port", "0"],
    cwd: dir,
    env: { [DEFAULT_RUNNER_TOKEN_ENV]: token, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    // A runner that wrongly starts would serve forever: kill it, and the test fails.
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  return child;
}

Deno.test("deno task runner refuses a short token from the environment at start, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-runner-token-" });
  try {
    const config = join(dir, "lakestrike.config.ts");
    await Deno.writeTextFile(
      config,
      `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE_URL)};
export const config = defineConfig({
  tables: [{ name: "events", uri: "./events", schema: { x: "long" } }],
});
`,
    );
    const short = await runRunner(dir, "short-token", config).output();
    assert.equal(short.code, 1);
    const stderr = decoder.decode(short.stderr);
    assert.equal(
      stderr,
      "error: Invalid config: LAKESTRIKE_RUNNER_TOKEN: the runner token has 11 bytes, fewer than 16; use a random one, e.g. export LAKESTRIKE_RUNNER_TOKEN=$(openssl rand -hex 24)\n",
    );
    // Nothing was opened or created before the refusal.
    await assert.rejects(Deno.stat(join(dir, "events")), Deno.errors.NotFound);

    // A 16-byte token starts it.
    const child = runRunner(dir, "0123456789abcdef", config);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("listening on")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    assert.match(out, /lakestrike runner listening on http:\/\/127\.0\.0\.1:\d+, tables events/);
    child.kill("SIGTERM");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    assert.equal((await child.status).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openConfiguredTable: a storage read that fails at start is tried again; other errors are final", async () => {
  const dir = await Deno.makeTempDir({ prefix: "runner-open-retry-" });
  const realReadFile = Deno.readFile;
  try {
    const config = validateConfig({
      tables: [{ name: "e", uri: join(dir, "e"), schema: { id: "long" } }],
    });
    const t = config.tables[0]!;
    assert.equal((await openConfiguredTable(t)).created, true);
    // The next reads of commit files fail twice, as a lost answer or a 5xx would.
    let failures = 0;
    const failing = (limit: number) =>
      ((path: string | URL, options?: Deno.ReadFileOptions) => {
        if (/_delta_log\/\d{20}\.json$/.test(String(path)) && failures < limit) {
          failures++;
          return Promise.reject(new Error("injected read failure"));
        }
        return realReadFile(path, options);
      }) as typeof Deno.readFile;
    Deno.readFile = failing(2);
    const opened = await openConfiguredTable(t, { retryDelaysMs: [1, 1, 1] });
    assert.equal(opened.created, false);
    assert.equal(failures, 2);
    // Without retries left the storage error is the answer.
    failures = 0;
    Deno.readFile = failing(1);
    await assert.rejects(
      openConfiguredTable(t, { retryDelaysMs: [] }),
      (e: unknown) => e instanceof LakestrikeError && e.code === "STORAGE",
    );
    // A table that differs from the config is refused at once, not retried.
    Deno.readFile = realReadFile;
    const other = validateConfig({
      tables: [{ name: "e", uri: join(dir, "e"), schema: { id: "string" } }],
    }).tables[0]!;
    await assert.rejects(
      openConfiguredTable(other, { retryDelaysMs: [60_000] }),
      (e: unknown) => e instanceof LakestrikeError && e.code === "SCHEMA_MISMATCH",
    );
  } finally {
    Deno.readFile = realReadFile;
    await Deno.remove(dir, { recursive: true });
  }
});
