/**
 * `lakestrike/client` runs under Node: `client/mod.ts` is bundled with `deno bundle` (Node 20 runs no
 * TypeScript) and `testdata/send_on_node.mjs` sends through it to a `node:http` stand-in for an
 * edge that loses the first answer (503 `written: "unknown"`), so the retry path runs too.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, {
    args,
    cwd: REPO_ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${command} ${args.join(" ")} failed:\n${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("client: lakestrike/client sends and retries under Node", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-client-node-" });
  try {
    const bundle = join(dir, "client.mjs");
    await run(Deno.execPath(), ["bundle", "-o", bundle, "client/mod.ts"]);
    const text = await Deno.readTextFile(bundle);
    assert.doesNotMatch(text, /^import /m, "the bundle imports nothing");
    const out = await run("node", [join(REPO_ROOT, "client/testdata/send_on_node.mjs"), bundle]);
    const { result, metrics } = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.deepEqual(result, { version: 5, duplicate: true, producerId: "node-1", sequence: 1 });
    assert.equal(metrics.retriesByCause.status503, 1);
    assert.equal(metrics.committedEvents, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
