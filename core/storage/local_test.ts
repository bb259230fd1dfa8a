import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InvalidArgumentError, isLakestrikeError, NotFoundError } from "../errors.ts";
import { describeStorageContract } from "./contract.ts";
import { createLocalStorage, TEMP_FILE_PREFIX } from "./local.ts";
import type { PutResult } from "./storage.ts";

describeStorageContract("local", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-storage-" });
  return {
    // A root that does not exist yet: the first put must create it.
    storage: createLocalStorage(`${dir}/root`),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-local-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every file name under `dir`, recursively, as relative paths. */
async function walkNames(dir: string, rel = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(rel === "" ? dir : `${dir}/${rel}`)) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory) names.push(...await walkNames(dir, path));
    else names.push(path);
  }
  return names.sort();
}

function tempFiles(names: string[]): string[] {
  return names.filter((n) => n.split("/").some((s) => s.startsWith(TEMP_FILE_PREFIX)));
}

Deno.test("local: objects are plain files under the root; location is a file URL", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(`${dir}/`);
    assert.equal(storage.location, pathToFileURL(dir).href);
    await storage.put("date=2024-01-01/part 1.parquet", text("data"));
    assert.equal(decode(await Deno.readFile(`${dir}/date=2024-01-01/part 1.parquet`)), "data");
    await Deno.writeFile(`${dir}/written-by-someone-else.json`, text("{}"));
    assert.equal(decode(await storage.get("written-by-someone-else.json")), "{}");
  });
});

Deno.test("local: no temp files remain after successful, overwriting and lost puts", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    await storage.put("a/b/c.parquet", text("1"));
    await storage.put("a/b/c.parquet", text("2"));
    await storage.put("top", text("3"), { ifAbsent: true });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        storage.put("_delta_log/0.json", text(`${i}`), {
          ifAbsent: true,
        })),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.deepEqual(await walkNames(dir), ["_delta_log/0.json", "a/b/c.parquet", "top"]);
  });
});

Deno.test("local: a failed put leaves no temp file and reports a STORAGE error", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    await storage.put("dir/inner", text("x"));
    // "dir" is a directory: a plain put cannot rename over it.
    await assert.rejects(storage.put("dir", text("y")), (e: unknown) => {
      assert.ok(isLakestrikeError(e, "STORAGE"));
      assert.match(e.message, /^Cannot write dir: /);
      return true;
    });
    await assert.rejects(storage.put("dir", text("y"), { ifAbsent: true }), (e: unknown) => {
      assert.ok(isLakestrikeError(e, "STORAGE"));
      assert.equal(e.message, "Cannot write dir: a directory exists at that path");
      return true;
    });
    // "dir/inner" is a file: nothing can be written below it.
    await assert.rejects(storage.put("dir/inner/deeper", text("z")), (e: unknown) => {
      assert.ok(isLakestrikeError(e, "STORAGE"));
      assert.match(e.message, /^Cannot write dir\/inner\/deeper: /);
      return true;
    });
    assert.deepEqual(tempFiles(await walkNames(dir)), []);
    assert.deepEqual(await walkNames(dir), ["dir/inner"]);
  });
});

Deno.test("local: temp files of crashed writers are not listed, and their names are reserved", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    await storage.put("_delta_log/00000000000000000000.json", text("{}"));
    await Deno.writeFile(`${dir}/_delta_log/${TEMP_FILE_PREFIX}crashed`, text("partial"));
    await Deno.mkdir(`${dir}/${TEMP_FILE_PREFIX}dir`);
    await Deno.writeFile(`${dir}/${TEMP_FILE_PREFIX}dir/x`, text("partial"));
    assert.deepEqual((await storage.list("")).map((m) => m.path), [
      "_delta_log/00000000000000000000.json",
    ]);
    assert.deepEqual((await storage.list("_delta_log/.tmp")).map((m) => m.path), []);
    await assert.rejects(storage.put(`a/${TEMP_FILE_PREFIX}x`, text("x")), InvalidArgumentError);
  });
});

