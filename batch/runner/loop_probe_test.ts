import assert from "node:assert/strict";
import { createMemoryLogger } from "../../plugins/logger.ts";
import { loopProbeThresholdMs, startLoopProbe } from "./loop_probe.ts";

Deno.test("loopProbeThresholdMs: a positive number turns the probe on, anything else leaves it off", () => {
  const env = (value: string | undefined) => (name: string) =>
    name === "LAKESTRIKE_LOOP_PROBE_MS" ? value : undefined;
  assert.equal(loopProbeThresholdMs(env("25")), 25);
  assert.equal(loopProbeThresholdMs(env(undefined)), undefined);
  assert.equal(loopProbeThresholdMs(env("0")), undefined);
  assert.equal(loopProbeThresholdMs(env("soon")), undefined);
});

Deno.test("startLoopProbe: a timer that fires late by more than the threshold is logged with the context", async () => {
  // A clock the test moves: the first look finds the timer 500 ms late, the next ones on time.
  let nowMs = 0;
  const logger = createMemoryLogger();
  const probe = startLoopProbe(logger, {
    thresholdMs: 100,
    intervalMs: 1,
    nowMs: () => nowMs,
    context: () => ({ version: 7 }),
  });
  try {
    nowMs = 501;
    while (probe.stalls() === 0) await new Promise((r) => setTimeout(r, 5));
    const onTime = nowMs;
    for (let i = 1; i <= 3; i++) {
      nowMs = onTime + i;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(probe.stalls(), 1);
    const stalled = logger.records.filter((r) => r.message === "runner event loop stalled");
    assert.equal(stalled.length, 1);
    assert.equal(stalled[0]!.fields?.stallMs, 500);
    assert.equal(stalled[0]!.fields?.version, 7);
  } finally {
    probe.stop();
  }
});
