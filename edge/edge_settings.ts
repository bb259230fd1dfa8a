/**
 * The edge's settings, owned by the edge: the `edge` section of `lakestrike.config.ts` as its
 * author writes it ({@linkcode EdgeInput}), its defaults, its schema and its check. The config
 * format (`config/define_config.ts`) composes this section; both readers check it with
 * {@linkcode checkEdge} (the runner's `batch/config.ts` and the edge's `edge/config.ts`).
 *
 * This module is a leaf: it imports only the schema vocabulary of `config/section_schema.ts`, so a
 * config file that imports the config format loads nothing else of the edge.
 *
 * @module
 */
import { checkSection, intIn, matching, section, show, z } from "../config/section_schema.ts";

/** Edge settings as written in the config; every field is optional. */
export interface EdgeInput {
  /** Port the edge listens on (default 8080; 0 picks a free one). */
  port?: number;
  /** Interface the edge listens on (default `0.0.0.0`). */
  hostname?: string;
  /**
   * The longest a request is held when the runner says its table's next commit cannot start
   * sooner (default 50). Otherwise nothing waits for a timer: a table forwards at once when
   * nothing is in flight, and what arrives meanwhile goes in the next batch (ADR 0030, 0031).
   */
  flushIntervalMs?: number;
  /** Rows of the largest batch made of several requests (default 10,000). */
  flushRowsMax?: number;
  /** Bytes of the largest batch made of several requests (default 4 MiB). */
  flushBytesMax?: number;
  /** Bytes a table buffers before answering 429 (default 64 MiB). */
  bufferBytesMax?: number;
  /** Largest request body (default 8 MiB). */
  requestBodyBytesMax?: number;
  /** Deadline of a request from arrival to answer (default 5,000). */
  requestTimeoutMs?: number;
  /** Base URL of the runner (default `http://127.0.0.1:{runner.port}`). */
  runnerUrl?: string;
  /**
   * Name of this edge (default `edge-{hostname}-{port}`). The producer id of its commits (the `txn`
   * appId) is this name plus a random incarnation taken at every start (ADR 0022), so edges may
   * share a name.
   */
  producerId?: string;
}

/** Defaults of the edge settings (those of `EDGE_DEFAULTS` in `edge/app.ts`, plus the address). */
export const EDGE_CONFIG_DEFAULTS = {
  port: 8080,
  hostname: "0.0.0.0",
  flushIntervalMs: 50,
  flushRowsMax: 50_000,
  flushBytesMax: 16 * 1024 * 1024,
  bufferBytesMax: 64 * 1024 * 1024,
  requestBodyBytesMax: 8 * 1024 * 1024,
  requestTimeoutMs: 5_000,
} as const;

/** Edge settings after validation, defaults filled in. */
export type EdgeSettings =
  & {
    -readonly [K in keyof typeof EDGE_CONFIG_DEFAULTS]: (typeof EDGE_CONFIG_DEFAULTS)[K] extends
      string ? string : number;
  }
  & {
    /** Base URL of the runner. */
    runnerUrl: string;
    /** Stable producer id, when the config names one. */
    producerId?: string;
  };

const INT32_MAX = 2 ** 31 - 1;

/** A host name or IP address, as `edge.hostname` and `runner.hostname` take it. */
export function hostnameSchema(): z.ZodString {
  return matching(/^[A-Za-z0-9.:\-\[\]]{1,253}$/, "a host name or IP address");
}

const runnerUrlError = {
  error: (issue: { input?: unknown }) =>
    `expected an http:// or https:// URL, got ${show(issue.input)}`,
};

/** An http:// or https:// URL, trailing slashes dropped. */
const runnerUrlSchema = z.string(runnerUrlError).refine((v) => {
  try {
    const url = new URL(v);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}, runnerUrlError).transform((v) => v.replace(/\/+$/, ""));

/** The `edge` section's schema (every key optional; defaults are filled in by {@linkcode checkEdge}). */
export const EDGE_SECTION = section({
  port: intIn(0, 65535).optional(),
  hostname: hostnameSchema().optional(),
  flushIntervalMs: intIn(1, 60_000).optional(),
  flushRowsMax: intIn(1, 1_000_000).optional(),
  flushBytesMax: intIn(1024, 1 << 30).optional(),
  bufferBytesMax: intIn(1024, 2 ** 40).optional(),
  requestBodyBytesMax: intIn(1, 1 << 30).optional(),
  requestTimeoutMs: intIn(1, INT32_MAX).optional(),
  runnerUrl: runnerUrlSchema.optional(),
  producerId: matching(/^[\x21-\x7e]{1,200}$/, "1 to 200 visible ASCII characters").optional(),
});

/**
 * The edge settings, defaults filled in; the runner URL defaults to the runner's address. Pushes
 * every problem onto `issues`, named by its path (`edge.port: ...`).
 *
 * @example
 * ```ts
 * import { checkEdge } from "./edge_settings.ts";
 * const issues: string[] = [];
 * const edge = checkEdge({ flushIntervalMs: 20 }, { hostname: "0.0.0.0", port: 9000 }, issues);
 * if (edge.runnerUrl !== "http://127.0.0.1:9000" || edge.flushIntervalMs !== 20) throw new Error();
 * ```
 */
export function checkEdge(
  v: unknown,
  runner: { hostname: string; port: number },
  issues: string[],
): EdgeSettings {
  const out: EdgeSettings = {
    ...EDGE_CONFIG_DEFAULTS,
    runnerUrl: `http://${
      runner.hostname === "0.0.0.0" ? "127.0.0.1" : runner.hostname
    }:${runner.port}`,
  };
  if (v === undefined) return out;
  const edge = checkSection(EDGE_SECTION, v, "edge", issues);
  if (edge === undefined) return out;
  for (const [key, value] of Object.entries(edge)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  if (out.flushBytesMax > out.bufferBytesMax) {
    issues.push(
      `edge.flushBytesMax: ${out.flushBytesMax} is larger than edge.bufferBytesMax ${out.bufferBytesMax}`,
    );
  }
  return out;
}
