import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, DEFAULT_RUNNER_TOKEN_ENV } from "./config.ts";
import { checkRunnerToken, RUNNER_TOKEN_BYTES_MIN } from "./runner_main.ts";

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
