/**
 * `deno task dev [--port P] [--data DIR] [--config PATH] [--edges N]`: the edge and the runner in
 * one process, on local disk, each on its own JavaScript thread (the runner in a worker,
 * `dev_worker.ts`; they talk over loopback HTTP as separate processes would, so one does not wait
 * for the other's CPU work). `--edges N` (default 1) runs N edges, the first on the main thread and
 * the others in workers, on ports `P`, `P+1`, ... (free ones with `--port 0`), as N edge processes
 * would be: an edge is one JavaScript thread, and reading JSON is most of the service's CPU, so
 * clients spread over the edges use more cores (ADR 0050).
 *
 * With a `lakestrike.config.ts` in the working directory (or `--config PATH`) it serves that
 * config; without one it uses built-in defaults: the demo `events` table under `./data/events`
 * (created if missing) and the client token `dev-token`.
 *
 * The edge listens on `--port` (default the config's `edge.port`, 8080), the runner on a free
 * loopback port with a token made up for the process (unless the config or the environment gives
 * one). It prints the URL, a `curl` line that works as printed and the link to the dashboard
 * (`/ui`, with the runner token once: it sets a session cookie; ADR 0040).
 *
 * `--data DIR` moves the built-in demo table to `DIR/events` and sets `LAKESTRIKE_DATA_DIR=DIR`
 * before the config is loaded (the example config puts its tables there).
 *
 * @module
 */
import type { StructType } from "../core/schema/types.ts";
import { DEMO_EVENTS_SCHEMA } from "./demo_events.ts";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { DataType } from "../core/schema/types.ts";
import { startEdge } from "../edge/main.ts";
import { parseFlags, parseNonNegativeInt, runCli, UsageError } from "./cli.ts";
import {
  type ConfigInput,
  DEFAULT_CONFIG_PATH,
  type LakestrikeConfig,
  loadConfig,
  validateConfig,
} from "./config.ts";
import type { DevWorkerReply, DevWorkerRequest } from "./dev_worker.ts";

const USAGE =
  "usage: deno task dev [--port P] [--hostname H] [--data DIR] [--config PATH] [--edges N] [--log-level LEVEL]";

/** The most edges `--edges` starts in one process. */
const DEV_EDGES_MAX = 16;

/** Where `deno task dev` listens unless `--hostname` says otherwise: loopback only. */
export const DEV_HOSTNAME = "127.0.0.1";

/** The client token of the built-in defaults. */
export const DEV_TOKEN = "dev-token";

/** The built-in config of `deno task dev`: the demo `events` table under `dataDir`. */
export function devConfig(dataDir: string): ConfigInput {
  return {
    tables: [{
      name: "events",
      uri: `${dataDir.replace(/\/+$/, "")}/events`,
      schema: DEMO_EVENTS_SCHEMA,
      partitionColumns: ["date"],
    }],
    edge: { port: 8080 },
    runner: { port: 0 },
    tokens: { [DEV_TOKEN]: ["events"] },
  };
}

/** Demo events: `n` rows spread over devices, at `nowMs`, as a client posts them. */
export function demoEvents(n: number, nowMs: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const day = new Date(nowMs).toISOString().slice(0, 10);
  for (let i = 0; i < n; i++) {
    rows.push({
      ts: new Date(nowMs + i).toISOString(),
      device_id: `device-${i % 8}`,
      value_i: i,
      value_d: i / 10,
      payload: `demo event ${i}`,
      date: day,
    });
  }
  return rows;
}

/** A JSON value of `type` that the edge accepts (for the printed `curl` line). */
function sampleValue(type: DataType, name: string, nowMs: number): unknown {
  if (typeof type !== "string") {
    if (type.type === "array") return [sampleValue(type.elementType, name, nowMs)];
    if (type.type === "map") return {};
    return Object.fromEntries(type.fields.map((f) => [f.name, sampleValue(f.type, f.name, nowMs)]));
  }
  if (type === "timestamp") return new Date(nowMs).toISOString();
  if (type === "timestamp_ntz") return new Date(nowMs).toISOString().slice(0, -1);
  if (type === "date") return new Date(nowMs).toISOString().slice(0, 10);
  if (type === "string") return name === "device_id" ? "device-1" : "hello";
  if (type === "boolean") return true;
  if (type === "binary") return "aGVsbG8=";
  if (type === "double" || type === "float") return 0.5;
  if (type.startsWith("decimal")) return "1";
  return 1;
}

