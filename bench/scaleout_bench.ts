/**
 * `deno task bench:scaleout [--runners 1,2,3] [--rate 5000 | --rates 5000,20000] [--seconds 30]
 * [--events 100] [--warmup-seconds 2] [--json]`: how one table on S3 behaves when its users add
 * machines. Starts `moto_server` on a free loopback port, then for each runner count N:
 *
 * ```
 *   load_gen ──(requests in turn)──▶ edge 0 ──▶ runner 0 ─┐
 *   (one process,                 ─▶ edge 1 ──▶ runner 1 ─┼─▶ one table s3://bench/nN/events
 *    open loop)                   ─▶ edge 2 ──▶ runner 2 ─┘   (commit protocol `s3`: put-if-absent)
 * ```
 *
 * N runner processes (`batch/runner_main.ts`, the first creates the table) and N edge processes
 * (`edge/main.ts`, edge i forwards to runner i, each its own producer) share one config; one load
 * generator (`bench/load_gen.ts`) posts `--events`-event requests open loop at the given total
 * rate, spread over the edges in turn. Each N gets a fresh table (same bucket, prefix `nN/`), so a
 * row does not depend on the rows before it. Per N and rate it prints:
 *
 * * events/s acknowledged and ack latency p50/p99 (from the load generator);
 * * versions/s: versions added to the table's log over the load's duration (read from the log, so
 *   the runners' own compaction commits count too), and ingest commits/s (the runners'
 *   `lakestrike_runner_commits_total`);
 * * conflicts per commit: `lakestrike_runner_conflicts_total` (put attempts lost to another runner,
 *   each one a retry at the next version, plus conflicts that made the runner reload the table)
 *   over ingest commits, summed over the runners; and group retries per commit
 *   (`lakestrike_runner_retries_total`: reloads of the snapshot after such a conflict).
 *
 * Tables keep their defaults, including the per-table ceiling on commits per second: it is held by
 * each runner for its own commits, so N runners may commit up to N times the ceiling.
 *
 * With `--rates` it runs every rate for every N (a "max throughput" sweep) and names, per N, the
 * highest rate held with p99 <= 250 ms and every request acknowledged. Every process shares the
 * machine (moto's Python included), so on a small box the figures are a lower bound. With `--json`
 * the table goes to stderr and stdout gets one JSON line. Results also go to
 * `bench/out/scaleout-<time>.json`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { testS3Client } from "../aws/s3_test_support.ts";
import { openTable } from "../batch/open_table.ts";
import { DEMO_EVENTS_SCHEMA } from "../batch/demo_events.ts";
import { freePort, startMoto, stopper, waitUntilAnswering } from "../tests/servers.ts";
import { readMetricSum, runLoadGen } from "./dev_server.ts";
import type { LoadResult } from "./load_gen.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const P99_HELD_MS = 250;
const CLIENT_TOKEN = "scaleout-client-token";
const USAGE =
  "usage: deno task bench:scaleout [--runners 1,2,3] [--rate 5000 | --rates 5000,20000] [--seconds 30] [--events 100] [--warmup-seconds 2] [--json]";

function usage(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function positiveList(name: string, text: string, integer: boolean): number[] {
  const list = text.split(",").map((r) => Number(r.trim()));
  if (list.some((n) => !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))) {
    usage(`bad --${name} '${text}'`);
  }
  return list;
}

function parseFlags() {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        runners: { type: "string", default: "1,2,3" },
        rate: { type: "string" },
        rates: { type: "string" },
        seconds: { type: "string", default: "30" },
        events: { type: "string", default: "100" },
        "warmup-seconds": { type: "string", default: "2" },
        json: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.rate !== undefined && values.rates !== undefined) usage("give --rate or --rates");
  const runners = positiveList("runners", values.runners, true);
  if (runners.some((n) => n > 8)) usage("at most 8 runners");
  const rates = positiveList("rates", values.rates ?? values.rate ?? "5000", false);
  const [seconds] = positiveList("seconds", values.seconds, false);
  const [events] = positiveList("events", values.events, true);
  const warmup = Number(values["warmup-seconds"]);
  if (!Number.isFinite(warmup) || warmup < 0) usage(`bad --warmup-seconds`);
  return { runners, rates, seconds: seconds!, events: events!, warmup, json: values.json };
}

/** One rate at one runner count. */
interface Row {
  runners: number;
  rate: number;
  load: LoadResult;
  /** Versions added to the table's log per second of load. */
  versionsPerS: number;
  /** Ingest commits (the runners' `commits_total`) per second of load. */
  commitsPerS: number;
  /** Put attempts lost to another writer (plus returned conflicts) per ingest commit. */
  conflictsPerCommit: number;
  /** Snapshot reloads after a conflict per ingest commit. */
  retriesPerCommit: number;
  /** 1-minute load average after the rate. */
  loadAvg1: number;
}

