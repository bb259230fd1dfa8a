/**
 * The dev server and the load generator as the benchmarks drive them: `deno task dev` as a child
 * process, its URLs and client token read from what it prints, and `bench/load_gen.ts` run against
 * its edge, and the runner's `/metrics` read back. Shared by `ingest_bench.ts`, `compaction_soak.ts`
 * and `scaleout_bench.ts` (which starts its own runners and edges and passes their URLs).
 *
 * @module
 */
import { join } from "node:path";
import type { LoadResult } from "./load_gen.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** A running `deno task dev`. */
export interface DevServer {
  child: Deno.ChildProcess;
  edgeUrl: string;
  runnerUrl: string;
  token: string;
  tableDir: string;
}

/**
 * Starts `deno task dev` (with `edges` edge threads, default 1) and reads its URLs and client token
 * from what it prints.
 */
export async function startDev(
  dataDir: string,
  options: { edges?: number } = {},
): Promise<DevServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev", "--port", "0", "--data", dataDir, "--edges", String(options.edges ?? 1)],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!/Bearer [^'"\s]+/.test(text) || !/runner http:\/\/\S+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`deno task dev exited before it was ready:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  void (async () => {
    while (!(await reader.read()).done) { /* keep the pipe drained */ }
  })().catch(() => {});
  return {
    child,
    // "edge URL, runner" or "edges URL URL ..., runner": the load generator takes them comma-separated.
    edgeUrl: /edges? ((?:http:\/\/\S+? ?)+), runner/.exec(text)![1]!.split(" ").join(","),
    runnerUrl: /runner (http:\/\/\S+)/.exec(text)![1]!,
    token: /Bearer ([^'"\s]+)/.exec(text)![1]!,
    tableDir: /table events: (\S+)/.exec(text)?.[1] ?? join(dataDir, "events"),
  };
}

/**
 * Runs `bench/load_gen.ts` against the server's edge (or edges: `edgeUrl` may list several,
 * separated by commas) and returns its JSON result.
 */
export async function runLoadGen(
  server: Pick<DevServer, "edgeUrl" | "token">,
  load: { rate: number; seconds: number; events: number; client?: "http1" | "fetch" },
): Promise<LoadResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "bench/load_gen.ts",
      "--url",
      server.edgeUrl,
      "--token",
      server.token,
      "--rate",
      String(load.rate),
      "--seconds",
      String(load.seconds),
      "--events",
      String(load.events),
      "--client",
      load.client ?? "http1",
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the load generator failed at rate ${load.rate}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

/** The sum of every series of the runner's metric `name` (0 when it has none yet). */
export async function readMetricSum(runnerUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${runnerUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}
