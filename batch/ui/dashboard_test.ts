import assert from "node:assert/strict";
import { createPluginRegistry } from "../../plugins/registry.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import { createRunner, type Runner } from "../runner/runner.ts";
import { createTestTable, post, TOKEN } from "../runner/test_util.ts";
import { mountDashboard, sessionValue, UI_COOKIE } from "./dashboard.ts";
import { createHealthSampler, type HealthSampler } from "./health_sampler.ts";

const OPERATOR = "operator-token-0123456789";

async function setup(tokens: string[] = [TOKEN, OPERATOR]) {
  const storage = await createTestTable();
  const runner: Runner = createRunner({
    tables: { events: { storage, uri: "memory://events", ackSlaMs: 300 } },
    registry: createPluginRegistry([writerPlugin()]).freeze(),
    runnerToken: TOKEN,
  });
  let now = 1_000_000;
  const sampler: HealthSampler = createHealthSampler({
    runner,
    tables: { events: { storage } },
    nowMs: () => now,
  });
  mountDashboard(runner.app, { sampler, tokens });
  await runner.ready();
  return { runner, sampler, advance: (ms: number) => (now += ms) };
}

Deno.test("dashboard: nothing without a token; a bearer token or the session cookie opens it", async () => {
  const { runner } = await setup();
  const app = runner.app;
  const login = await app.request("/ui");
  assert.equal(login.status, 401);
  assert.match(await login.text(), /<form method="post" action="\/ui\/login">/);
  for (const path of ["/metrics.json", "/ui/assets/uPlot.iife.min.js", "/ui/assets/dashboard.js"]) {
    const res = await app.request(path);
    assert.equal(res.status, 401, path);
    await res.body?.cancel();
  }
  const wrong = await app.request("/ui?token=nope");
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);
  await wrong.body?.cancel();

  // A script sends the token as a bearer header.
  const json = await app.request("/metrics.json", {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(json.status, 200);
  assert.equal((await json.json()).tables.events.slaMs, 300);

  // A browser brings the token once and gets a cookie that is not the token.
  const redirect = await app.request(`/ui?token=${OPERATOR}`);
  assert.equal(redirect.status, 303);
  assert.equal(redirect.headers.get("location"), "/ui");
  const cookie = redirect.headers.get("set-cookie") ?? "";
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.ok(!cookie.includes(OPERATOR), "the cookie holds no token");
  const session = `${UI_COOKIE}=${await sessionValue(OPERATOR)}`;
  assert.ok(cookie.startsWith(session));
  const page = await app.request("/ui", { headers: { cookie: session } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.match(await page.text(), /<script src="\/ui\/assets\/uPlot.iife.min.js"><\/script>/);
  const uplot = await app.request("/ui/assets/uPlot.iife.min.js", { headers: { cookie: session } });
  assert.equal(uplot.status, 200);
  assert.match(await uplot.text(), /uPlot/);
  const css = await app.request("/ui/assets/uPlot.min.css", { headers: { cookie: session } });
  assert.match(css.headers.get("content-type") ?? "", /text\/css/);
  await css.body?.cancel();
  const forged = await app.request("/metrics.json", {
    headers: { cookie: `${UI_COOKIE}=${await sessionValue("guess")}` },
  });
  assert.equal(forged.status, 401);
  await forged.body?.cancel();
  // A session cookie is no runner token: it cannot post batches.
  assert.equal((await post(runner, { token: await sessionValue(TOKEN) })).status, 401);

  // The login form.
  const form = new FormData();
  form.set("token", TOKEN);
  const posted = await app.request("/ui/login", { method: "POST", body: form });
  assert.equal(posted.status, 303);
  assert.match(posted.headers.get("set-cookie") ?? "", new RegExp(await sessionValue(TOKEN)));
  await runner.close();
});

Deno.test("dashboard: without any token configured, everything is refused", async () => {
  const { runner } = await setup([]);
  const res = await runner.app.request("/metrics.json", {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await runner.close();
});

Deno.test("health sampler: rates, quantiles, version and file figures per table", async () => {
  const { runner, sampler, advance } = await setup();
  await sampler.tick();
  for (let seq = 1; seq <= 3; seq++) assert.equal((await post(runner, { seq })).status, 200);
  assert.equal((await post(runner, { table: "events", contentType: "text/plain" })).status, 415);
  advance(1_000);
  await sampler.tick();
  const t = sampler.report().tables.events!;
  assert.equal(t.version, 3);
  assert.deepEqual(t.series.version, [0, 3]);
  assert.deepEqual(t.series.eventsPerS, [0, 9], "3 batches of 3 rows in one second");
  assert.deepEqual(t.series.commitsPerS, [0, 3]);
  assert.equal(t.ack.withinSla + t.ack.breaches, 3);
  assert.ok(t.series.ackP99Ms[1] !== null && t.series.ackP99Ms[0] === null);
  assert.equal(t.health?.version, 3);
  assert.equal(t.health?.files, 6, "two regions a batch");
  assert.equal(t.health?.partitions, 2);
  assert.equal(t.health?.smallFileShare, 1);
  assert.deepEqual(t.errors, { unsupported_media_type: 1 });
  assert.equal(t.compaction, null);
  await runner.close();
});