Deno.test("local: listTempFiles lists the temp files list hides, by prefix, in byte order", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    await storage.put("_delta_log/00000000000000000000.json", text("{}"));
    await storage.put("date=1/part-0.parquet", text("data"));
    await Deno.writeFile(`${dir}/_delta_log/${TEMP_FILE_PREFIX}b`, text("partial"));
    await Deno.writeFile(`${dir}/date=1/${TEMP_FILE_PREFIX}a`, text("xy"));
    await Deno.writeFile(`${dir}/${TEMP_FILE_PREFIX}top`, text("x"));
    await Deno.mkdir(`${dir}/${TEMP_FILE_PREFIX}dir`);
    await Deno.writeFile(`${dir}/${TEMP_FILE_PREFIX}dir/${TEMP_FILE_PREFIX}c`, text("x"));
    const all = await storage.listTempFiles!("");
    assert.deepEqual(all.map((m) => [m.path, m.size]), [
      [`${TEMP_FILE_PREFIX}top`, 1],
      [`_delta_log/${TEMP_FILE_PREFIX}b`, 7],
      [`date=1/${TEMP_FILE_PREFIX}a`, 2],
    ]);
    assert.ok(all.every((m) => m.lastModifiedMs > 0));
    assert.deepEqual((await storage.listTempFiles!("date=")).map((m) => m.path), [
      `date=1/${TEMP_FILE_PREFIX}a`,
    ]);
    assert.deepEqual(await storage.listTempFiles!("nothing/"), []);
    // Vacuum deletes them through the ordinary delete.
    await storage.delete([`date=1/${TEMP_FILE_PREFIX}a`]);
    assert.equal((await storage.listTempFiles!("date=")).length, 0);
    assert.deepEqual((await storage.list("date=")).map((m) => m.path), ["date=1/part-0.parquet"]);
  });
});

/** Run `fn` while fsync of a directory handle throws `error` (file handles sync as usual). */
async function withFailingDirSync(error: Error, fn: () => Promise<void>): Promise<number> {
  const original = Deno.FsFile.prototype.sync;
  let failed = 0;
  Deno.FsFile.prototype.sync = async function (this: Deno.FsFile) {
    if ((await this.stat()).isDirectory) {
      failed++;
      throw error;
    }
    return await original.call(this);
  };
  try {
    await fn();
  } finally {
    Deno.FsFile.prototype.sync = original;
  }
  return failed;
}

Deno.test("local: a failing fsync of the directory fails the put", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    const eio = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
    const failed = await withFailingDirSync(eio, async () => {
      for (const ifAbsent of [false, true]) {
        await assert.rejects(
          storage.put(`d/x-${ifAbsent}.json`, text("x"), { ifAbsent }),
          (e) => isLakestrikeError(e, "STORAGE") && /fsync/.test(e.message),
        );
      }
    });
    assert.ok(failed >= 2);
    assert.deepEqual(tempFiles(await walkNames(dir)), []);
  });
});

Deno.test("local: fsync of a directory the file system does not support is skipped", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    const unsupported = [
      Object.assign(new TypeError("Invalid argument (os error 22)"), { code: "EINVAL" }),
      Object.assign(new Deno.errors.NotSupported("Operation not supported (os error 95)"), {
        code: "ENOTSUP",
      }),
    ];
    for (const [i, error] of unsupported.entries()) {
      const failed = await withFailingDirSync(error, async () => {
        assert.deepEqual(await storage.put(`d${i}/x.json`, text("x"), { ifAbsent: true }), {
          ok: true,
        });
      });
      assert.ok(failed >= 1, "the directory fsync was attempted");
      assert.equal(decode(await storage.get(`d${i}/x.json`)), "x");
    }
  });
});

Deno.test("local: a missing root reads as empty", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(`${dir}/not/yet`);
    assert.deepEqual(await storage.list(""), []);
    assert.equal(await storage.head("x"), undefined);
    await assert.rejects(storage.get("x"), NotFoundError);
    await storage.delete(["x"]);
  });
});

Deno.test("local: symlinks to files are listed, symlinks to directories are not walked", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(`${dir}/root`);
    await storage.put("real/file", text("1"));
    await Deno.symlink(`${dir}/root/real/file`, `${dir}/root/link-to-file`);
    await Deno.symlink(`${dir}/root`, `${dir}/root/loop`);
    assert.deepEqual((await storage.list("")).map((m) => m.path), ["link-to-file", "real/file"]);
  });
});

Deno.test("local: delete of a directory path is a no-op", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    await storage.put("p/q", text("1"));
    await storage.delete(["p"]);
    assert.deepEqual((await storage.list("")).map((m) => m.path), ["p/q"]);
  });
});

