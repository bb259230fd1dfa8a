import { equal, match } from "node:assert/strict";
import { createStorageLock } from "../core/lock/mod.ts";
import { createArrowTable } from "../core/parquet/mod.ts";
import type { StructType } from "../core/schema/types.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";
import { maintenanceLockPath } from "./maintenance.ts";

const SCHEMA: StructType = {
  type: "struct",
  fields: [{ name: "x", type: "long", nullable: false, metadata: {} }],
};

async function cli(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(script, import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

for (
  const [operation, script] of [["compact", "./compact.ts"], ["vacuum", "./vacuum.ts"]] as const
) {
  Deno.test(`${operation} refuses to run while another ${operation} holds the table's lock`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "lakestrike-lock-" });
    try {
      const storage = createLocalStorage(dir);
      let snapshot = await createTable(storage, { schema: SCHEMA });
      for (let i = 0; i < 6; i++) {
        const r = await appendBatch(
          storage,
          snapshot,
          createArrowTable(SCHEMA, [{ x: BigInt(i) }]),
        );
        if (r.ok) snapshot = r.snapshot;
      }
      const lock = createStorageLock(storage, maintenanceLockPath(operation));
      const lease = await lock.tryAcquire("someone-else", 60_000);
      equal(lease !== undefined, true);
      const held = await cli(script, [dir]);
      equal(held.code, 1);
      match(held.stderr, new RegExp(`another ${operation} job holds the lock`));
      equal(held.stderr.trim().split("\n").length, 1);
      await lease!.release();
      const free = await cli(script, [dir]);
      equal(free.code, 0, free.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
