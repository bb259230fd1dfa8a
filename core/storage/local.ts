/**
 * The local-disk backend of {@linkcode ObjectStorage}: one file per object under a root directory.
 * This is the only module of `core` that touches `Deno.*`.
 *
 * How the contract's guarantees are met:
 *
 * * **atomic visibility** — `put` writes a temp file `.tmp-<uuid>` in the target directory, writes
 *   and fsyncs it, then renames it over the target (plain put) or hard-links it to the target
 *   (put-if-absent), so the target name only ever points at a complete file. A put with
 *   `atomic: false` (a data file no commit names yet) is written in place under its name instead,
 *   created with `O_EXCL` when `ifAbsent`: one directory entry and no temp name, about half the
 *   time of a small put;
 * * **mutual exclusion** — `link(2)` fails with `EEXIST` when the target exists, atomically, even
 *   between processes; the losers get `{ ok: false, reason: "exists" }`;
 * * **durability** — after the rename or link the directory is fsynced (and every ancestor up to the
 *   root when the put created directories). Only an answer that the platform or file system does
 *   not support fsync of a directory (`EINVAL`, `ENOTSUP`, `EISDIR`, ...; Windows, which cannot
 *   open a directory, is skipped) is ignored; any other fsync failure fails the put, whose object
 *   may then be visible but is not known to be durable (an unknown outcome, like a lost answer);
 * * **consistent listing** — `list` walks the directories, so it sees every completed put. Temp
 *   files (`.tmp-*`) are never listed by `list` (only by `listTempFiles`, for vacuum, which
 *   deletes the leftovers of crashed puts); names starting with `.tmp-` cannot be written.
 *
 * Directories are created on demand and never removed: `delete` removes files only.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { mapBounded } from "../concurrency.ts";
import { InvalidArgumentError, LakestrikeError, NotFoundError } from "../errors.ts";
import {
  compareBytewise,
  validateLimit,
  validatePath,
  validatePrefix,
  validateRange,
} from "./path.ts";
import type { ListOptions, ObjectMeta, ObjectStorage, PutOptions, PutResult } from "./storage.ts";

/**
 * Prefix of in-flight temp files: `list` never shows such names; `listTempFiles` lists them, so
 * that vacuum can delete the leftovers of crashed puts (see ADR 0019).
 */
export const TEMP_FILE_PREFIX = ".tmp-";

/** How many files `delete` removes, and `list` stats, at the same time. */
const IO_CONCURRENCY_MAX = 16;

