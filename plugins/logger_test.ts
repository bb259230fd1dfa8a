import assert from "node:assert/strict";
import { createMemoryLogger, noopLogger, withLogFields } from "./logger.ts";

Deno.test("memory logger keeps records in order, up to recordsMax", () => {
  const logger = createMemoryLogger({ recordsMax: 2 });
  logger.debug("one");
  logger.info("two", { n: 2 });
  logger.error("three");
  assert.deepEqual(logger.records, [
    { level: "info", message: "two", fields: { n: 2 } },
    { level: "error", message: "three", fields: {} },
  ]);
});

Deno.test("withLogFields adds bound fields; fields given at the call win", () => {
  const base = createMemoryLogger();
  const logger = withLogFields(base, { plugin: "p", hook: "setup" });
  logger.warn("w", { hook: "override" });
  assert.deepEqual(base.records, [{
    level: "warn",
    message: "w",
    fields: { plugin: "p", hook: "override" },
  }]);
});

Deno.test("noopLogger accepts every level", () => {
  noopLogger.debug("x");
  noopLogger.info("x", {});
  noopLogger.warn("x");
  noopLogger.error("x", { e: 1 });
  assert.ok(Object.isFrozen(noopLogger));
});
