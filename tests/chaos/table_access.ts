/**
 * Read-only access to a table root for the chaos checker: list and get, nothing else.
 *
 * This module is part of the chaos harness's own reader, which must not share code with the
 * writer path: it imports nothing from `core/`, `plugins/`, `batch/` or `edge/`. The local backend
 * uses `Deno` file APIs directly and the S3 backend uses `@aws-sdk/client-s3` directly, so a bug in
 * `core/storage` (a listing that hides an object, a path that is encoded twice) cannot hide itself
 * from the checker.
 *
 * The contract, in "must" sentences:
 *
 * * paths are relative to the table root, `/`-separated, never start with `/`;
 * * `list(prefix)` must return every object whose path starts with `prefix` (any depth), sorted by
 *   the UTF-8 byte order of the paths, each once; an empty prefix lists the whole root;
 * * `get(path)` must return the whole object, or `undefined` when it does not exist (including when
 *   it vanished after a listing named it); every other failure throws.
 *
 * @module
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

/** One object of a table root, as {@linkcode TableAccess.list} returns it. */
export interface TableObject {
  /** Path relative to the table root. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Last modification time in epoch milliseconds. */
  lastModifiedMs: number;
}

/** Read-only access to a table root (see the module documentation for the contract). */
export interface TableAccess {
  /** Every object whose path starts with `prefix`, sorted by UTF-8 byte order of the path. */
  list(prefix: string): Promise<TableObject[]>;
  /** The whole object at `path`, or `undefined` when there is none. */
  get(path: string): Promise<Uint8Array | undefined>;
  /**
   * The table root as a URI (`file:///abs/dir`, `s3://bucket/prefix`), used to resolve absolute
   * paths in the log; absent: absolute paths are refused.
   */
  readonly location?: string;
}

/** A {@linkcode TableAccess} that holds a client to release. */
export interface ClosableTableAccess extends TableAccess {
  /** Release the client's connections. */
  close(): void;
}

/** Objects listed at most by one `list` call (a limit on everything). */
export const LIST_OBJECTS_MAX = 10_000_000;

/**
 * Compare two strings by the UTF-8 byte order of their encodings (which is code point order);
 * JavaScript's `<` compares UTF-16 code units, which differs above U+FFFF.
 *
 * @example
 * ```ts
 * import { compareUtf8 } from "./table_access.ts";
 * if (compareUtf8("\uFF5E", "\u{1F600}") >= 0) throw new Error("not code point order");
 * if (compareUtf8("a", "ab") >= 0 || compareUtf8("b", "b") !== 0) throw new Error("bad order");
 * ```
 */
export function compareUtf8(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j);
}

