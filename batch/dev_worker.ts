/**
 * A thread of `deno task dev` (a Web Worker of the dev process) that runs the runner or one more
 * edge: the edges and the runner each get a JavaScript thread, as they would in separate
 * processes, and still talk over loopback HTTP with the process's runner token. The worker loads
 * the same config the main thread loaded (a config module may hold plugin instances, which cannot
 * cross threads), starts its service, and answers the main thread's messages:
 *
 * ```
 *  main ──{ kind: "start", role: "runner", configPath?, dataDir?, runnerToken, logLevel }──▶ worker
 *  main ──{ kind: "start", role: "edge", ..., runnerUrl, producerId, hostname, port }──▶ worker
 *  main ◀──{ kind: "started", url, created } or { kind: "failed", message }── worker
 *  main ──{ kind: "shutdown" }──▶ worker    (an edge answers what waits, the runner commits it)
 *  main ◀──{ kind: "stopped" } or { kind: "failed", message }── worker
 * ```
 *
 * @module
 */
import { startEdge } from "../edge/main.ts";
import { type LakestrikeConfig, loadConfig, validateConfig } from "./config.ts";
import { devConfig } from "./dev.ts";
import { createConsoleLogger, startRunner } from "./runner_main.ts";

/** What the config comes from: a file, or the built-in defaults under `dataDir`. */
interface ConfigSource {
  /** The config file's path, or `undefined` for the built-in defaults under `dataDir`. */
  configPath: string | undefined;
  /** `--data`, for the built-in defaults (`./data` without it). */
  dataDir: string | undefined;
  runnerToken: string;
}

/** What the main thread sends a worker. */
export type DevWorkerRequest =
  | ConfigSource & {
    kind: "start";
    role: "runner";
    logLevel: "debug" | "info" | "warn" | "error";
  }
  | ConfigSource & {
    kind: "start";
    role: "edge";
    runnerUrl: string;
    producerId: string;
    hostname: string;
    port: number;
  }
  | { kind: "shutdown" };

/** What a worker answers. */
export type DevWorkerReply =
  | { kind: "started"; url: string; created: string[] }
  | { kind: "stopped" }
  | { kind: "failed"; message: string };

// A module run as a worker has `self` as its global scope; typed here for `deno check`.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<DevWorkerRequest>) => void) | null;
  postMessage(reply: DevWorkerReply): void;
};

let running: { shutdown(): Promise<void> } | undefined;

scope.onmessage = (e) => {
  const request = e.data;
  void handle(request).then(
    (reply) => scope.postMessage(reply),
    (err) => scope.postMessage({ kind: "failed", message: String(err?.message ?? err) }),
  );
};

async function configOf(source: ConfigSource): Promise<LakestrikeConfig> {
  return source.configPath !== undefined
    ? await loadConfig(source.configPath)
    : validateConfig(devConfig(source.dataDir ?? "./data"), { source: "built-in defaults" });
}

async function handle(request: DevWorkerRequest): Promise<DevWorkerReply> {
  if (request.kind === "shutdown") {
    await running?.shutdown();
    return { kind: "stopped" };
  }
  const config = await configOf(request);
  if (request.role === "edge") {
    const edge = await startEdge(config, {
      runnerToken: request.runnerToken,
      runnerUrl: request.runnerUrl,
      producerId: request.producerId,
      hostname: request.hostname,
      port: request.port,
    });
    running = edge;
    return { kind: "started", url: edge.url, created: [] };
  }
  const runner = await startRunner(config, {
    runnerToken: request.runnerToken,
    port: 0,
    hostname: "127.0.0.1",
    logger: createConsoleLogger(request.logLevel),
  });
  running = runner;
  return { kind: "started", url: runner.url, created: [...runner.created] };
}
