/**
 * Object storage for lakestrike: the {@linkcode ObjectStorage} contract, its backends (memory, local
 * disk) and {@linkcode openStorage}, which picks a backend from a URI. The S3 backend is the AWS
 * module's (`aws/mod.ts`), registered as a URI scheme.
 *
 * The contract test suite lives in `./contract.ts`, apart from this entry point, because it registers
 * `Deno.test` cases.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "./mod.ts";
 * const storage = createMemoryStorage();
 * await storage.put("_delta_log/00000000000000000000.json", new TextEncoder().encode("{}\n"));
 * const [meta] = await storage.list("_delta_log/");
 * if (meta?.size !== 3) throw new Error("unexpected size");
 * ```
 *
 * @module
 */

export type { ListOptions, ObjectMeta, ObjectStorage, PutOptions, PutResult } from "./storage.ts";
export {
  createMemoryStorage,
  type MemoryStorage,
  type MemoryStorageOptions,
  type StorageFaults,
  type StorageOp,
} from "./memory.ts";
export { createLocalStorage, TEMP_FILE_PREFIX } from "./local.ts";
export { openStorage, registerStorageScheme, type StorageFactory } from "./open.ts";
export { compareBytewise, validatePath, validatePrefix } from "./path.ts";