/**
 * Create a storage rooted at the directory `rootDir` (relative paths resolve against the current
 * directory). The directory need not exist: reads see an empty storage and the first put creates it.
 *
 * @example
 * ```ts
 * import { createLocalStorage } from "./local.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   const storage = createLocalStorage(dir);
 *   await storage.put("date=2024-01-01/part 1.parquet", new Uint8Array([1, 2, 3]));
 *   const won = await storage.put("_delta_log/00000000000000000000.json", new Uint8Array([1]), {
 *     ifAbsent: true,
 *   });
 *   const lost = await storage.put("_delta_log/00000000000000000000.json", new Uint8Array([2]), {
 *     ifAbsent: true,
 *   });
 *   if (!won.ok || lost.ok) throw new Error("put-if-absent must let exactly one writer win");
 *   const paths = (await storage.list("")).map((m) => m.path);
 *   if (paths.join() !== "_delta_log/00000000000000000000.json,date=2024-01-01/part 1.parquet") {
 *     throw new Error(`unexpected listing ${paths}`);
 *   }
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function createLocalStorage(rootDir: string): ObjectStorage {
  if (typeof rootDir !== "string" || rootDir === "" || rootDir.includes("\0")) {
    throw new InvalidArgumentError(
      `Cannot open local storage at ${JSON.stringify(rootDir)}: not a directory path`,
    );
  }
  const root = stripTrailingSeparators(isAbsolute(rootDir) ? rootDir : resolve(rootDir));
  const location = pathToFileURL(root).href;
  const full = (path: string) => `${root}/${path}`;

  return {
    location,
    localFilePath(path) {
      validatePath(path);
      return full(path);
    },
    async get(path) {
      validatePath(path);
      try {
        return await Deno.readFile(full(path));
      } catch (e) {
        throw mapError(e, "read", path);
      }
    },
    async getRange(path, offset, length) {
      validatePath(path);
      validateRange(path, offset, length);
      try {
        return await readRange(full(path), offset, length);
      } catch (e) {
        throw mapError(e, "read", path);
      }
    },
    async head(path) {
      validatePath(path);
      try {
        return metaOf(path, await Deno.stat(full(path)));
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw mapError(e, "stat", path);
      }
    },
    async list(prefix: string, options: ListOptions = {}) {
      validatePrefix(prefix);
      const limit = validateLimit(prefix, options.limit);
      return await listFiles(root, prefix, options.startAfter, limit);
    },
    async listTempFiles(prefix: string) {
      validatePrefix(prefix);
      return await listTemps(root, prefix);
    },
    async putLocalFile(path: string, file: string, options: PutOptions = {}) {
      validatePath(path);
      const target = full(path);
      const dir = target.slice(0, target.lastIndexOf("/"));
      const name = file.slice(file.lastIndexOf("/") + 1);
      if (file.slice(0, file.lastIndexOf("/")) !== dir || !name.startsWith(TEMP_FILE_PREFIX)) {
        throw new InvalidArgumentError(
          `Cannot put ${path} from ${file}: the file must be a '${TEMP_FILE_PREFIX}' name in ${dir}`,
        );
      }
      try {
        return await adoptFile(root, dir, file, target, path, options.ifAbsent === true);
      } catch (e) {
        await removeQuietly(file);
        throw mapError(e, "write", path);
      }
    },
    async put(path: string, bytes: Uint8Array, options: PutOptions = {}) {
      validatePath(path);
      const name = path.slice(path.lastIndexOf("/") + 1);
      if (name.startsWith(TEMP_FILE_PREFIX)) {
        throw new InvalidArgumentError(
          `Cannot write ${path}: names starting with '${TEMP_FILE_PREFIX}' are reserved for temp files`,
        );
      }
      try {
        return options.atomic === false
          ? await putInPlace(root, path, bytes, options.ifAbsent === true)
          : await putFile(root, path, bytes, options.ifAbsent === true);
      } catch (e) {
        throw mapError(e, "write", path);
      }
    },
    async delete(paths) {
      for (const path of paths) validatePath(path);
      await mapBounded(paths, IO_CONCURRENCY_MAX, async (path) => {
        try {
          await Deno.remove(full(path));
        } catch (e) {
          // A directory is not an object: deleting its path is a no-op like any missing object.
          if (isMissing(e) || isNonEmptyDirectory(e)) return;
          throw mapError(e, "delete", path);
        }
      });
    },
  };
}

/**
 * Below this size a put's temp file is opened and written synchronously: microseconds on a local
 * disk, where an asynchronous call waits for a thread-pool round trip and the event loop's next
 * turn. The same holds for the in-place create of a small data file. Links, renames and the fsyncs
 * stay asynchronous (fault injection in tests wraps them, and the synchronous open too).
 */
const SYNC_WRITE_BYTES_MAX = 256 * 1024;

/** The directory of `path` under `root`. */
function dirOf(root: string, path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? root : `${root}/${path.slice(0, slash)}`;
}

/** Fsync `dir`, and when the put created directories every ancestor up to `root`. */
async function syncDirs(root: string, dir: string, createdDirs: boolean): Promise<void> {
  await syncDir(dir);
  if (!createdDirs) return;
  // New directories are durable only once their own parents are synced.
  for (let d = dir; d.length > root.length;) {
    d = d.slice(0, d.lastIndexOf("/"));
    await syncDir(d);
  }
}

/**
 * A put without atomic visibility (`atomic: false`): the file is created under its own name
 * (`O_EXCL` when `ifAbsent`), written, fsynced, and its directory fsynced. A failure after the
 * create removes the file, which this put created and so owns.
 */
async function putInPlace(
  root: string,
  path: string,
  bytes: Uint8Array,
  ifAbsent: boolean,
): Promise<PutResult> {
  const dir = dirOf(root, path);
  const target = `${root}/${path}`;
  const options: Deno.OpenOptions = ifAbsent
    ? { write: true, createNew: true }
    : { write: true, create: true, truncate: true };
  let createdDirs = false;
  let file: Deno.FsFile;
  for (let attempt = 1;; attempt++) {
    try {
      // The create is this put's commit point: synchronous for a small file, like a temp file's
      // (an asynchronous open waits for a thread-pool round trip and the event loop's next turn,
      // 1.7 ms of a 100-row batch's 10 ms in the runner on a busy machine).
      file = await openFile(target, options, bytes.length);
      break;
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists && ifAbsent) {
        return await lostToExisting(target, path);
      }
      // A concurrent `delete` of the directory's own path may remove it while empty: retry.
      if (!(e instanceof Deno.errors.NotFound) || attempt > 3) throw e;
      await Deno.mkdir(dir, { recursive: true });
      createdDirs = true;
    }
  }
  try {
    await writeAll(file, bytes);
    // The file's bytes and its directory entry must both be durable before the put answers, in
    // no order between them: the two fsyncs run together (one wait instead of two).
    const [content, entry] = await Promise.allSettled([
      file.sync(),
      syncDirs(root, dir, createdDirs),
    ]);
    if (content.status === "rejected") throw content.reason;
    if (entry.status === "rejected") throw entry.reason;
  } catch (e) {
    file.close();
    await removeQuietly(target);
    throw e;
  }
  file.close();
  return { ok: true };
}