/** A sample event of `schema`, every column filled. */
export function sampleEvent(schema: StructType, nowMs: number): Record<string, unknown> {
  return Object.fromEntries(schema.fields.map((f) => [f.name, sampleValue(f.type, f.name, nowMs)]));
}

/** Quotes `s` for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The `curl` line that posts one sample event to the first table a token may write. */
export function curlLine(config: LakestrikeConfig, edgeUrl: string, nowMs: number): string {
  const entries = Object.entries(config.tokens);
  for (const table of config.tables) {
    const token = entries.find(([, g]) => g === "*" || g.includes(table.name))?.[0];
    if (token === undefined) continue;
    const body = JSON.stringify([sampleEvent(table.schema, nowMs)]);
    return [
      `curl -sS -X POST ${edgeUrl}/v1/tables/${encodeURIComponent(table.name)}/events`,
      `-H ${shellQuote(`authorization: Bearer ${token}`)}`,
      `-H 'content-type: application/json'`,
      `-d ${shellQuote(body)}`,
    ].join(" ");
  }
  return `# no client token in the config grants a table: add one under 'tokens'`;
}

export { DEMO_EVENTS_SCHEMA };

/** `--data` as a location: a URI (`s3://bucket/prefix`, `file://...`) as given, a path made absolute. */
export function dataLocation(data: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(data) ? data.replace(/\/+$/, "") : resolve(data);
}

/** The dashboard link `deno task dev` prints: `/ui` with the token once, then a cookie. */
export function dashboardUrl(runnerUrl: string, token: string): string {
  return `${runnerUrl}/ui?token=${encodeURIComponent(token)}`;
}

