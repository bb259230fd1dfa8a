/**
 * The direction of the dependencies, checked on the module graph `deno info --json` reports (static
 * and dynamic imports, type-only ones included):
 *
 * * the edge (`edge/main.ts`, `edge/mod.ts`) loads nothing of `batch/`, `plugins/`, `ops/`, `aws/`,
 *   no AWS SDK and no DuckDB: it depends on the wire contract, its settings and the schema types;
 * * the library (`mod.ts`) and the config format (`config/mod.ts`) load no AWS SDK: S3 and DynamoDB
 *   are the AWS module's, registered by the applications that want them;
 * * the config format loads nothing of the runner or the plugins, and of the edge and the
 *   maintenance layer only the leaf modules where they declare their config sections;
 * * the core (`core/`) imports no other folder of the project;
 * * the client (`client/mod.ts`) loads nothing outside `client/` and no npm package;
 * * the compaction command (`batch/compact.ts`) loads apache-arrow, parquet-wasm and DuckDB only
 *   through dynamic imports, when a bin, a checkpoint or the native engine needs them: its start is
 *   part of the time it takes (ADR 0046).
 *
 * @module
 */
import assert from "node:assert/strict";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** What `deno info --json entry` prints, parsed. */
async function denoInfo(entry: string): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The modules `entry` loads: project files relative to the root, npm packages as `npm:name`. */
async function moduleGraph(entry: string): Promise<{ local: string[]; npm: string[] }> {
  // `npmPackages` lists the whole npm resolution; the graph's packages are its `npm:` modules.
  const info = await denoInfo(entry) as {
    modules: { specifier: string; error?: string }[];
  };
  const broken = info.modules.filter((m) => m.error !== undefined);
  assert.deepEqual(broken, [], `${entry} has modules that do not load`);
  const prefix = `file://${REPO_ROOT}/`;
  const local = info.modules.map((m) => m.specifier).filter((s) => s.startsWith(prefix))
    .map((s) => s.slice(prefix.length));
  const npm = info.modules.map((m) => m.specifier).filter((s) => s.startsWith("npm:"));
  assert.ok(local.includes(entry), `${entry} is not in its own graph`);
  return { local, npm };
}

/**
 * The npm packages `entry` loads before it runs: those reached through static imports only (not
 * type-only, not dynamic), each with the project file that imports it.
 */
async function staticNpmImports(entry: string): Promise<Map<string, string>> {
  type Dependency = { code?: { specifier: string }; isDynamic?: boolean };
  const info = await denoInfo(entry) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dependency[] }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const npm = new Map<string, string>();
  const seen = new Set(info.roots);
  const queue = [...info.roots];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const d of bySpecifier.get(from)?.dependencies ?? []) {
      const to = d.code?.specifier;
      if (to === undefined || d.isDynamic) continue;
      if (to.startsWith("npm:")) {
        npm.set(to.replace(/^npm:\/?((?:@[^/]+\/)?[^@/]+).*$/, "$1"), from);
      } else if (!seen.has(to)) {
        seen.add(to);
        queue.push(to);
      }
    }
  }
  return npm;
}

function under(files: readonly string[], folders: readonly string[]): string[] {
  return files.filter((f) => folders.some((d) => f.startsWith(d)));
}

function awsPackages(npm: readonly string[]): string[] {
  return npm.filter((p) => p.includes("@aws-sdk/"));
}

for (const entry of ["edge/main.ts", "edge/mod.ts"]) {
  Deno.test(`${entry} loads nothing of batch/, plugins/, ops/, aws/ and no AWS SDK`, async () => {
    const { local, npm } = await moduleGraph(entry);
    assert.deepEqual(under(local, ["batch/", "plugins/", "ops/", "aws/"]), []);
    assert.deepEqual(awsPackages(npm), []);
    assert.deepEqual(npm.filter((p) => p.includes("@duckdb/")), [], "no native engine at the edge");
    // It does load what it is made of: the check above would pass on an empty graph.
    assert.ok(local.includes("edge/app.ts") && local.includes("core/schema/types.ts"));
  });
}

for (const entry of ["mod.ts", "config/mod.ts"]) {
  Deno.test(`${entry} loads no AWS SDK and nothing of aws/`, async () => {
    const { local, npm } = await moduleGraph(entry);
    assert.deepEqual(under(local, ["aws/"]), []);
    assert.deepEqual(awsPackages(npm), []);
  });
}

/** The sections' owners declare them in leaf modules the config format composes (ADR 0028). */
const OPTION_LEAVES = ["edge/edge_settings.ts", "ops/maintenance_options.ts"];

Deno.test("config/mod.ts, what a config file imports, loads nothing of batch/ or plugins/, and of edge/ and ops/ only the owners' option leaves", async () => {
  const { local } = await moduleGraph("config/mod.ts");
  assert.deepEqual(under(local, ["batch/", "plugins/"]), []);
  assert.deepEqual(under(local, ["edge/", "ops/"]).sort(), OPTION_LEAVES);
});

for (const leaf of OPTION_LEAVES) {
  Deno.test(`${leaf} is a leaf: it loads only the config's schema vocabulary and zod`, async () => {
    const { local, npm } = await moduleGraph(leaf);
    assert.deepEqual(local.sort(), ["config/section_schema.ts", leaf].sort());
    assert.ok(npm.every((p) => p.startsWith("npm:zod") || p.startsWith("npm:/zod")), String(npm));
  });
}

Deno.test("the AWS module does load the AWS SDK (the checks above can fail)", async () => {
  const { npm } = await moduleGraph("aws/mod.ts");
  assert.ok(awsPackages(npm).length > 0, "aws/mod.ts loads no @aws-sdk package");
});

Deno.test("the core imports no other folder of the project", async () => {
  const entries = [...Deno.readDirSync(`${REPO_ROOT}/core`)]
    .filter((e) => e.isDirectory)
    .map((e) => `core/${e.name}/mod.ts`)
    .filter((f) => {
      try {
        return Deno.statSync(`${REPO_ROOT}/${f}`).isFile;
      } catch {
        return false;
      }
    });
  assert.ok(entries.length >= 6, `core entry points: ${entries.join(", ")}`);
  for (const entry of entries) {
    const { local, npm } = await moduleGraph(entry);
    assert.deepEqual(local.filter((f) => !f.startsWith("core/")), [], entry);
    assert.deepEqual(awsPackages(npm), [], entry);
  }
});

Deno.test("client/mod.ts, lakestrike/client, loads only client/ and no npm package (it runs in browsers)", async () => {
  const { local, npm } = await moduleGraph("client/mod.ts");
  assert.deepEqual(local.filter((f) => !f.startsWith("client/")), []);
  assert.deepEqual(npm, []);
  assert.ok(local.includes("client/client.ts"));
});

Deno.test("batch/compact.ts loads apache-arrow, parquet-wasm and DuckDB only when it needs them", async () => {
  const npm = await staticNpmImports("batch/compact.ts");
  for (const name of ["apache-arrow", "parquet-wasm", "@duckdb/node-api"]) {
    assert.equal(npm.get(name), undefined, `${name} is imported statically by ${npm.get(name)}`);
  }
  // The walk does see static npm imports: the footer reader imports hyparquet's Thrift decoder.
  assert.ok(npm.has("hyparquet"), [...npm.keys()].join(", "));
});
