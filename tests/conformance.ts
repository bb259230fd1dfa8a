/**
 * Where the shared conformance tables live. They are read in place, never copied into the repo.
 *
 * `LAKESTRIKE_CONFORMANCE_DIR` overrides the default `../shared/conformance` (relative to the
 * repository root).
 *
 * @module
 */

/** Absolute path of the conformance folder (holds `tables/` and `expected/`). */
export function conformanceDir(): string {
  const env = Deno.env.get("LAKESTRIKE_CONFORMANCE_DIR");
  if (env) return env;
  return new URL("../../shared/conformance", import.meta.url).pathname;
}

/** Names of every conformance table, sorted. */
export function conformanceTableNames(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(`${conformanceDir()}/expected`)) {
    if (e.isFile && e.name.endsWith(".json")) names.push(e.name.slice(0, -".json".length));
  }
  return names.sort();
}

/** The parsed `expected/<name>.json`. */
export function loadExpected(name: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${conformanceDir()}/expected/${name}.json`));
}

/** Absolute path of the table root of `name` (the folder that holds `_delta_log`). */
export function conformanceTableRoot(name: string): string {
  return `${conformanceDir()}/tables/${name}/delta`;
}
