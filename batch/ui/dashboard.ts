/**
 * The runner's table-health dashboard (ADR 0040): a page at `GET /ui` that draws, per table and
 * live (it polls `GET /metrics.json` every two seconds), ack latency p50 and p99 against the
 * table's SLA line, events/s and commits/s, the version, active files and bytes, files per
 * partition and the small-file share, the time since the last checkpoint, the last compaction and
 * vacuum runs with what they did, and errors by code. Charts are uPlot (`npm:uplot`, served from
 * the runner's own node_modules: no external network at run time).
 *
 * **Access.** Every route here needs the runner's token or an operator token:
 *
 * * `Authorization: Bearer <token>` (scripts, `curl`);
 * * or the session cookie `lakestrike_ui`, set by `GET /ui?token=<token>` (the URL `deno task dev`
 *   prints; answered with a redirect to `/ui`, so the token leaves the address bar and history at
 *   once) or by the login form (`POST /ui/login`), shown to a browser that has neither.
 *
 * The cookie holds no token: its value is SHA-256 of `lakestrike-ui:` + the token, so a stolen
 * cookie opens the dashboard but cannot post batches. It is `HttpOnly` (no script reads it),
 * `SameSite=Strict` (no other site's page sends it) and lasts 12 hours. Tokens and cookies are
 * compared in constant time. Without a configured token nothing here answers but 401.
 *
 * | route | answers |
 * |---|---|
 * | `GET /ui` | the page (401 login form without access) |
 * | `POST /ui/login` | form field `token`: sets the cookie, 303 to `/ui` |
 * | `GET /ui/assets/{uPlot.iife.min.js, uPlot.min.css, dashboard.js, dashboard.css}` | the page's files |
 * | `GET /metrics.json` | the health report (`health_sampler.ts`) |
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import uplotPackage from "uplot/package.json" with { type: "json" };
import { digestsEqual, tokenDigest } from "../../edge/wire.ts";
import type { HealthSampler } from "./health_sampler.ts";

/** Name of the dashboard's session cookie. */
export const UI_COOKIE = "lakestrike_ui";

/** Lifetime of the session cookie in seconds (12 hours). */
export const UI_COOKIE_MAX_AGE_S = 12 * 60 * 60;

/** Version of uPlot the page loads. */
export const UPLOT_VERSION: string = uplotPackage.version;

/** Options of {@linkcode mountDashboard}. */
export interface DashboardOptions {
  sampler: HealthSampler;
  /** Tokens that open the dashboard: the runner's and any operator tokens (none: all refused). */
  tokens: readonly string[];
}

const ASSETS: Record<string, { url: () => string; type: string }> = {
  "uPlot.iife.min.js": {
    url: () => import.meta.resolve("uplot/dist/uPlot.iife.min.js"),
    type: "text/javascript; charset=utf-8",
  },
  "uPlot.min.css": {
    url: () => import.meta.resolve("uplot/dist/uPlot.min.css"),
    type: "text/css; charset=utf-8",
  },
  "dashboard.js": {
    url: () => new URL("./assets/dashboard.js", import.meta.url).href,
    type: "text/javascript; charset=utf-8",
  },
  "dashboard.css": {
    url: () => new URL("./assets/dashboard.css", import.meta.url).href,
    type: "text/css; charset=utf-8",
  },
};

