/**
 * Helpers for the plugin tests: a context, a snapshot with given files, a plugin factory.
 * Private to `plugins/` (not exported from `mod.ts`).
 *
 * @module
 */
import { createManualClock } from "../core/clock.ts";
import type { Add } from "../core/log/actions.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { createMemoryLogger, type MemoryLogger } from "./logger.ts";
import {
  type Plugin,
  PLUGIN_API_VERSION,
  type PluginContext,
  type PluginHooks,
  type WriteContext,
} from "./types.ts";

/** Storage that fails every call: registry tests must not touch storage. */
const refusingStorage: ObjectStorage = {
  location: "memory://refusing",
  get: () => Promise.reject(new Error("storage not available in this test")),
  getRange: () => Promise.reject(new Error("storage not available in this test")),
  head: () => Promise.reject(new Error("storage not available in this test")),
  list: () => Promise.reject(new Error("storage not available in this test")),
  put: () => Promise.reject(new Error("storage not available in this test")),
  delete: () => Promise.reject(new Error("storage not available in this test")),
};

/**
 * A context with a memory logger, a manual clock at 1,000,000 ms and an empty snapshot at version
 * 7: a write context unless `overrides` (or the parameter it is passed as) says otherwise.
 */
export function testContext<C extends PluginContext = WriteContext>(
  overrides: NoInfer<Partial<C>> = {},
): C & { logger: MemoryLogger } {
  return {
    table: { name: "events", uri: "memory://events" },
    snapshot: testSnapshot([]),
    storage: refusingStorage,
    clock: createManualClock(1_000_000),
    signal: new AbortController().signal,
    limits: {
      groupRowsMax: 200_000,
      groupBytesMax: 64 * 1024 * 1024,
      writeBatchesConcurrencyMax: 16,
    },
    operation: "write",
    dryRun: false,
    ...overrides,
    logger: createMemoryLogger(),
  } as unknown as C & { logger: MemoryLogger };
}

/** An `add` action for `path`. */
export function testAdd(path: string, size = 100): Add {
  return { path, partitionValues: {}, size, modificationTime: 1, dataChange: true };
}

/** A snapshot at `version` whose active files are `paths`. */
export function testSnapshot(paths: readonly string[], version = 7): Snapshot {
  return {
    version,
    protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    metadata: {
      id: "t",
      format: { provider: "parquet" },
      schemaString: '{"type":"struct","fields":[]}',
      partitionColumns: [],
      configuration: {},
    },
    schema: { type: "struct", fields: [] },
    columnMappingMode: "none",
    files: paths.map((p) => testAdd(p)),
    tombstones: [],
    txns: new Map(),
    domainMetadata: new Map(),
    timestampMs: 1_000_000,
  };
}

/** A plugin named `name` with `hooks`, at the current api version. */
export function testPlugin(
  name: string,
  hooks: PluginHooks,
  extra: { dependencies?: string[] } = {},
): Plugin {
  return { name, apiVersion: PLUGIN_API_VERSION, hooks, ...extra };
}

/** A promise that never settles. */
export function never(): Promise<never> {
  return new Promise(() => {});
}
