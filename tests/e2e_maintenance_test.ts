/**
 * The runner's maintenance schedule, as `deno task runner` wires it from the config: with a short
 * compaction interval, the small files that live ingest leaves are compacted while clients keep
 * posting, and every acknowledged event stays in the table exactly once.
 *
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import {
  assertExactlyOnce,
  CLIENT_TOKEN,
  CONFIG_MODULE_URL,
  EVENT_SCHEMA,
  makeEvents,
  postEvents,
  readTable,
  RUNNER_TOKEN,
  startStack,
} from "./fixtures/e2e_util.ts";

/** Write a config of one `events` table with `table` settings spliced in, and start its stack. */
async function startWithTable(prefix: string, table: string) {
  const dir = await Deno.makeTempDir({ prefix });
  const configPath = join(dir, "lakestrike.config.ts");
  await Deno.writeTextFile(
    configPath,
    `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE_URL)};
export const config = defineConfig({
  tables: [{
    name: "events",
    uri: "./events",
    schema: ${JSON.stringify(EVENT_SCHEMA)},
    partitionColumns: ["date"],
    ${table}
  }],
  tokens: { ${JSON.stringify(CLIENT_TOKEN)}: ["events"] },
  runner: { token: ${JSON.stringify(RUNNER_TOKEN)} },
});
`,
  );
  return { dir, stack: await startStack(configPath) };
}

Deno.test("the runner compacts small files on its schedule while clients keep posting", async () => {
  const { dir, stack } = await startWithTable(
    "lakestrike-e2e-maint-",
    "maintenance: { compactIntervalMs: 1000, compactMinFiles: 3 },",
  );
  const acked = new Set<string>();
  try {
    let compactions = 0;
    // Keep posting until the schedule has compacted at least twice (bounded by a request count,
    // not by wall time).
    for (let round = 0; round < 400 && compactions < 2; round++) {
      const events = makeEvents(`r${round}`, 5);
      const answer = await postEvents(stack.edge.url, JSON.stringify(events));
      equal(answer.status, 200, JSON.stringify(answer.body));
      for (const e of events) acked.add(e.payload as string);
      const { snapshot } = await readTable(stack.tableDir);
      compactions = 0;
      for (let v = snapshot.version; v > 0 && v > snapshot.version - 200; v--) {
        const text = await Deno.readTextFile(
          join(stack.tableDir, "_delta_log", `${String(v).padStart(20, "0")}.json`),
        ).catch(() => "");
        if (text.includes('"operation":"OPTIMIZE"')) compactions++;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    ok(compactions >= 2, `expected the schedule to compact, saw ${compactions} OPTIMIZE commits`);
  } finally {
    await stack.close();
  }
  const contents = await assertExactlyOnce(stack.tableDir, acked);
  // Each request of 5 events spans 3 dates, so ingest alone leaves 3 files per request.
  const written = (acked.size / 5) * 3;
  ok(
    contents.files.length < written,
    `${contents.files.length} files of ${written} written remain`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("scheduled compaction and vacuum while clients keep posting lose no acknowledged event", async () => {
  // A 2-second retention lets vacuum delete compacted-away files within the test, while files of
  // commits in flight (milliseconds old) stay inside the window.
  const { dir, stack } = await startWithTable(
    "lakestrike-e2e-vacuum-",
    `properties: { "delta.deletedFileRetentionDuration": "interval 2 seconds" },
    maintenance: {
      compactIntervalMs: 1000,
      compactMinFiles: 3,
      vacuumEnabled: true,
      vacuumIntervalMs: 1000,
    },`,
  );
  const acked = new Set<string>();
  let vacuums = 0;
  try {
    // Four clients post until vacuum has deleted files twice (bounded by a request count).
    let round = 0;
    const client = async (c: number) => {
      while (round < 2000 && vacuums < 2) {
        const events = makeEvents(`c${c}-${round++}`, 5);
        const answer = await postEvents(stack.edge.url, JSON.stringify(events));
        equal(answer.status, 200, JSON.stringify(answer.body));
        for (const e of events) acked.add(e.payload as string);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const watcher = async () => {
      while (round < 2000 && vacuums < 2) {
        const { snapshot } = await readTable(stack.tableDir);
        vacuums = 0;
        for (let v = snapshot.version; v > 0 && v > snapshot.version - 400; v--) {
          const text = await Deno.readTextFile(
            join(stack.tableDir, "_delta_log", `${String(v).padStart(20, "0")}.json`),
          ).catch(() => "");
          if (text.includes('"operation":"VACUUM END"')) vacuums++;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await Promise.all([client(0), client(1), client(2), client(3), watcher()]);
    ok(vacuums >= 2, `expected the schedule to vacuum, saw ${vacuums} VACUUM END commits`);
  } finally {
    await stack.close();
  }
  // Every active file still exists, and every acknowledged event is there exactly once.
  const contents = await assertExactlyOnce(stack.tableDir, acked);
  for (const f of contents.files) {
    ok(
      await Deno.stat(join(stack.tableDir, f)).then(() => true, () => false),
      `${f} gone`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});