/** The session cookie's value for `token`: hex SHA-256 of `lakestrike-ui:` + token. */
export async function sessionValue(token: string): Promise<string> {
  const digest = await tokenDigest(`lakestrike-ui:${token}`);
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/ui/assets/uPlot.min.css">
<link rel="stylesheet" href="/ui/assets/dashboard.css">
</head><body>${body}</body></html>
`;
}

const DASHBOARD_PAGE = page(
  "lakestrike — table health",
  `<header><h1>lakestrike <span>table health</span></h1><p id="status">loading…</p></header>
<main id="tables"></main>
<script src="/ui/assets/uPlot.iife.min.js"></script>
<script src="/ui/assets/dashboard.js"></script>`,
);

function loginPage(message: string): string {
  return page(
    "lakestrike — sign in",
    `<main class="login"><h1>lakestrike <span>table health</span></h1>
<form method="post" action="/ui/login">
<label for="token">Runner or operator token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Open the dashboard</button>
<p class="message">${message}</p>
</form></main>`,
  );
}

/**
 * Add the dashboard's routes to a runner's app (see the module doc).
 *
 * @example
 * ```ts ignore
 * mountDashboard(runner.app, { sampler, tokens: [runnerToken] });
 * ```
 */
export function mountDashboard(app: Hono, options: DashboardOptions): void {
  const tokens = options.tokens.filter((t) => t !== "");
  const digests = Promise.all(tokens.map((t) => tokenDigest(t)));
  // Cookies are compared as digests of the session values, in constant time like tokens.
  const sessionDigests = Promise.all(
    tokens.map(async (t) => tokenDigest(await sessionValue(t))),
  );
  const assets = new Map<string, Uint8Array>();

  /** True when `token` is one of the tokens; every candidate is compared. */
  async function validToken(token: string): Promise<boolean> {
    const d = await tokenDigest(token);
    let ok = false;
    for (const candidate of await digests) ok = digestsEqual(d, candidate) || ok;
    return ok;
  }

  async function validSession(value: string): Promise<boolean> {
    const d = await tokenDigest(value);
    let ok = false;
    for (const candidate of await sessionDigests) ok = digestsEqual(d, candidate) || ok;
    return ok;
  }

  async function authorized(c: Context): Promise<boolean> {
    if (tokens.length === 0) return false;
    const m = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    if (m !== null) return await validToken(m[1]!);
    const cookie = getCookie(c, UI_COOKIE);
    return cookie !== undefined && await validSession(cookie);
  }

  async function startSession(c: Context, token: string): Promise<void> {
    setCookie(c, UI_COOKIE, await sessionValue(token), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: UI_COOKIE_MAX_AGE_S,
    });
  }

  const refuse = (c: Context, message: string) => c.html(loginPage(message), 401, SECURITY_HEADERS);

  app.get("/ui", async (c) => {
    const token = c.req.query("token");
    if (token !== undefined) {
      if (!(await validToken(token))) return refuse(c, "That token opens nothing here.");
      await startSession(c, token);
      return c.redirect("/ui", 303);
    }
    if (!(await authorized(c))) return refuse(c, "");
    return c.html(DASHBOARD_PAGE, 200, SECURITY_HEADERS);
  });

  app.post("/ui/login", async (c) => {
    let token = "";
    try {
      const form = await c.req.parseBody();
      if (typeof form.token === "string") token = form.token;
    } catch { /* not a form: refused below */ }
    if (token === "" || !(await validToken(token))) {
      return refuse(c, "That token opens nothing here.");
    }
    await startSession(c, token);
    return c.redirect("/ui", 303);
  });

  app.get("/ui/assets/:name", async (c) => {
    if (!(await authorized(c))) return c.json({ error: "unauthorized" }, 401);
    const name = c.req.param("name");
    const asset = ASSETS[name];
    if (asset === undefined || !Object.hasOwn(ASSETS, name)) {
      return c.json({ error: "not_found" }, 404);
    }
    let bytes = assets.get(name);
    if (bytes === undefined) {
      bytes = await Deno.readFile(new URL(asset.url()));
      assets.set(name, bytes);
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": asset.type,
      "x-content-type-options": "nosniff",
      "cache-control": "private, max-age=3600",
    });
  });

  app.get("/metrics.json", async (c) => {
    if (!(await authorized(c))) {
      return c.json({ error: "unauthorized", detail: "Cannot read: token required" }, 401);
    }
    return c.json(options.sampler.report(), 200, { "cache-control": "no-store" });
  });
}