/**
 * `putLocalFile`: fsync the finished temp `file`, link it to `target` (put-if-absent) or rename it
 * there, remove the temp name, and fsync the directories up to the root (the engine may have
 * created them).
 */
async function adoptFile(
  root: string,
  dir: string,
  file: string,
  target: string,
  path: string,
  ifAbsent: boolean,
): Promise<PutResult> {
  const handle = await Deno.open(file, { read: true, write: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
  let result: PutResult = { ok: true };
  if (ifAbsent) {
    try {
      result = await linkIfAbsent(file, target, path);
    } finally {
      await removeQuietly(file);
    }
  } else {
    await Deno.rename(file, target);
  }
  if (result.ok) await syncDirs(root, dir, dir !== root);
  return result;
}

/** Open `path`: synchronously for a small write (see {@linkcode SYNC_WRITE_BYTES_MAX}). */
async function openFile(
  path: string,
  options: Deno.OpenOptions,
  bytes: number,
): Promise<Deno.FsFile> {
  return bytes <= SYNC_WRITE_BYTES_MAX
    ? Deno.openSync(path, options)
    : await Deno.open(path, options);
}

async function putFile(
  root: string,
  path: string,
  bytes: Uint8Array,
  ifAbsent: boolean,
): Promise<PutResult> {
  const dir = dirOf(root, path);
  const target = `${root}/${path}`;
  const temp = `${dir}/${TEMP_FILE_PREFIX}${crypto.randomUUID()}`;
  const createdDirs = await createTempFile(temp, dir, bytes);
  let result: PutResult = { ok: true };
  let renamed = false;
  try {
    if (ifAbsent) {
      result = await linkIfAbsent(temp, target, path);
    } else {
      await Deno.rename(temp, target);
      renamed = true;
    }
  } catch (e) {
    await removeQuietly(temp);
    throw e;
  }
  // After a link or a lost race the temp name must not stay behind; its removal need not be
  // durable (a temp name left by a crash is swept), so it runs alongside the directory's fsync.
  await Promise.all([
    renamed ? undefined : removeQuietly(temp),
    result.ok ? syncDirs(root, dir, createdDirs) : undefined,
  ]);
  return result;
}

/**
 * Create `temp` holding `bytes`, fsynced. Creates `dir` when missing (and then returns true). Retries
 * a few times because a concurrent `delete` of the directory's own path may remove it while empty.
 */
async function createTempFile(temp: string, dir: string, bytes: Uint8Array): Promise<boolean> {
  let createdDirs = false;
  for (let attempt = 1;; attempt++) {
    let file: Deno.FsFile;
    try {
      file = await openFile(temp, { write: true, createNew: true }, bytes.length);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || attempt > 3) throw e;
      await Deno.mkdir(dir, { recursive: true });
      createdDirs = true;
      continue;
    }
    try {
      await writeAll(file, bytes);
      await file.sync();
    } catch (e) {
      file.close();
      await removeQuietly(temp);
      throw e;
    }
    file.close();
    return createdDirs;
  }
}

async function linkIfAbsent(temp: string, target: string, path: string): Promise<PutResult> {
  try {
    await Deno.link(temp, target);
    return { ok: true };
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    return await lostToExisting(target, path);
  }
}

/**
 * The answer of a put-if-absent whose create or link met an existing `target`: a lost race, unless
 * a directory sits there (never an object: an error).
 */
async function lostToExisting(target: string, path: string): Promise<PutResult> {
  const existing = await Deno.lstat(target).catch(() => undefined);
  if (existing?.isDirectory === true) {
    throw new LakestrikeError("STORAGE", `Cannot write ${path}: a directory exists at that path`);
  }
  return { ok: false, reason: "exists" };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  if (bytes.length <= SYNC_WRITE_BYTES_MAX) {
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    return;
  }
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
}

async function readRange(file: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await Deno.open(file, { read: true });
  try {
    const { size, isFile } = await handle.stat();
    if (!isFile) throw new Deno.errors.IsADirectory(file);
    const end = Math.min(size, offset + length);
    const out = new Uint8Array(Math.max(0, end - offset));
    if (out.length === 0) return out;
    await handle.seek(offset, Deno.SeekMode.Start);
    let read = 0;
    while (read < out.length) {
      const n = await handle.read(out.subarray(read));
      if (n === null) break;
      read += n;
    }
    return read === out.length ? out : out.slice(0, read);
  } finally {
    handle.close();
  }
}

/**
 * Fsync a directory so a rename or link in it survives a crash. Skipped on Windows (a directory
 * cannot be opened as a file there); an error saying fsync of a directory is not supported is
 * ignored (see {@linkcode isSyncUnsupported}); any other error is thrown.
 */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let handle: Deno.FsFile;
  try {
    // Opening a directory is a lookup: synchronous, like a small put's other metadata calls.
    handle = Deno.openSync(dir, { read: true });
  } catch (e) {
    if (isSyncUnsupported(e)) return;
    throw syncError(dir, e);
  }
  try {
    await handle.sync();
  } catch (e) {
    if (!isSyncUnsupported(e)) throw syncError(dir, e);
  } finally {
    handle.close();
  }
}

