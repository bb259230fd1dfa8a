/**
 * The object storage contract every backend (memory, local disk, S3) implements.
 *
 * A Delta commit rests on three guarantees of the storage under it (as delta-rs's `logstore` names
 * them): atomic visibility (an object is seen whole or not at all), mutual exclusion per version
 * (`put` with `ifAbsent` lets exactly one writer create a path) and consistent listing (a `list`
 * after a successful `put` shows the object). Backends that cannot give all three must be wrapped by a
 * commit protocol that can (for example DynamoDB for S3 without conditional PUT).
 *
 * Paths are relative to the storage root, use `/` as separator, never start with `/` and never
 * contain empty, `.` or `..` segments or NUL characters (see `./path.ts`); every operation throws
 * `InvalidArgumentError` for such a path before doing anything. Other characters (spaces, `%`, `=`,
 * unicode) are stored and listed as given.
 *
 * @module
 */

/** What a backend knows of one stored object. */
export interface ObjectMeta {
  /** Path relative to the storage root. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Last modification time in epoch milliseconds. */
  lastModifiedMs: number;
}

/** Options of {@linkcode ObjectStorage.list}. */
export interface ListOptions {
  /** Only return paths strictly greater than this one (byte order). */
  startAfter?: string;
  /** Stop after this many entries. */
  limit?: number;
}

/** Options of {@linkcode ObjectStorage.put}. */
export interface PutOptions {
  /** Create the object only if no object exists at the path. */
  ifAbsent?: boolean;
  /**
   * `false`: the caller does not need atomic visibility, because nothing reads the path until this
   * put resolves (a data file that no commit names yet, under a fresh unique name). A backend may
   * then write the object in place, and a crash during the put may leave it partly written under
   * its name (an unreferenced file, which vacuum deletes like any other). Default `true`. Mutual
   * exclusion (`ifAbsent`) and durability once `put` returns `ok` hold either way.
   */
  atomic?: boolean;
}

/** Result of {@linkcode ObjectStorage.put}: a lost put-if-absent race is a value, not an error. */
export type PutResult = { ok: true } | { ok: false; reason: "exists" };

/**
 * Object storage, scoped to one root (usually a table root).
 *
 * * `get` must return the whole object or throw {@linkcode NotFoundError} when it is missing.
 * * `getRange` must return bytes `[offset, offset + length)`, fewer only at the end of the object.
 * * `head` must return `undefined` for a missing object.
 * * `list` must return every object whose path starts with `prefix`, sorted by path in byte order,
 *   recursively (no directory entries). `prefix` is a string prefix, not a directory: `"a/b"`
 *   matches `a/b.json` and `a/bc/x`. Byte order is the order of UTF-8 bytes (`compareBytewise`),
 *   not JavaScript's UTF-16 `<`. A prefix that matches nothing lists as empty.
 * * `put` must make the object visible atomically: readers see all of it or none of it. With
 *   `ifAbsent`, exactly one of several concurrent writers of one path succeeds; the others get
 *   `{ ok: false, reason: "exists" }`. Once `put` returns `ok`, the object is durable.
 * * `delete` must be idempotent: deleting a missing path is not an error.
 * * Every method reports failure by rejecting its promise, never by throwing synchronously; other
 *   IO failures are `LakestrikeError` with code `"STORAGE"` naming the path.
 *
 * `./contract.ts` turns each of these sentences into tests that every backend runs.
 */
export interface ObjectStorage {
  /** A human-readable location of the root, e.g. `file:///data/events` or `memory://t1`. */
  readonly location: string;
  /** Read a whole object. */
  get(path: string): Promise<Uint8Array>;
  /** Read `length` bytes from `offset`. */
  getRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Metadata of one object, or `undefined` when it does not exist. */
  head(path: string): Promise<ObjectMeta | undefined>;
  /** All objects under `prefix`, sorted by path. */
  list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]>;
  /** Write an object, atomically and durably. */
  put(path: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult>;
  /** Delete objects; missing paths are ignored. */
  delete(paths: readonly string[]): Promise<void>;
  /**
   * Only for backends whose `put` writes through temp objects that `list` hides (local disk:
   * `.tmp-*`): those under `prefix`, sorted like `list`, so that vacuum can delete the ones a crashed
   * put left behind (`delete` takes their paths). Backends that leave none omit it.
   */
  listTempFiles?(prefix: string): Promise<ObjectMeta[]>;
  /**
   * Only for backends on the local file system: the absolute file path of an object, for engines
   * that read files themselves (compaction's DuckDB rewrite). Reads through it bypass the backend,
   * so it is for reads only; backends elsewhere omit it.
   */
  localFilePath?(path: string): string;
  /**
   * Only for backends on the local file system: put the object at `path` by moving the finished
   * file `file` there, where `file` is a `.tmp-` name in the directory of `localFilePath(path)`
   * (what an engine that writes files itself, like compaction's DuckDB rewrite, writes into; a
   * crash leaves it to vacuum like any temp file). Same answers and guarantees as `put`: atomic,
   * `ifAbsent` exclusive, durable once `ok`; `file` is gone afterwards either way.
   */
  putLocalFile?(path: string, file: string, options?: PutOptions): Promise<PutResult>;
}