Deno.test("local: list pages through a large directory", async () => {
  await withTempDir(async (dir) => {
    const storage = createLocalStorage(dir);
    const paths = Array.from({ length: 300 }, (_, i) => `log/${String(i).padStart(20, "0")}.json`);
    await Promise.all(paths.map((p) =>
      Deno.mkdir(`${dir}/log`, { recursive: true })
        .then(() => Deno.writeFile(`${dir}/${p}`, text(p)))
    ));
    assert.deepEqual((await storage.list("log/")).map((m) => m.path), paths);
    const page = await storage.list("log/", { startAfter: paths[199] as string, limit: 70 });
    assert.deepEqual(page.map((m) => m.path), paths.slice(200, 270));
    assert.ok(page.every((m) => m.size === 29 && m.lastModifiedMs > 0));
  });
});

Deno.test("local: put-if-absent from 4 separate OS processes lets exactly one win", async () => {
  await withTempDir(async (dir) => {
    const child = new URL("./testdata/put_if_absent_child.ts", import.meta.url);
    const path = "_delta_log/00000000000000000007.json";
    const processes = Array.from({ length: 4 }, (_, i) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", fileURLToPath(child), dir, path, `writer-${i}`],
        env: { NO_COLOR: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn());
    const decoder = new TextDecoder();
    const readers = processes.map((p) => p.stdout.getReader());
    const readLine = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += decoder.decode(value, { stream: true });
      }
      return line;
    };
    // Barrier: every child is ready before any of them writes.
    for (const reader of readers) assert.equal(await readLine(reader), "ready\n");
    for (const p of processes) {
      const writer = p.stdin.getWriter();
      await writer.write(text("go\n"));
      await writer.close();
    }
    const outcomes: { writerId: string; result: PutResult }[] = [];
    for (const reader of readers) outcomes.push(JSON.parse(await readLine(reader)));
    for (const reader of readers) {
      while (!(await reader.read()).done) { /* drain */ }
    }
    const statuses = await Promise.all(processes.map((p) => p.status));
    assert.ok(statuses.every((s) => s.success));
    const winners = outcomes.filter((o) => o.result.ok);
    assert.equal(winners.length, 1, JSON.stringify(outcomes));
    for (const o of outcomes) if (!o.result.ok) assert.equal(o.result.reason, "exists");
    const storage = createLocalStorage(dir);
    assert.equal(decode(await storage.get(path)), winners[0]?.writerId);
    assert.deepEqual(await walkNames(dir), [path]);
  });
});

Deno.test("local: putLocalFile moves a temp file of the target's directory into place, once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = createLocalStorage(dir);
    await Deno.mkdir(`${dir}/p=1`);
    const temp = (name: string, text: string) => {
      const file = `${dir}/p=1/${TEMP_FILE_PREFIX}${name}`;
      Deno.writeTextFileSync(file, text);
      return file;
    };
    const first = temp("a", "first");
    assert.deepEqual(await storage.putLocalFile!("p=1/x.parquet", first, { ifAbsent: true }), {
      ok: true,
    });
    const second = temp("b", "second");
    assert.deepEqual(await storage.putLocalFile!("p=1/x.parquet", second, { ifAbsent: true }), {
      ok: false,
      reason: "exists",
    });
    assert.equal(new TextDecoder().decode(await storage.get("p=1/x.parquet")), "first");
    // Without ifAbsent it replaces; the temp names are gone either way.
    await storage.putLocalFile!("p=1/x.parquet", temp("c", "third"));
    assert.equal(new TextDecoder().decode(await storage.get("p=1/x.parquet")), "third");
    assert.deepEqual(await storage.listTempFiles!(""), []);
    // A file elsewhere, or not under a temp name, is refused and nothing is written.
    const outside = `${dir}/${TEMP_FILE_PREFIX}d`;
    Deno.writeTextFileSync(outside, "x");
    await assert.rejects(storage.putLocalFile!("p=1/y.parquet", outside), InvalidArgumentError);
    Deno.writeTextFileSync(`${dir}/p=1/plain`, "x");
    await assert.rejects(
      storage.putLocalFile!("p=1/y.parquet", `${dir}/p=1/plain`),
      InvalidArgumentError,
    );
    assert.equal(await storage.head("p=1/y.parquet"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