/** Entry point of `deno task dev`. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    port: { type: "string" },
    hostname: { type: "string" },
    data: { type: "string" },
    config: { type: "string" },
    "log-level": { type: "string" },
    edges: { type: "string" },
  });
  const edges = parseNonNegativeInt("edges", values.edges) ?? 1;
  if (edges < 1 || edges > DEV_EDGES_MAX) {
    throw new UsageError(`Invalid value for --edges: ${edges} (1 to ${DEV_EDGES_MAX})`);
  }
  const hostname = typeof values.hostname === "string" ? values.hostname : DEV_HOSTNAME;
  if (hostname === "") throw new UsageError("Invalid value for --hostname: empty");
  if (positionals.length) throw new UsageError(`Unexpected argument '${positionals[0]}'`);
  const port = parseNonNegativeInt("port", values.port);
  if (port !== undefined && port > 65535) throw new UsageError(`Invalid value for --port: ${port}`);
  const level = values["log-level"] ?? "warn";
  if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error") {
    throw new UsageError(`Invalid value for --log-level: '${level}'`);
  }
  const dataFlag = typeof values.data === "string" ? values.data : undefined;
  if (dataFlag !== undefined) {
    if (dataFlag === "") throw new UsageError("Invalid value for --data: empty");
    Deno.env.set("LAKESTRIKE_DATA_DIR", dataLocation(dataFlag));
  }
  const configFlag = typeof values.config === "string" ? values.config : undefined;
  let config: LakestrikeConfig;
  let source: string;
  // The file the config came from, if any: the runner's thread loads it again.
  let configPath: string | undefined;
  if (configFlag !== undefined || existsSync(DEFAULT_CONFIG_PATH)) {
    configPath = source = configFlag ?? DEFAULT_CONFIG_PATH;
    config = await loadConfig(source);
    if (
      dataFlag !== undefined && !config.tables.some((t) => t.uri.startsWith(dataLocation(dataFlag)))
    ) {
      console.warn(`warning: --data ${dataFlag} is not used by ${source}: no table lives there`);
    }
  } else {
    source = "built-in defaults";
    config = validateConfig(devConfig(dataFlag ?? "./data"), { source });
  }
  // One process: the runner is private to it, on loopback, with a token nobody else needs.
  const runnerToken = config.runner.token ?? Deno.env.get(config.runner.tokenEnv) ??
    crypto.randomUUID();
  const from = { configPath, dataDir: dataFlag, runnerToken };
  const runner = await startThread({ kind: "start", role: "runner", ...from, logLevel: level });
  const producerId = config.edge.producerId ?? "dev-edge";
  let edge;
  try {
    edge = await startEdge(config, {
      runnerToken,
      runnerUrl: runner.url,
      producerId,
      hostname,
      ...(port === undefined ? {} : { port }),
    });
  } catch (e) {
    await runner.shutdown();
    throw e;
  }
  const more: Thread[] = [];
  try {
    for (let k = 2; k <= edges; k++) {
      more.push(
        await startThread({
          kind: "start",
          role: "edge",
          ...from,
          runnerUrl: runner.url,
          producerId: `${producerId}-${k}`,
          hostname,
          port: port === 0 ? 0 : edge.port + k - 1,
        }),
      );
    }
  } catch (e) {
    await Promise.all(more.map((t) => t.shutdown()));
    await edge.shutdown();
    await runner.shutdown();
    throw e;
  }
  const stopped = Promise.withResolvers<void>();
  const stop = () => {
    // Edge first (its waiting requests get answers), then the runner commits what it holds.
    void Promise.all([edge.shutdown(), ...more.map((t) => t.shutdown())])
      .then(() => runner.shutdown()).then(stopped.resolve, stopped.reject);
  };
  // Before the lines that say it is ready, as the runner's `main` does.
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  for (const name of runner.created) console.log(`created table ${name}`);
  const edgesText = edges === 1
    ? `edge ${edge.url}`
    : `edges ${[edge, ...more].map((e) => e.url).join(" ")}`;
  console.log(`lakestrike dev (${source}): ${edgesText}, runner ${runner.url}`);
  for (const t of config.tables) console.log(`  table ${t.name}: ${t.uri}`);
  console.log(`\ntry:\n  ${curlLine(config, edge.url, Date.now())}\n`);
  // Loopback only, with the process's own token: the link opens the dashboard (ADR 0040).
  console.log(`dashboard: ${dashboardUrl(runner.url, runnerToken)}`);
  console.log(`then: deno task scan ${config.tables[0]!.uri} --limit 5    (Ctrl-C stops)`);

  await stopped.promise;
}

/** A service on its own thread: its URL, the tables it created (a runner), and its shutdown. */
interface Thread {
  url: string;
  created: string[];
  shutdown(): Promise<void>;
}

/** Starts `dev_worker.ts` and the service in it; rejects with the worker's error. */
async function startThread(start: DevWorkerRequest): Promise<Thread> {
  const worker = new Worker(new URL("./dev_worker.ts", import.meta.url), { type: "module" });
  let waiting: PromiseWithResolvers<DevWorkerReply> | undefined;
  const ask = (request: DevWorkerRequest): Promise<DevWorkerReply> => {
    waiting = Promise.withResolvers<DevWorkerReply>();
    worker.postMessage(request);
    return waiting.promise;
  };
  worker.onmessage = (e: MessageEvent<DevWorkerReply>) => waiting?.resolve(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    waiting?.resolve({ kind: "failed", message: e.message });
  };
  const started = await ask(start);
  if (started.kind !== "started") {
    worker.terminate();
    throw new Error(started.kind === "failed" ? started.message : "the worker did not start");
  }
  return {
    url: started.url,
    created: started.created,
    async shutdown() {
      const stopped = await ask({ kind: "shutdown" });
      worker.terminate();
      if (stopped.kind === "failed") throw new Error(stopped.message);
    },
  };
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