/** A started process of the service. */
interface Proc {
  url: string;
  child: Deno.ChildProcess;
  stop: () => Promise<void>;
}

async function startProc(name: string, script: string, args: readonly string[]): Promise<Proc> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--port", String(port), "--hostname", "127.0.0.1", ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitUntilAnswering(name, `${url}/healthz`, child, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, child, stop };
}

async function writeConfig(dir: string, uri: string): Promise<string> {
  const path = join(dir, "lakestrike.config.ts");
  const configModule = pathToFileURL(join(REPO_ROOT, "batch/config.ts")).href;
  await Deno.writeTextFile(
    path,
    `import { defineConfig } from ${JSON.stringify(configModule)};
export const config = defineConfig({
  tables: [{
    name: "events",
    uri: ${JSON.stringify(uri)},
    commitProtocol: "s3",
    schema: ${JSON.stringify(DEMO_EVENTS_SCHEMA)},
    partitionColumns: ["date"],
  }],
  tokens: { ${JSON.stringify(CLIENT_TOKEN)}: ["events"] },
  runner: { tokenEnv: "LAKESTRIKE_RUNNER_TOKEN" },
});
`,
  );
  return path;
}

async function sumMetric(runners: readonly Proc[], name: string): Promise<number> {
  let sum = 0;
  for (const r of runners) sum += await readMetricSum(r.url, name);
  return sum;
}

async function tableVersion(uri: string): Promise<number> {
  return (await openTable(uri)).snapshot.version;
}

