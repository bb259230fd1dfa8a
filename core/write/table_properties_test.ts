import assert from "node:assert/strict";
import { DEFAULT_DELETED_FILE_RETENTION_MS, deletedFileRetentionMsOf } from "./table_properties.ts";

const KEY = "delta.deletedFileRetentionDuration";

Deno.test("deletedFileRetentionMsOf: parses intervals, defaults when missing, junk or negative", () => {
  assert.equal(deletedFileRetentionMsOf({}), DEFAULT_DELETED_FILE_RETENTION_MS);
  assert.equal(deletedFileRetentionMsOf({ [KEY]: "interval 2 days" }), 2 * 86_400_000);
  assert.equal(deletedFileRetentionMsOf({ [KEY]: "interval 0 hours" }), 0);
  // Tables other engines wrote may hold values this writer refuses; a negative one would put the
  // vacuum horizon in the future.
  for (const v of ["interval -1 days", "-168 hours", "interval 1 day -2 days", "soon", ""]) {
    assert.equal(deletedFileRetentionMsOf({ [KEY]: v }), DEFAULT_DELETED_FILE_RETENTION_MS, v);
  }
});
