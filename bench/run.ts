/**
 * `deno task bench [name...] [--option value...]`: runs the benchmarks one after the other and prints
 * their figures; the options after the names go to each benchmark (e.g. `deno task bench compact
 * --part processes --runs 5`).
 * Names: snapshot, append, parquet, compact, vacuum, checkpoint (`deno task bench:ingest` is
 * separate: it runs the service). Benchmarks print; they never assert on time.
 *
 * @module
 */

const BENCHES: Record<string, string> = {
  snapshot: "./snapshot_bench.ts",
  append: "./append_bench.ts",
  parquet: "./parquet_encode_bench.ts",
  compact: "./compact_bench.ts",
  vacuum: "./vacuum_bench.ts",
  checkpoint: "./checkpoint_bench.ts",
};

const firstOption = Deno.args.findIndex((a) => a.startsWith("-"));
const names = firstOption < 0 ? Deno.args : Deno.args.slice(0, firstOption);
const options = firstOption < 0 ? [] : Deno.args.slice(firstOption);
const wanted = names.length ? names : Object.keys(BENCHES);
for (const name of wanted) {
  const path = BENCHES[name];
  if (!path) {
    console.error(`error: unknown benchmark '${name}' (known: ${Object.keys(BENCHES).join(", ")})`);
    Deno.exit(2);
  }
  console.log(`\n## ${name}\n`);
  const mod = await import(path) as { main: (args?: string[]) => Promise<unknown> };
  await mod.main(options);
}
