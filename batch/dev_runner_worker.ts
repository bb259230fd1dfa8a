/**
 * The runner of `deno task dev` on its own thread (a Web Worker of the dev process): the edge and
 * the runner each get a JavaScript thread, as they would in two processes, and still talk over
 * loopback HTTP with the process's runner token. The worker loads the same config the main thread
 * loaded (a config module may hold plugin instances, which cannot cross threads), starts the
 * runner, and answers the main thread's messages:
 *
 * ```
 *  main ──{ kind: "start", configPath?, dataDir?, runnerToken, logLevel }──▶ worker
 *  main ◀──{ kind: "started", url, created } or { kind: "failed", message }── worker
 *  main ──{ kind: "shutdown" }──▶ worker          (the runner commits what it holds)
 *  main ◀──{ kind: "stopped" } or { kind: "failed", message }── worker
 * ```
 *
 * @module
 */
import { loadConfig, validateConfig } from "./config.ts";
import { devConfig } from "./dev.ts";
import { createConsoleLogger, type RunningRunner, startRunner } from "./runner_main.ts";

/** What the main thread sends the worker. */
export type DevRunnerRequest =
  | {
    kind: "start";
    /** The config file's path, or `undefined` for the built-in defaults under `dataDir`. */
    configPath: string | undefined;
    /** `--data`, for the built-in defaults (`./data` without it). */
    dataDir: string | undefined;
    runnerToken: string;
    logLevel: "debug" | "info" | "warn" | "error";
  }
  | { kind: "shutdown" };

/** What the worker answers. */
export type DevRunnerReply =
  | { kind: "started"; url: string; created: string[] }
  | { kind: "stopped" }
  | { kind: "failed"; message: string };

// A module run as a worker has `self` as its global scope; typed here for `deno check`.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<DevRunnerRequest>) => void) | null;
  postMessage(reply: DevRunnerReply): void;
};

let runner: RunningRunner | undefined;

scope.onmessage = (e) => {
  const request = e.data;
  void handle(request).then(
    (reply) => scope.postMessage(reply),
    (err) => scope.postMessage({ kind: "failed", message: String(err?.message ?? err) }),
  );
};

async function handle(request: DevRunnerRequest): Promise<DevRunnerReply> {
  if (request.kind === "start") {
    const config = request.configPath !== undefined
      ? await loadConfig(request.configPath)
      : validateConfig(devConfig(request.dataDir ?? "./data"), { source: "built-in defaults" });
    runner = await startRunner(config, {
      runnerToken: request.runnerToken,
      port: 0,
      hostname: "127.0.0.1",
      logger: createConsoleLogger(request.logLevel),
    });
    return { kind: "started", url: runner.url, created: [...runner.created] };
  }
  await runner?.shutdown();
  return { kind: "stopped" };
}
