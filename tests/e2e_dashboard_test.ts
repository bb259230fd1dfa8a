// The runner's dashboard in a real browser: `deno task dev` as a process, events posted through its
// edge, then `/ui` opened in headless Chromium with the link dev prints (token once, then the
// session cookie). The DOM after the page's scripts ran must show the table's name, its current
// version, a latency chart with data points and the SLA line; a screenshot is written under the
// test's temp dir. Without the token the page and its JSON answer 401.
import assert from "node:assert/strict";
import { join } from "node:path";
import { demoEvents } from "../batch/dev.ts";
import { chromiumPath, dumpDom, profileIn, screenshot } from "./fixtures/chromium.ts";
import { postEvents, spawnUntil, stop } from "./fixtures/e2e_util.ts";

/** The attributes of the first element whose opening tag matches `open`. */
function attributesOf(html: string, open: RegExp): Record<string, string> {
  const tag = open.exec(html)?.[0];
  assert.ok(tag !== undefined, `no element ${open} in the DOM`);
  return Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

Deno.test("e2e: the dashboard renders the table's health live in headless Chromium", async () => {
  await chromiumPath(); // fails loudly, before anything starts, when the browser is missing
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-ui-" });
  const dev = await spawnUntil(
    "batch/dev.ts",
    ["--port", "0", "--data", "d"],
    dir,
    /dashboard: \S+\n/,
  );
  try {
    const edgeUrl = /edge (http:\/\/\S+?),/.exec(dev.output)![1]!;
    const dashboard = /dashboard: (\S+)\n/.exec(dev.output)![1]!;
    const runnerUrl = dashboard.slice(0, dashboard.indexOf("/ui"));
    const token = decodeURIComponent(new URL(dashboard).searchParams.get("token")!);
    assert.match(dev.output, /curl .*\n+dashboard: /, "the link is printed beside the curl line");

    // Never without a token.
    assert.equal((await fetch(`${runnerUrl}/ui`)).status, 401);
    const anonymous = await fetch(`${runnerUrl}/metrics.json`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const wrong = await fetch(`${runnerUrl}/ui?token=not-the-token`, { redirect: "manual" });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();

    // Events over a few seconds, so the sampler (one sample a second) has points to draw.
    for (let i = 0; i < 12; i++) {
      const answer = await postEvents(edgeUrl, JSON.stringify(demoEvents(5, Date.now())), {
        token: "dev-token",
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      await new Promise((r) => setTimeout(r, 250));
    }
    const headers = { authorization: `Bearer ${token}` };
    let report: {
      tables: { events: { version: number; series: { t: number[]; ackP99Ms: unknown[] } } };
    };
    for (;;) {
      report = await (await fetch(`${runnerUrl}/metrics.json`, { headers })).json();
      const s = report.tables.events.series;
      if (s.ackP99Ms.filter((v) => v !== null).length >= 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const health = await (await fetch(`${runnerUrl}/healthz`)).json();
    const version = health.tables.events.version as number;
    assert.ok(version >= 12, `12 commits at least, got version ${version}`);

    const profile = await profileIn(dir, "dom");
    const dom = await dumpDom(dashboard, { profileDir: profile });
    // The served page holds no table: what follows was drawn by its script from /metrics.json.
    assert.match(dom, /<section class="table" data-table="events">/);
    assert.match(dom, /<span class="name">events<\/span>/);
    const shown = /<dd data-field="version" class="version">(\d+)<\/dd>/.exec(dom)?.[1];
    assert.equal(Number(shown), version, "the version shown is the runner's");
    const chart = attributesOf(dom, /<div class="chart latency"[^>]*>/);
    assert.equal(chart["data-sla-ms"], "250");
    assert.ok(Number(chart["data-points"]) >= 3, `points drawn: ${chart["data-points"]}`);
    const latencyChart = dom.slice(dom.indexOf('<div class="chart latency"'));
    assert.match(latencyChart, /<canvas/, "uPlot drew the chart on a canvas");
    assert.match(latencyChart, /SLA 250 ms/, "the SLA line is a series of the chart");
    assert.match(dom, /within SLA|p99 over SLA/);

    const png = join(dir, "dashboard.png");
    const bytes = await screenshot(dashboard, png, { profileDir: await profileIn(dir, "shot") });
    assert.ok(bytes > 10_000, `a screenshot of ${bytes} bytes is too small to show the page`);
  } finally {
    assert.equal((await stop(dev.child)).code, 0, "dev exits cleanly on SIGTERM");
  }
  // The screenshot stays with the test's temp dir until it is removed (LAKESTRIKE_KEEP_UI keeps it).
  if (Deno.env.get("LAKESTRIKE_KEEP_UI") === undefined) await Deno.remove(dir, { recursive: true });
  else console.log(`dashboard screenshot: ${join(dir, "dashboard.png")}`);
});
