/**
 * Open an {@linkcode ObjectStorage} from a URI, through a small registry of scheme -> factory.
 *
 * | URI | backend |
 * |---|---|
 * | `data/events`, `/data/events` (no `scheme://`) | local disk, relative to the current directory |
 * | `file:///data/events%202024` | local disk, percent-decoded |
 * | `memory://name` | a process-wide memory storage per name |
 * | any other `scheme://` | the factory registered for the scheme with {@linkcode registerStorageScheme} |
 *
 * The core registers no remote backend, so importing it loads no cloud SDK. `s3://` is registered
 * by the AWS module (`registerAws()` of `aws/mod.ts`), as delta-rs keeps its AWS backend in a crate
 * of its own that an application registers at start.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { InvalidArgumentError } from "../errors.ts";
import { createLocalStorage } from "./local.ts";
import { createMemoryStorage, type MemoryStorage } from "./memory.ts";
import type { ObjectStorage } from "./storage.ts";

/** Makes a storage from a URI of the scheme it is registered for (the whole URI is passed). */
export type StorageFactory = (uri: string) => ObjectStorage;

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const factories = new Map<string, StorageFactory>();
const memoryStorages = new Map<string, MemoryStorage>();

function openFile(uri: string): ObjectStorage {
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new InvalidArgumentError(`Cannot open storage ${JSON.stringify(uri)}: ${why}`);
  }
  return createLocalStorage(path);
}

function openMemory(uri: string): ObjectStorage {
  const name = uri.slice(uri.indexOf("://") + 3).replace(/\/+$/, "");
  if (name === "") {
    throw new InvalidArgumentError(
      `Cannot open storage ${JSON.stringify(uri)}: a memory storage needs a name (memory://name)`,
    );
  }
  let storage = memoryStorages.get(name);
  if (storage === undefined) {
    storage = createMemoryStorage({ location: `memory://${name}` });
    memoryStorages.set(name, storage);
  }
  return storage;
}

factories.set("file", openFile);
factories.set("memory", openMemory);

/** True when a factory is registered for `scheme` (built in: `file`, `memory`). */
export function hasStorageScheme(scheme: string): boolean {
  return factories.has(scheme.toLowerCase());
}

/**
 * Register the factory of a URI scheme (case-insensitive, without `://`), replacing any earlier one.
 * Returns a function that restores the previous registration.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "./memory.ts";
 * import { openStorage, registerStorageScheme } from "./open.ts";
 * const restore = registerStorageScheme("test", (uri) => createMemoryStorage({ location: uri }));
 * try {
 *   if (openStorage("test://x").location !== "test://x") throw new Error("not registered");
 * } finally {
 *   restore();
 * }
 * ```
 */
export function registerStorageScheme(scheme: string, factory: StorageFactory): () => void {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) {
    throw new InvalidArgumentError(
      `Cannot register storage scheme ${JSON.stringify(scheme)}: not a URI scheme`,
    );
  }
  const key = scheme.toLowerCase();
  const previous = factories.get(key);
  factories.set(key, factory);
  return () => {
    if (factories.get(key) !== factory) return; // replaced again since: leave the newer one
    if (previous === undefined) factories.delete(key);
    else factories.set(key, previous);
  };
}

/**
 * Open the storage a URI names (see the module doc). A string without `scheme://` is a local path.
 * Throws {@linkcode InvalidArgumentError} for an empty URI or an unknown scheme.
 *
 * @example
 * ```ts
 * import { openStorage } from "./open.ts";
 * const a = openStorage("memory://open-example");
 * await a.put("x", new Uint8Array([1]));
 * const b = openStorage("memory://open-example");
 * if ((await b.head("x"))?.size !== 1) throw new Error("one name, one storage");
 * ```
 */
export function openStorage(uri: string): ObjectStorage {
  if (typeof uri !== "string" || uri.trim() === "") {
    throw new InvalidArgumentError(`Cannot open storage ${JSON.stringify(uri)}: the URI is empty`);
  }
  const scheme = SCHEME_RE.exec(uri)?.[1];
  if (scheme === undefined) return createLocalStorage(uri);
  const factory = factories.get(scheme.toLowerCase());
  if (factory === undefined) {
    const hint = /^s3[an]?$/i.test(scheme)
      ? " (register the AWS module first: registerAws() of aws/mod.ts)"
      : "";
    throw new InvalidArgumentError(
      `Cannot open storage ${JSON.stringify(uri)}: unsupported scheme "${scheme}"${hint}`,
    );
  }
  return factory(uri);
}
