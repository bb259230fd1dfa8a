/**
 * Vacuum benchmark: a full-mode vacuum of a table with N deletable files (crashed-writer leftovers
 * spread over 100 partition directories) on local disk, and, when an S3 endpoint is available
 * (`LAKESTRIKE_TEST_S3_ENDPOINT`, or a `moto_server` on the PATH that this script starts), on S3
 * with the requests counted per operation. Prints a table.
 *
 * Run: `deno run --allow-all bench/vacuum_bench.ts [--local-files N] [--s3-files N]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { S3Client } from "@aws-sdk/client-s3";
import { createManualClock } from "../core/clock.ts";
import { mapBounded } from "../core/concurrency.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { createS3Storage, type S3Operation } from "../aws/s3_storage.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { createTable } from "../core/write/create_table.ts";
import { vacuumTable } from "../plugins/vacuum/mod.ts";

const DIRS = 100;
const schema = {
  type: "struct" as const,
  fields: [
    { name: "x", type: "long" as const, nullable: true, metadata: {} },
    { name: "d", type: "string" as const, nullable: true, metadata: {} },
  ],
};

interface Row {
  backend: string;
  files: number;
  deleted: number;
  seconds: number;
  filesPerSecond: number;
  requests: string;
}

async function fill(storage: ObjectStorage, files: number, concurrency: number): Promise<void> {
  const bytes = new Uint8Array(64);
  const indices = Array.from({ length: files }, (_, i) => i);
  await mapBounded(indices, concurrency, async (i) => {
    await storage.put(`d=${i % DIRS}/orphan-${i}.parquet`, bytes);
  });
}

async function benchVacuum(
  backend: string,
  storage: ObjectStorage,
  files: number,
  counts?: Map<string, number>,
): Promise<Row> {
  const snapshot = await createTable(storage, { schema, partitionColumns: ["d"] });
  await fill(storage, files, backend === "local" ? 64 : 32);
  counts?.clear();
  const clock = createManualClock(Date.now() + 8 * 86_400_000);
  const t0 = performance.now();
  const r = await vacuumTable(storage, snapshot, { clock });
  const seconds = (performance.now() - t0) / 1000;
  if (r.files.length !== files) throw new Error(`deleted ${r.files.length} of ${files}`);
  return {
    backend,
    files,
    deleted: r.files.length,
    seconds: Number(seconds.toFixed(2)),
    filesPerSecond: Math.round(files / seconds),
    requests: counts ? [...counts].map(([k, v]) => `${k}=${v}`).join(" ") : "n/a",
  };
}

async function s3Row(files: number): Promise<Row | string> {
  let endpoint = Deno.env.get("LAKESTRIKE_TEST_S3_ENDPOINT");
  let stop: (() => Promise<void>) | undefined;
  if (!endpoint) {
    try {
      const { startMoto } = await import("../tests/servers.ts");
      const server = await startMoto();
      endpoint = server.endpoint;
      stop = server.stop;
    } catch (e) {
      return `S3 part not done: no LAKESTRIKE_TEST_S3_ENDPOINT and moto_server failed (${
        (e as Error).message
      })`;
    }
  }
  const credentials = { accessKeyId: "test", secretAccessKey: "test" };
  const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
  const bucket = `vacuum-bench-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3");
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const counts = new Map<string, number>();
    const storage = createS3Storage({
      bucket,
      prefix: "t",
      endpoint,
      region: "us-east-1",
      credentials,
      onRequest: (op: S3Operation) => counts.set(op, (counts.get(op) ?? 0) + 1),
    });
    return await benchVacuum("s3 (moto)", storage, files, counts);
  } finally {
    client.destroy();
    await stop?.();
  }
}

/** Run the benchmark and print a table. */
export async function main(args: string[] = Deno.args): Promise<Row[]> {
  const { values } = parseArgs({
    args,
    options: { "local-files": { type: "string" }, "s3-files": { type: "string" } },
  });
  const localFiles = Number(values["local-files"] ?? 100_000);
  const s3Files = Number(values["s3-files"] ?? 10_000);
  const rows: Row[] = [];
  const dir = await Deno.makeTempDir({ prefix: "vacuum-bench-" });
  try {
    rows.push(await benchVacuum("local", createLocalStorage(dir), localFiles));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const s3 = s3Files > 0 ? await s3Row(s3Files) : "S3 part skipped (--s3-files 0)";
  if (typeof s3 === "string") console.log(s3);
  else rows.push(s3);
  console.table(rows);
  return rows;
}

if (import.meta.main) await main();