/** Refuse a path that could leave the root. */
function checkRelativePath(path: string, what: string): void {
  if (path.startsWith("/") || path.split("/").some((s) => s === "." || s === "..")) {
    throw new Error(
      `Cannot ${what} ${JSON.stringify(path)}: not a path relative to the table root`,
    );
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound ||
    (e instanceof Error && (e as { code?: string }).code === "ENOENT");
}

/**
 * Access to a table root on local disk (`dir` holds `_delta_log/`). Objects are the regular files
 * under `dir`; a file that disappears while it is listed is left out.
 *
 * @param dir the table root directory (absolute or relative to the working directory)
 *
 * @example
 * ```ts
 * import { localTableAccess } from "./table_access.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   await Deno.mkdir(`${dir}/_delta_log`);
 *   await Deno.writeTextFile(`${dir}/_delta_log/00000000000000000000.json`, "{}\n");
 *   const access = localTableAccess(dir);
 *   const listed = await access.list("_delta_log/");
 *   if (listed.length !== 1 || listed[0]!.size !== 3) throw new Error("bad listing");
 *   if (await access.get("missing.parquet") !== undefined) throw new Error("must be undefined");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function localTableAccess(dir: string): TableAccess {
  const root = dir.replace(/\/+$/, "");
  const absolute = root.startsWith("/") ? root : `${Deno.cwd()}/${root}`;
  return {
    location: `file://${absolute.split("/").map(encodeURIComponent).join("/")}`,
    async list(prefix: string): Promise<TableObject[]> {
      checkRelativePath(prefix, "list");
      const slash = prefix.lastIndexOf("/");
      const start = slash < 0 ? "" : prefix.slice(0, slash);
      const out: TableObject[] = [];
      const walk = async (relDir: string): Promise<void> => {
        const entries: Deno.DirEntry[] = [];
        try {
          for await (const e of Deno.readDir(relDir === "" ? root : `${root}/${relDir}`)) {
            entries.push(e);
          }
        } catch (e) {
          if (isNotFound(e)) return;
          throw e;
        }
        for (const e of entries) {
          const rel = relDir === "" ? e.name : `${relDir}/${e.name}`;
          if (e.isDirectory) {
            // Only descend where objects with the prefix can be.
            if (prefix.startsWith(`${rel}/`) || rel.startsWith(prefix)) await walk(rel);
            continue;
          }
          if (!rel.startsWith(prefix)) continue;
          let info: Deno.FileInfo;
          try {
            info = await Deno.stat(`${root}/${rel}`);
          } catch (err) {
            if (isNotFound(err)) continue;
            throw err;
          }
          if (!info.isFile) continue;
          if (out.length >= LIST_OBJECTS_MAX) {
            throw new Error(`Cannot list ${root}: more than ${LIST_OBJECTS_MAX} objects`);
          }
          out.push({ path: rel, size: info.size, lastModifiedMs: info.mtime?.getTime() ?? 0 });
        }
      };
      await walk(start);
      return out.sort((a, b) => compareUtf8(a.path, b.path));
    },
    async get(path: string): Promise<Uint8Array | undefined> {
      checkRelativePath(path, "read");
      try {
        return await Deno.readFile(`${root}/${path}`);
      } catch (e) {
        if (isNotFound(e) || e instanceof Deno.errors.IsADirectory) return undefined;
        throw e;
      }
    },
  };
}

/** Options of {@linkcode s3TableAccess}. */
export interface S3TableAccessOptions {
  /** Endpoint URL (e.g. the moto server); default the SDK's (`AWS_ENDPOINT_URL_S3`, AWS). */
  endpoint?: string;
  /** The bucket. */
  bucket: string;
  /** Key prefix of the table root inside the bucket (no leading `/`); default the bucket root. */
  prefix?: string;
  /** Region; default `AWS_REGION`, else `us-east-1`. */
  region?: string;
  /** Credentials; default the SDK's chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Access to a table root in S3 at `s3://bucket/prefix`, path-style, with the given credentials or
 * the SDK's default chain (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` in the tests). SDK retries
 * stay on: the checker reads, so a retried read is harmless.
 *
 * @example
 * ```ts ignore
 * import { s3TableAccess } from "./table_access.ts";
 * const access = s3TableAccess({ endpoint: "http://127.0.0.1:5000", bucket: "b", prefix: "events" });
 * console.log(await access.list("_delta_log/"));
 * access.close();
 * ```
 */
export function s3TableAccess(options: S3TableAccessOptions): ClosableTableAccess {
  const keyPrefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const base = keyPrefix === "" ? "" : `${keyPrefix}/`;
  const client = new S3Client({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    region: options.region ?? Deno.env.get("AWS_REGION") ?? "us-east-1",
    forcePathStyle: true,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  return {
    location: `s3://${options.bucket}${keyPrefix === "" ? "" : `/${keyPrefix}`}`,
    async list(prefix: string): Promise<TableObject[]> {
      checkRelativePath(prefix, "list");
      const out: TableObject[] = [];
      let token: string | undefined;
      do {
        const res = await client.send(
          new ListObjectsV2Command({
            Bucket: options.bucket,
            Prefix: base + prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const o of res.Contents ?? []) {
          if (o.Key === undefined || !o.Key.startsWith(base)) continue;
          if (out.length >= LIST_OBJECTS_MAX) {
            throw new Error(`Cannot list s3://${options.bucket}/${base}: too many objects`);
          }
          out.push({
            path: o.Key.slice(base.length),
            size: o.Size ?? 0,
            lastModifiedMs: o.LastModified?.getTime() ?? 0,
          });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
      return out.sort((a, b) => compareUtf8(a.path, b.path));
    },
    async get(path: string): Promise<Uint8Array | undefined> {
      checkRelativePath(path, "read");
      try {
        const res = await client.send(
          new GetObjectCommand({ Bucket: options.bucket, Key: base + path }),
        );
        if (res.Body === undefined) return new Uint8Array(0);
        return await res.Body.transformToByteArray();
      } catch (e) {
        const name = (e as { name?: string }).name;
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        if (name === "NoSuchKey" || name === "NotFound" || status === 404) return undefined;
        throw e;
      }
    },
    close(): void {
      client.destroy();
    },
  };
}
