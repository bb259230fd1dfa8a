import assert from "node:assert/strict";
import type { Action, Metadata } from "./actions.ts";
import { checkConflict, type CommitDraft, isBlindAppend } from "./conflict.ts";

const add = (path: string, dataChange = true): Action => ({
  add: { path, partitionValues: {}, size: 10, modificationTime: 1, dataChange },
});
const remove = (path: string, dataChange = true): Action => ({
  remove: { path, dataChange, deletionTimestamp: 5 },
});
const txn = (appId: string, version: number): Action => ({ txn: { appId, version } });
const metadata: Metadata = {
  id: "t",
  format: { provider: "parquet" },
  schemaString: '{"type":"struct","fields":[]}',
  partitionColumns: [],
  configuration: {},
};
const draft = (actions: Action[], operation = "WRITE"): CommitDraft => ({ operation, actions });

Deno.test("isBlindAppend: only data adds, txn and commitInfo", () => {
  assert.equal(isBlindAppend([add("a"), txn("x", 1), { commitInfo: {} }]), true);
  assert.equal(isBlindAppend([add("a", false)]), false);
  assert.equal(isBlindAppend([txn("x", 1)]), false);
  assert.equal(isBlindAppend([add("a"), remove("b")]), false);
  assert.equal(isBlindAppend([add("a"), { metaData: metadata }]), false);
});

Deno.test("checkConflict: blind appends never conflict with appends, compactions or deletes", () => {
  const ours = draft([add("new"), txn("producer-a", 7)]);
  const winning = [
    { version: 4, actions: [add("w1")] },
    { version: 5, actions: [remove("old1", false), add("compacted", false)] },
    { version: 6, actions: [remove("old2"), add("rewritten")] },
    { version: 7, actions: [txn("producer-b", 3), add("w2")] },
  ];
  assert.deepEqual(checkConflict(ours, winning), { ok: true });
  assert.deepEqual(checkConflict(ours, []), { ok: true });
});

Deno.test("checkConflict: a winning protocol or metaData change stops every commit", () => {
  const ours = draft([add("new")]);
  const p = checkConflict(ours, [
    { version: 2, actions: [add("x")] },
    { version: 3, actions: [{ protocol: { minReaderVersion: 1, minWriterVersion: 3 } }] },
  ]);
  assert.equal(p.ok, false);
  assert.ok(!p.ok && p.kind === "protocol_changed" && p.version === 3);
  const m = checkConflict(ours, [{ version: 2, actions: [{ metaData: metadata }] }]);
  assert.ok(!m.ok && m.kind === "metadata_changed" && m.version === 2);
  assert.match(!m.ok ? m.reason : "", /version 2 changed the table metadata/);
});

Deno.test("checkConflict: our own metaData or protocol change conflicts with any commit", () => {
  const m = checkConflict(draft([{ metaData: metadata }], "SET TBLPROPERTIES"), [
    { version: 9, actions: [add("x")] },
  ]);
  assert.ok(!m.ok && m.kind === "metadata_changed");
  const p = checkConflict(
    draft([{ protocol: { minReaderVersion: 1, minWriterVersion: 4 } }]),
    [{ version: 9, actions: [{ commitInfo: {} }] }],
  );
  assert.ok(!p.ok && p.kind === "protocol_changed");
  // With no concurrent commit there is nothing to conflict with.
  assert.ok(checkConflict(draft([{ metaData: metadata }]), []).ok);
});

Deno.test("checkConflict: compaction conflicts only with a concurrent remove of a file it removes", () => {
  const compaction = draft(
    [remove("a", false), remove("b", false), add("ab", false)],
    "OPTIMIZE",
  );
  assert.ok(
    checkConflict(compaction, [
      { version: 1, actions: [add("c")] },
      { version: 2, actions: [remove("z"), add("z2")] },
      { version: 3, actions: [remove("y", false), add("y2", false)] },
    ]).ok,
  );
  const r = checkConflict(compaction, [
    { version: 1, actions: [add("c")] },
    { version: 2, actions: [remove("b")] },
  ]);
  assert.ok(!r.ok && r.kind === "concurrent_delete_delete" && r.version === 2);
  const r2 = checkConflict(compaction, [{ version: 4, actions: [remove("a", false)] }]);
  assert.ok(!r2.ok && r2.kind === "concurrent_delete_delete");
});

Deno.test("checkConflict: a winning txn of an appId we also write conflicts", () => {
  const ours = draft([add("n"), txn("edge-1", 12)]);
  const r = checkConflict(ours, [{ version: 3, actions: [add("o"), txn("edge-1", 11)] }]);
  assert.ok(!r.ok && r.kind === "concurrent_transaction" && r.version === 3);
  assert.match(!r.ok ? r.reason : "", /edge-1/);
  assert.ok(checkConflict(ours, [{ version: 3, actions: [txn("edge-2", 12)] }]).ok);
});

Deno.test("checkConflict: domain metadata of the same domain conflicts", () => {
  const dm = (domain: string): Action => ({
    domainMetadata: { domain, configuration: "{}", removed: false },
  });
  const ours = draft([dm("delta.clustering")]);
  const r = checkConflict(ours, [{ version: 1, actions: [dm("delta.clustering")] }]);
  assert.ok(!r.ok && r.kind === "concurrent_domain_metadata");
  assert.ok(checkConflict(ours, [{ version: 1, actions: [dm("other")] }]).ok);
});

Deno.test("checkConflict: a data rewrite conflicts with a concurrent delete of a read file and a non-blind append", () => {
  const del = draft([remove("a"), add("a-rewritten")], "DELETE");
  const r = checkConflict(del, [{ version: 5, actions: [remove("a"), add("a2")] }]);
  assert.ok(!r.ok && r.kind === "concurrent_delete_read");
  const r2 = checkConflict(del, [{ version: 5, actions: [remove("q"), add("q2")] }]);
  assert.ok(!r2.ok && r2.kind === "concurrent_append");
  // Blind appends are allowed at WriteSerializable.
  assert.ok(checkConflict(del, [{ version: 5, actions: [add("n1"), add("n2")] }]).ok);
  // A concurrent compaction of other files adds no data.
  assert.ok(
    checkConflict(del, [{ version: 5, actions: [remove("q", false), add("q2", false)] }]).ok,
  );
});
