/**
 * Entry point of the edge: loads `lakestrike.config.ts` (or `--config PATH`) and serves the edge app
 * with `Deno.serve`. The only file of `edge/` that uses `Deno.*`; `app.ts` stays runtime-neutral.
 *
 * ```sh
 * LAKESTRIKE_RUNNER_TOKEN=secret deno task edge [--config PATH] [--port P] [--producer ID] [--runner URL]
 * ```
 *
 * It reads only the edge's part of the config (`edge/config.ts`) and loads nothing of the runner,
 * the plugin registry or AWS: `deno info edge/main.ts` lists no module under `batch/` or
 * `plugins/` (unless the config file imports plugins itself).
 *
 * Flags override the config's `edge` settings, so several edges can share one config file and one
 * runner. `--producer` (default `edge-{hostname}-{port}`) names the edge; the producer id sent to
 * the runner adds a random incarnation to it (ADR 0022), so edges sharing a name, or a restarted
 * edge, never share an identity. The runner token comes from the config (`runner.token` or the
 * variable `runner.tokenEnv`).
 *
 * Without a config, the older JSON tables file still works:
 *
 * ```sh
 * deno run -A edge/main.ts --port 8000 --runner http://runner:8080 --runner-token secret \
 *   --producer edge-eu-1 --schema-file tables.json
 * ```
 *
 * @module
 */
import { parseFlags, parseNonNegativeInt, runCli, UsageError } from "../cli/mod.ts";
import { resolveRunnerToken } from "../config/shared_sections.ts";
import { createEdgeApp, type EdgeApp, type EdgeDeps } from "./app.ts";
import {
  type EdgeConfig,
  edgeDepsFromConfig,
  loadEdgeConfig,
  validateEdgeTablesFile,
} from "./config.ts";

/** Options of {@linkcode startEdge}; each overrides the config's `edge` setting. */
export interface StartEdgeOptions {
  /** The runner token (see `resolveRunnerToken` in `config/shared_sections.ts`). */
  runnerToken: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  /** Interface to listen on. */
  hostname?: string;
  /** Stable producer id of this edge. */
  producerId?: string;
  /** Base URL of the runner. */
  runnerUrl?: string;
  /** Extra edge dependencies (tests: `forward`, `fetch`, clocks). */
  deps?: Partial<EdgeDeps>;
}

/** A running edge. */
export interface RunningEdge {
  /** Base URL clients post to, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Its producer id. */
  readonly producerId: string;
  /** The app (buffer stats). */
  readonly app: EdgeApp;
  /** Stop accepting requests, answer waiting ones with 503 and close the server. */
  shutdown(): Promise<void>;
}

function displayHost(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "::") return "127.0.0.1";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * Serves the edge of `config` with `Deno.serve` and resolves once it listens. A runner's config
 * (`LakestrikeConfig` of `batch/config.ts`) holds every field of an {@linkcode EdgeConfig}, so
 * `deno task dev` passes its own.
 *
 * @example
 * ```ts ignore
 * const config = await loadEdgeConfig();
 * const edge = await startEdge(config, { runnerToken: resolveRunnerToken(config), port: 0 });
 * console.log(`POST ${edge.url}/v1/tables/events/events`);
 * await edge.shutdown();
 * ```
 */
export async function startEdge(
  config: EdgeConfig,
  options: StartEdgeOptions,
): Promise<RunningEdge> {
  const hostname = options.hostname ?? config.edge.hostname;
  // The app needs the port (for the default producer id), the server needs the app: a late binding.
  const bound: { app?: EdgeApp } = {};
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: options.port ?? config.edge.port,
    hostname,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, (request) => bound.app!.fetch(request));
  const addr = await listening.promise;
  const producerId = options.producerId ?? config.edge.producerId ??
    `edge-${Deno.hostname()}-${addr.port}`;
  const app = bound.app = createEdgeApp({
    ...edgeDepsFromConfig(config, {
      producerId,
      runnerUrl: options.runnerUrl ?? config.edge.runnerUrl,
      runnerToken: options.runnerToken,
    }),
    ...options.deps,
  });
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${displayHost(hostname)}:${addr.port}`,
    port: addr.port,
    producerId,
    app,
    shutdown() {
      stopped ??= (async () => {
        app.close();
        await server.shutdown();
      })();
      return stopped;
    },
  };
}

const USAGE =
  "usage: deno task edge [--config PATH] [--port P] [--producer ID] [--runner URL] [--runner-token T]\n" +
  "       deno task edge --schema-file tables.json --runner URL --runner-token T --producer ID [--port P]";

/** Entry point of `deno task edge` (also run by the chaos harness). */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    config: { type: "string" },
    port: { type: "string" },
    hostname: { type: "string" },
    runner: { type: "string" },
    "runner-token": { type: "string" },
    producer: { type: "string" },
    "schema-file": { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`);
  const port = parseNonNegativeInt("port", values.port);
  if (port !== undefined && port > 65535) throw new UsageError(`Invalid value for --port: ${port}`);
  const str = (k: string) => (typeof values[k] === "string" ? values[k] as string : undefined);

  let config: EdgeConfig;
  let runnerToken: string;
  const schemaFile = str("schema-file");
  if (schemaFile !== undefined) {
    if (str("config") !== undefined) {
      throw new UsageError("Give --config or --schema-file, not both");
    }
    const missing = ["runner", "runner-token", "producer"].filter((k) => str(k) === undefined);
    if (missing.length > 0) {
      throw new UsageError(`--schema-file needs --${missing.join(", --")}`);
    }
    config = validateEdgeTablesFile(JSON.parse(await Deno.readTextFile(schemaFile)), {
      runnerUrl: str("runner")!.replace(/\/+$/, ""),
      source: schemaFile,
    });
    runnerToken = str("runner-token")!;
  } else {
    config = await loadEdgeConfig(str("config"));
    runnerToken = str("runner-token") ?? resolveRunnerToken(config);
  }
  const options: StartEdgeOptions = { runnerToken };
  if (port !== undefined) options.port = port;
  if (str("hostname") !== undefined) options.hostname = str("hostname")!;
  if (str("producer") !== undefined) options.producerId = str("producer")!;
  if (str("runner") !== undefined) options.runnerUrl = str("runner")!.replace(/\/+$/, "");
  const edge = await startEdge(config, options);
  const stopped = Promise.withResolvers<void>();
  const stop = () => void edge.shutdown().then(stopped.resolve);
  // Before the line that says it is ready, as the runner's `main` does.
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.log(
    `lakestrike edge ${edge.producerId} listening on ${edge.url}, runner ${
      options.runnerUrl ?? config.edge.runnerUrl
    }, tables ${config.tables.map((t) => t.name).join(", ")}`,
  );
  await stopped.promise;
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