// errno names of "this file system cannot fsync a directory" (Linux, macOS and the BSDs answer
// EINVAL for file systems without it; FUSE and network file systems may answer ENOTSUP/ENOSYS).
// Deno reports them as `TypeError` (EINVAL), `NotSupported` or `IsADirectory`, each with `code`.
const SYNC_UNSUPPORTED_CODES: ReadonlySet<string> = new Set([
  "EINVAL",
  "ENOTSUP",
  "EOPNOTSUPP",
  "ENOSYS",
  "EISDIR",
]);

/**
 * True when `e` says fsync of a directory is not supported here, which nothing can improve; every
 * other error (EIO, ENOSPC, EACCES, EMFILE, ...) may mean the rename is not durable.
 *
 * @example
 * ```ts
 * import { isSyncUnsupported } from "./local.ts";
 * const einval = Object.assign(new TypeError("Invalid argument (os error 22)"), { code: "EINVAL" });
 * const eio = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
 * if (!isSyncUnsupported(einval) || isSyncUnsupported(eio)) throw new Error("misclassified");
 * ```
 */
export function isSyncUnsupported(e: unknown): boolean {
  if (e instanceof Deno.errors.NotSupported || e instanceof Deno.errors.IsADirectory) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && SYNC_UNSUPPORTED_CODES.has(code);
}

function syncError(dir: string, cause: unknown): LakestrikeError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new LakestrikeError(
    "STORAGE",
    `Cannot fsync directory ${dir}: ${why}; the object may be visible but is not known to be durable`,
    { cause },
  );
}

async function removeQuietly(file: string): Promise<void> {
  try {
    await Deno.remove(file);
  } catch {
    // Best effort: a leftover `.tmp-` file is hidden from `list`; vacuum deletes it (ADR 0019);
    // a partly written in-place file is an unreferenced file, which vacuum deletes too.
  }
}

function metaOf(path: string, info: Deno.FileInfo): ObjectMeta | undefined {
  if (!info.isFile) return undefined;
  return { path, size: info.size, lastModifiedMs: info.mtime?.getTime() ?? 0 };
}

interface Entry {
  /** Name, with a trailing `/` for a directory so that sorting keys sorts full paths. */
  key: string;
  isDirectory: boolean;
}

/**
 * List files under `prefix` in byte order. The walk starts at the deepest directory that contains
 * the prefix and visits each directory's entries sorted by `name` (files) or `name/` (directories),
 * which yields full paths in byte order, so `startAfter` and `limit` can prune the walk.
 */