/** N runners and N edges on a fresh table; every rate in turn. */
async function benchRunners(
  n: number,
  uri: string,
  dir: string,
  o: { rates: number[]; seconds: number; events: number; warmup: number },
  log: (line: string) => void,
): Promise<Row[]> {
  const config = await writeConfig(dir, uri);
  const runners: Proc[] = [];
  const edges: Proc[] = [];
  const rows: Row[] = [];
  try {
    const startRunner = (i: number) =>
      startProc(`runner ${i}`, "batch/runner_main.ts", [
        "--config",
        config,
        "--log-level",
        "error",
      ]);
    // The first runner creates the table; the others open it.
    runners.push(await startRunner(0));
    runners.push(...await Promise.all(Array.from({ length: n - 1 }, (_, i) => startRunner(i + 1))));
    edges.push(
      ...await Promise.all(runners.map((r, i) =>
        startProc(`edge ${i}`, "edge/main.ts", [
          "--config",
          config,
          "--runner",
          r.url,
          "--producer",
          `scaleout-edge-${i}`,
        ])
      )),
    );
    const target = { edgeUrl: edges.map((e) => e.url).join(","), token: CLIENT_TOKEN };
    log(`${n} runner(s) and ${n} edge(s) on ${uri}`);
    if (o.warmup > 0) {
      await runLoadGen(target, { rate: 1000, seconds: o.warmup, events: o.events });
    }
    for (const rate of o.rates) {
      const version0 = await tableVersion(uri);
      const commits0 = await sumMetric(runners, "lakestrike_runner_commits_total");
      const conflicts0 = await sumMetric(runners, "lakestrike_runner_conflicts_total");
      const retries0 = await sumMetric(runners, "lakestrike_runner_retries_total");
      const load = await runLoadGen(target, { rate, seconds: o.seconds, events: o.events });
      const versions = await tableVersion(uri) - version0;
      const commits = await sumMetric(runners, "lakestrike_runner_commits_total") - commits0;
      const conflicts = await sumMetric(runners, "lakestrike_runner_conflicts_total") - conflicts0;
      const retries = await sumMetric(runners, "lakestrike_runner_retries_total") - retries0;
      const seconds = Math.max(load.elapsedS, 1e-3);
      const row: Row = {
        runners: n,
        rate,
        load,
        versionsPerS: versions / seconds,
        commitsPerS: commits / seconds,
        conflictsPerCommit: commits === 0 ? 0 : conflicts / commits,
        retriesPerCommit: commits === 0 ? 0 : retries / commits,
        loadAvg1: Deno.loadavg()[0]!,
      };
      rows.push(row);
      log(formatRow(row));
    }
  } finally {
    for (const p of edges) await p.stop();
    await Promise.all(runners.map((p) => p.stop()));
  }
  return rows;
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

const HEADER = `${pad("runners", 7)} ${pad("events/s", 9)} ${pad("acked/s", 8)} ${
  pad("p50 ms", 7)
} ${pad("p99 ms", 7)} ${pad("versions/s", 10)} ${pad("commits/s", 9)} ${pad("confl/commit", 12)} ${
  pad("retry/commit", 12)
} ${pad("load1", 5)}  answers`;

function formatRow(r: Row): string {
  const l = r.load.latencyMs;
  return `${pad(r.runners, 7)} ${pad(r.rate, 9)} ${pad(r.load.ackedEventsPerS, 8)} ${
    pad(l.p50, 7)
  } ${pad(l.p99, 7)} ${pad(r.versionsPerS.toFixed(1), 10)} ${pad(r.commitsPerS.toFixed(1), 9)} ${
    pad(r.conflictsPerCommit.toFixed(3), 12)
  } ${pad(r.retriesPerCommit.toFixed(3), 12)} ${pad(r.loadAvg1.toFixed(1), 5)}  ${
    JSON.stringify(r.load.statuses)
  }${r.load.overloaded ? ` (${r.load.overloaded} not sent: client in-flight cap)` : ""}`;
}

/** Whether a row held the rate: p99 within the bound and every request acknowledged. */
function held(r: Row): boolean {
  return r.load.latencyMs.p99 <= P99_HELD_MS && r.load.acked === r.load.events;
}

if (import.meta.main) {
  const o = parseFlags();
  const log = o.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  // moto takes any credentials; the runners, the edges and this process's reads of the log find
  // the server through the AWS environment (the children inherit it).
  const moto = await startMoto();
  Deno.env.set("AWS_ENDPOINT_URL_S3", moto.endpoint);
  Deno.env.set("AWS_ACCESS_KEY_ID", "test");
  Deno.env.set("AWS_SECRET_ACCESS_KEY", "test");
  Deno.env.set("AWS_REGION", "us-east-1");
  Deno.env.set("LAKESTRIKE_RUNNER_TOKEN", crypto.randomUUID().replaceAll("-", ""));
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-scaleout-" });
  const bucket = `scaleout-${crypto.randomUUID().slice(0, 8)}`;
  const rows: Row[] = [];
  try {
    const client = testS3Client(moto.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    log(`${navigator.hardwareConcurrency} CPUs, load average ${Deno.loadavg().join(" ")}`);
    log(
      `moto_server on ${moto.endpoint}; ${o.seconds} s per rate, ${o.events} events per request, open loop, one load generator over the edges\n`,
    );
    log(HEADER);
    for (const n of o.runners) {
      rows.push(...await benchRunners(n, `s3://${bucket}/n${n}/events`, dir, o, log));
    }
  } finally {
    await moto.stop();
    await Deno.remove(dir, { recursive: true });
  }
  log(`\n${HEADER}`);
  for (const r of rows) log(formatRow(r));
  const best: Record<string, number | null> = {};
  for (const n of o.runners) {
    const ok = rows.filter((r) => r.runners === n && held(r));
    best[n] = ok.length === 0 ? null : Math.max(...ok.map((r) => r.rate));
  }
  if (o.rates.length > 1) {
    for (const [n, rate] of Object.entries(best)) {
      log(
        `${n} runner(s): ${
          rate === null
            ? `no rate tested held p99 <= ${P99_HELD_MS} ms with every request acknowledged`
            : `highest rate held with p99 <= ${P99_HELD_MS} ms, all acknowledged: ${rate} events/s`
        }`,
      );
    }
  }
  await Deno.mkdir(join(REPO_ROOT, "bench/out"), { recursive: true });
  const outPath = join(
    REPO_ROOT,
    `bench/out/scaleout-${new Date().toISOString().replaceAll(":", "-").slice(0, 19)}.json`,
  );
  const result = { seconds: o.seconds, events: o.events, rows, best };
  await Deno.writeTextFile(outPath, JSON.stringify(result, null, 2) + "\n");
  log(`results: ${outPath}`);
  if (o.json) console.log(JSON.stringify(result));
}
