/**
 * Test support for S3: the moto endpoint from the environment, fresh buckets, and a fault-injecting
 * HTTP proxy in front of moto. Meant for tests only; tests that import it fail (never skip) when
 * `LAKESTRIKE_TEST_S3_ENDPOINT` is missing.
 *
 * @module
 */

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";

/**
 * The moto endpoint given by `tests/run.ts`; throws with a clear message when it is missing.
 *
 * @example
 * ```ts ignore
 * import { testS3Endpoint } from "./s3_test_support.ts";
 * console.log(testS3Endpoint()); // http://127.0.0.1:45123
 * ```
 */
export function testS3Endpoint(): string {
  const endpoint = Deno.env.get("LAKESTRIKE_TEST_S3_ENDPOINT");
  if (endpoint === undefined || endpoint === "") {
    throw new Error(
      "LAKESTRIKE_TEST_S3_ENDPOINT is not set: run S3 tests through `deno task test` " +
        "(tests/run.ts), which starts moto_server and sets it",
    );
  }
  return endpoint;
}

/**
 * A client of the test S3 endpoint (path style, dummy credentials, SDK retries off).
 *
 * @example
 * ```ts ignore
 * import { testS3Client } from "./s3_test_support.ts";
 * const client = testS3Client();
 * ```
 */
export function testS3Client(endpoint = testS3Endpoint()): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

let bucketCounter = 0;

/**
 * Create a fresh, empty bucket and return its name and a cleanup that empties and removes it.
 *
 * @example
 * ```ts ignore
 * import { createTestBucket } from "./s3_test_support.ts";
 * const { bucket, cleanup } = await createTestBucket();
 * await cleanup();
 * ```
 */
export async function createTestBucket(): Promise<{ bucket: string; cleanup(): Promise<void> }> {
  const client = testS3Client();
  const bucket = `lakestrike-${crypto.randomUUID().slice(0, 8)}-${++bucketCounter}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    async cleanup() {
      for (;;) {
        const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (res.Contents ?? []).flatMap((o) => o.Key === undefined ? [] : [o.Key]);
        if (keys.length === 0) break;
        await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      }
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
  };
}

/** A local HTTP proxy to an S3 endpoint that can answer chosen requests with an injected error. */
export interface FaultyProxy {
  /** Base URL of the proxy. */
  endpoint: string;
  /** Requests seen, in order, as `METHOD path?query`. */
  readonly requests: string[];
  /**
   * Decide per request: return a status (and S3 error code) to answer with instead of forwarding,
   * or `undefined` to forward. Replaceable at any time.
   */
  fault: (request: Request, index: number) => { status: number; code: string } | undefined;
  /** Stop the proxy. */
  close(): Promise<void>;
}

/**
 * Start a proxy on a free loopback port that forwards to `target` unless `fault` says otherwise.
 *
 * @example
 * ```ts ignore
 * import { startFaultyProxy, testS3Endpoint } from "./s3_test_support.ts";
 * const proxy = startFaultyProxy(testS3Endpoint());
 * proxy.fault = (_req, i) => i < 2 ? { status: 503, code: "SlowDown" } : undefined;
 * await proxy.close();
 * ```
 */
export function startFaultyProxy(target: string): FaultyProxy {
  const requests: string[] = [];
  const proxy: FaultyProxy = {
    endpoint: "",
    requests,
    fault: () => undefined,
    close: () => Promise.resolve(),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const index = requests.length;
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
      const injected = proxy.fault(request, index);
      if (injected !== undefined) {
        return new Response(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${injected.code}</Code>` +
            `<Message>injected by the test proxy</Message></Error>`,
          { status: injected.status, headers: { "content-type": "application/xml" } },
        );
      }
      const headers = new Headers(request.headers);
      for (const name of ["host", "content-length", "transfer-encoding", "connection"]) {
        headers.delete(name);
      }
      const answer = await fetch(`${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        ...(body === undefined ? {} : { body }),
        redirect: "manual",
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    },
  );
  proxy.endpoint = `http://127.0.0.1:${server.addr.port}`;
  proxy.close = () => server.shutdown();
  return proxy;
}
