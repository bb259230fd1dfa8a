/**
 * The in-memory reference backend of {@linkcode ObjectStorage}, used by unit tests and by the
 * deterministic simulation. It implements every "must" of the contract exactly (each operation takes
 * effect in one synchronous step, so puts are atomic and put-if-absent is mutually exclusive) and lets
 * a test inject faults around each operation.
 *
 * Each operation runs as:
 *
 * ```
 * validate -> await faults.before(op, path) -> effect (one synchronous step) -> await faults.after(op, path)
 * ```
 *
 * * throwing from `before` fails the operation before any effect;
 * * throwing from `after` fails it after the effect (a put that landed but whose answer was lost);
 * * awaiting in either reorders concurrent operations.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { NotFoundError } from "../errors.ts";
import {
  compareBytewise,
  validateLimit,
  validatePath,
  validatePrefix,
  validateRange,
} from "./path.ts";
import type { ListOptions, ObjectMeta, ObjectStorage, PutOptions, PutResult } from "./storage.ts";

/** Name of a storage operation, as passed to {@linkcode StorageFaults} hooks. */
export type StorageOp = "get" | "getRange" | "head" | "list" | "put" | "delete";

/**
 * Fault injection hooks of {@linkcode createMemoryStorage}. `path` is the object path, or the prefix
 * for `list`. `delete` calls the hooks once per path, one path after the other.
 */
export interface StorageFaults {
  /** Runs before the operation takes effect; throwing fails the operation with no effect. */
  before?(op: StorageOp, path: string): void | Promise<void>;
  /** Runs after the operation took effect; throwing loses the answer but not the effect. */
  after?(op: StorageOp, path: string): void | Promise<void>;
}

/** Options of {@linkcode createMemoryStorage}. */
export interface MemoryStorageOptions {
  /** Reported as {@linkcode ObjectStorage.location}; default `memory://`. */
  location?: string;
  /** Fault injection hooks; default none. */
  faults?: StorageFaults;
  /** Source of `lastModifiedMs`; default {@linkcode systemClock}. */
  clock?: Clock;
}

/** An {@linkcode ObjectStorage} held in memory, with helpers for tests. */
export interface MemoryStorage extends ObjectStorage {
  /** Number of stored objects. */
  readonly size: number;
  /** Paths of all stored objects, sorted in byte order, without running fault hooks. */
  snapshotPaths(): string[];
}

interface StoredObject {
  bytes: Uint8Array;
  lastModifiedMs: number;
}

/**
 * Create an empty in-memory storage. Bytes are copied on `put` and on every read, so callers can
 * never change stored data.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "./memory.ts";
 * const storage = createMemoryStorage({ location: "memory://example" });
 * const first = await storage.put("_delta_log/0.json", new Uint8Array([1]), { ifAbsent: true });
 * const second = await storage.put("_delta_log/0.json", new Uint8Array([2]), { ifAbsent: true });
 * if (!first.ok || second.ok) throw new Error("put-if-absent must let exactly one writer win");
 * const listed = await storage.list("_delta_log/");
 * if (listed.length !== 1 || listed[0]?.size !== 1) throw new Error("unexpected listing");
 * ```
 *
 * @example Losing the answer of a put
 * ```ts
 * import { createMemoryStorage } from "./memory.ts";
 * const storage = createMemoryStorage({
 *   faults: {
 *     after(op) {
 *       if (op === "put") throw new Error("connection reset");
 *     },
 *   },
 * });
 * const failed = await storage.put("a", new Uint8Array([7])).then(() => false, () => true);
 * if (!failed || storage.size !== 1) throw new Error("the put must land although it failed");
 * ```
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const location = options.location ?? "memory://";
  const faults = options.faults ?? {};
  const clock = options.clock ?? systemClock;
  const objects = new Map<string, StoredObject>();

  async function run<T>(op: StorageOp, path: string, effect: () => T): Promise<T> {
    await faults.before?.(op, path);
    const result = effect();
    await faults.after?.(op, path);
    return result;
  }

  function metaOf(path: string, object: StoredObject): ObjectMeta {
    return { path, size: object.bytes.length, lastModifiedMs: object.lastModifiedMs };
  }

  function mustGet(path: string): StoredObject {
    const object = objects.get(path);
    if (object === undefined) throw new NotFoundError(path);
    return object;
  }

  return {
    location,
    get size() {
      return objects.size;
    },
    snapshotPaths() {
      return [...objects.keys()].sort(compareBytewise);
    },
    async get(path) {
      validatePath(path);
      return await run("get", path, () => mustGet(path).bytes.slice());
    },
    async getRange(path, offset, length) {
      validatePath(path);
      validateRange(path, offset, length);
      return await run("getRange", path, () => mustGet(path).bytes.slice(offset, offset + length));
    },
    async head(path) {
      validatePath(path);
      return await run("head", path, () => {
        const object = objects.get(path);
        return object === undefined ? undefined : metaOf(path, object);
      });
    },
    async list(prefix: string, listOptions: ListOptions = {}) {
      validatePrefix(prefix);
      const limit = validateLimit(prefix, listOptions.limit);
      const startAfter = listOptions.startAfter;
      return await run("list", prefix, () => {
        const paths = [...objects.keys()].filter((p) =>
          p.startsWith(prefix) && (startAfter === undefined || compareBytewise(p, startAfter) > 0)
        ).sort(compareBytewise).slice(0, limit);
        return paths.map((p) => metaOf(p, mustGet(p)));
      });
    },
    async put(path: string, bytes: Uint8Array, putOptions: PutOptions = {}) {
      validatePath(path);
      const copy = bytes.slice();
      return await run("put", path, (): PutResult => {
        if (putOptions.ifAbsent === true && objects.has(path)) {
          return { ok: false, reason: "exists" };
        }
        objects.set(path, { bytes: copy, lastModifiedMs: clock.nowMs() });
        return { ok: true };
      });
    },
    async delete(paths) {
      for (const path of paths) validatePath(path);
      for (const path of paths) await run("delete", path, () => objects.delete(path));
    },
  };
}