async function listFiles(
  root: string,
  prefix: string,
  startAfter: string | undefined,
  limit: number,
): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  if (limit === 0) return out;
  const slash = prefix.lastIndexOf("/");
  const startDir = slash < 0 ? "" : prefix.slice(0, slash + 1); // "" or "a/b/"
  const namePrefix = prefix.slice(slash + 1);
  let batch: string[] = [];

  const flush = async () => {
    const metas = await mapBounded(batch, IO_CONCURRENCY_MAX, async (path) => {
      try {
        return metaOf(path, await Deno.stat(`${root}/${path}`));
      } catch (e) {
        if (isMissing(e)) return undefined; // deleted while listing
        throw mapError(e, "list", path);
      }
    });
    batch = [];
    for (const meta of metas) if (meta !== undefined && out.length < limit) out.push(meta);
  };

  // Depth-first walk; returns true once `limit` objects were found.
  const walk = async (dir: string, filter: string): Promise<boolean> => {
    const entries = await readEntries(root, dir, prefix);
    const keys = entries
      .filter((e) => e.key.startsWith(filter))
      .sort((a, b) => compareBytewise(a.key, b.key));
    for (const entry of keys) {
      const path = dir + entry.key;
      if (entry.isDirectory) {
        // Skip a subtree whose every path is <= startAfter.
        if (
          startAfter !== undefined && !startAfter.startsWith(path) &&
          compareBytewise(path, startAfter) < 0
        ) continue;
        if (await walk(path, "")) return true;
      } else {
        if (startAfter !== undefined && compareBytewise(path, startAfter) <= 0) continue;
        batch.push(path);
        if (out.length + batch.length >= limit || batch.length >= IO_CONCURRENCY_MAX * 4) {
          await flush();
          if (out.length >= limit) return true;
        }
      }
    }
    return false;
  };

  await walk(startDir, namePrefix);
  if (batch.length > 0) await flush();
  return out;
}

/**
 * The `.tmp-*` files under `prefix` (left by puts that crashed, or in flight right now), in byte
 * order. Walks like {@linkcode listFiles} (symlinks are not followed) but keeps only temp names.
 */
async function listTemps(root: string, prefix: string): Promise<ObjectMeta[]> {
  const slash = prefix.lastIndexOf("/");
  const paths: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir === "" ? root : `${root}/${dir}`));
    } catch (e) {
      if (isMissing(e)) return;
      throw mapError(e, "list", prefix);
    }
    for (const entry of entries) {
      const path = dir + entry.name;
      if (entry.isDirectory && !entry.name.startsWith(TEMP_FILE_PREFIX)) {
        const sub = `${path}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(sub);
      } else if (
        entry.isFile && entry.name.startsWith(TEMP_FILE_PREFIX) && path.startsWith(prefix)
      ) {
        paths.push(path);
      }
    }
  };
  await walk(slash < 0 ? "" : prefix.slice(0, slash + 1));
  paths.sort(compareBytewise);
  const metas = await mapBounded(paths, IO_CONCURRENCY_MAX, async (path) => {
    try {
      return metaOf(path, await Deno.lstat(`${root}/${path}`));
    } catch (e) {
      if (isMissing(e)) return undefined; // its put finished or failed meanwhile
      throw mapError(e, "list", path);
    }
  });
  return metas.filter((m): m is ObjectMeta => m !== undefined);
}

async function readEntries(root: string, dir: string, prefix: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  try {
    for await (const entry of Deno.readDir(dir === "" ? root : `${root}/${dir}`)) {
      if (entry.name.startsWith(TEMP_FILE_PREFIX)) continue;
      let isDirectory = entry.isDirectory;
      let isFile = entry.isFile;
      if (entry.isSymlink) {
        // Follow links to files; links to directories are not walked (they could form cycles).
        const info = await Deno.stat(`${root}/${dir}${entry.name}`).catch(() => undefined);
        isFile = info?.isFile === true;
        isDirectory = false;
      }
      if (isDirectory) entries.push({ key: `${entry.name}/`, isDirectory: true });
      else if (isFile) entries.push({ key: entry.name, isDirectory: false });
    }
  } catch (e) {
    if (isMissing(e)) return []; // a missing directory lists as empty
    throw mapError(e, "list", prefix);
  }
  return entries;
}

function isMissing(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

function isNonEmptyDirectory(e: unknown): boolean {
  return e instanceof Error && ((e as { code?: unknown }).code === "ENOTEMPTY" ||
    /directory not empty/i.test(e.message));
}

function mapError(e: unknown, verb: string, path: string): Error {
  if (e instanceof LakestrikeError) return e;
  if (verb === "read" && (isMissing(e) || e instanceof Deno.errors.IsADirectory)) {
    return new NotFoundError(path);
  }
  const why = e instanceof Error ? e.message : String(e);
  return new LakestrikeError("STORAGE", `Cannot ${verb} ${path}: ${why}`, { cause: e });
}

function stripTrailingSeparators(dir: string): string {
  let end = dir.length;
  while (end > 1 && (dir[end - 1] === "/" || dir[end - 1] === "\\")) end--;
  return dir.slice(0, end);
}
