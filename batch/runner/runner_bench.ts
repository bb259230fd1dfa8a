/**
 * Runner benchmarks over memory storage (no network, no disk): the CPU cost of the intake, the
 * writer (zstd Parquet + stats) and the commit per batch, sequential and group-committed.
 *
 * `deno bench --allow-all batch/runner/runner_bench.ts`
 *
 * @module
 */
import { createTestTable, ipc, post, rows, testRunner } from "./test_util.ts";

const storage = await createTestTable();
const runner = testRunner(storage);
const body100 = ipc(rows(100));
let seq = 1;

Deno.bench("runner: one 100-row batch, ack after commit (sequential)", async () => {
  const res = await post(runner, { producer: "bench-seq", seq: seq++, body: body100 });
  if (res.status !== 200) throw new Error(await res.text());
  await res.body?.cancel();
});

let group = 1;
Deno.bench("runner: 32 concurrent 100-row batches (group commit)", async () => {
  const g = group++;
  const answers = await Promise.all(
    Array.from(
      { length: 32 },
      (_, i) => post(runner, { producer: `bench-${i}`, seq: g, body: body100 }),
    ),
  );
  for (const res of answers) {
    if (res.status !== 200) throw new Error(await res.text());
    await res.body?.cancel();
  }
});
