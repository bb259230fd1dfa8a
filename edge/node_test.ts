/**
 * The edge app is runtime-neutral: this test serves it under Node over real HTTP. `edge/mod.ts` is
 * bundled with `deno bundle` (Node 20 runs no TypeScript), hono and apache-arrow left as bare
 * imports that Node resolves from the project's `node_modules`; `testdata/serve_on_node.mjs` serves
 * the app with `node:http` and a fake runner, and the test posts events to it.
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

/** Bundles `edge/mod.ts` into `dir/edge.mjs`; `dir/node_modules` is the project's. */
async function bundleEdge(dir: string): Promise<string> {
  const out = join(dir, "edge.mjs");
  await run(Deno.execPath(), [
    "bundle",
    "--external",
    "hono",
    "--external",
    "hono/*",
    "--external",
    "apache-arrow",
    "-o",
    out,
    "edge/mod.ts",
  ]);
  await Deno.symlink(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  const text = await Deno.readTextFile(out);
  // The runtime-neutral entry point keeps its dependencies as packages, not inlined copies.
  assert.match(text, /^import \{ Hono \} from "hono";$/m);
  assert.match(text, /from "apache-arrow";$/m);
  return out;
}

interface NodeEdge {
  url: string;
  node: string;
  stop(): Promise<void>;
}

async function serveOnNode(bundle: string): Promise<NodeEdge> {
  const child = new Deno.Command("node", {
    args: [join(REPO_ROOT, "edge/testdata/serve_on_node.mjs"), bundle],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`node exited before listening:\n${output}\n${await stderr}`);
    }
    output += value;
  }
  const { port, node } = JSON.parse(output.slice(0, output.indexOf("\n")));
  return {
    url: `http://127.0.0.1:${port}`,
    node,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel();
      await stderr;
    },
  };
}

function post(url: string, body: string, token = "client-token"): Promise<Response> {
  return fetch(`${url}/v1/tables/events/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
}

Deno.test("the edge app serves events under Node: 200 after the commit, 401 and 422 refusals", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-edge-node-" });
  let edge: NodeEdge | undefined;
  try {
    edge = await serveOnNode(await bundleEdge(dir));
    assert.match(edge.node, /^v\d+\./);

    const health = await fetch(`${edge.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");

    const events = [
      { id: 1, device: "a", date: "2024-05-01" },
      { id: 2, device: null, date: "2024-05-02" },
    ];
    const ok = await post(edge.url, JSON.stringify(events));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { version: 1, rows: 2 });

    const unauthorized = await post(edge.url, JSON.stringify(events), "nope");
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();

    const invalid = await post(edge.url, JSON.stringify([{ id: "x", date: "2024-05-01" }]));
    assert.equal(invalid.status, 422);
    const refusal = await invalid.json();
    assert.equal(refusal.error, "schema_violation");
    assert.equal(refusal.field, "id");

    // Only the accepted request reached the runner, decoded by Node's apache-arrow.
    const forwarded = await (await fetch(`${edge.url}/_forwarded`)).json();
    assert.deepEqual(forwarded, [{ table: "events", seq: 1, rows: 2 }]);
  } finally {
    await edge?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
