/**
 * A minimal HTTP/1.1 client for the load generator: keep-alive connections over `Deno.connect`, one
 * request at a time per connection, requests given as ready-made bytes. The runtime's `fetch` spends
 * about 0.4 ms of CPU per request here (measured at 1,500 requests/s on the 2-core machine: 65 % of
 * a core), more than the edge spends on the request it sends; on a shared machine that CPU is taken
 * from the service being measured. This client writes the bytes, reads the status line, the headers
 * and the body (`Content-Length` or chunked), and hands the connection to the next request.
 *
 * It is a benchmark tool, not a general client: plain `http:` only, no redirects, no
 * `Expect: 100-continue`, no trailers, and a response must come on a connection that has a request
 * outstanding (anything else closes the connection).
 *
 * @module
 */

/** An HTTP response as the client read it. */
export interface Http1Response {
  status: number;
  body: Uint8Array;
}

/** A pool of keep-alive connections to one `host:port`. */
export interface Http1Pool {
  /** Sends `request` (a whole HTTP/1.1 request, headers and body) and reads the response. */
  send(request: Uint8Array): Promise<Http1Response>;
  /** Closes every connection (requests in progress reject). */
  close(): void;
}

const CR = 13, LF = 10;
const decoder = new TextDecoder();

/** Index of the first `\r\n\r\n` in `b` at or after `from`, or -1. */
function headerEnd(b: Uint8Array, from: number): number {
  for (let i = Math.max(from, 3); i < b.length; i++) {
    if (b[i] === LF && b[i - 1] === CR && b[i - 2] === LF && b[i - 3] === CR) return i + 1;
  }
  return -1;
}

/** One connection: a buffer of what was read and not yet consumed. */
class Connection {
  private buffered = new Uint8Array(0);
  private readonly chunk = new Uint8Array(64 * 1024);
  closed = false;

  constructor(private readonly conn: Deno.TcpConn) {
    conn.setNoDelay(true);
  }

  /** Reads more bytes into the buffer; false at end of stream. */
  private async fill(): Promise<boolean> {
    const n = await this.conn.read(this.chunk);
    if (n === null) return false;
    const next = new Uint8Array(this.buffered.length + n);
    next.set(this.buffered);
    next.set(this.chunk.subarray(0, n), this.buffered.length);
    this.buffered = next;
    return true;
  }

  /** Takes `n` bytes off the front of the buffer, reading as needed. */
  private async take(n: number): Promise<Uint8Array> {
    while (this.buffered.length < n) {
      if (!(await this.fill())) throw new Error("connection closed in a response body");
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Takes one `\r\n`-terminated line (without it). */
  private async line(): Promise<string> {
    for (;;) {
      const i = this.buffered.indexOf(LF);
      if (i > 0 && this.buffered[i - 1] === CR) {
        const text = decoder.decode(this.buffered.subarray(0, i - 1));
        this.buffered = this.buffered.subarray(i + 1);
        return text;
      }
      if (!(await this.fill())) throw new Error("connection closed in a chunked body");
    }
  }

  async request(bytes: Uint8Array): Promise<Http1Response & { keepAlive: boolean }> {
    for (let written = 0; written < bytes.length;) {
      written += await this.conn.write(bytes.subarray(written));
    }
    let end = headerEnd(this.buffered, 0);
    while (end < 0) {
      const scanned = this.buffered.length;
      if (!(await this.fill())) throw new Error("connection closed before a response");
      end = headerEnd(this.buffered, scanned - 3);
    }
    const head = decoder.decode(this.buffered.subarray(0, end - 4)).split("\r\n");
    this.buffered = this.buffered.subarray(end);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]!);
    if (status === null) throw new Error(`not an HTTP/1.1 status line: ${head[0]}`);
    let length = -1, chunked = false, keepAlive = true;
    for (let k = 1; k < head.length; k++) {
      const h = head[k]!;
      const colon = h.indexOf(":");
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim().toLowerCase();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.includes("chunked");
      else if (name === "connection") keepAlive = value !== "close";
    }
    let body: Uint8Array;
    if (chunked) {
      const parts: Uint8Array[] = [];
      for (;;) {
        const size = parseInt((await this.line()).split(";")[0]!, 16);
        if (!Number.isFinite(size)) throw new Error("bad chunk size");
        if (size === 0) {
          while ((await this.line()) !== "") { /* trailers: ignored */ }
          break;
        }
        parts.push((await this.take(size)).slice());
        await this.take(2);
      }
      body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        body.set(p, at);
        at += p.length;
      }
    } else if (length >= 0) {
      body = (await this.take(length)).slice();
    } else {
      throw new Error("a response without Content-Length or chunked encoding");
    }
    return { status: Number(status[1]), body, keepAlive };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/**
 * Opens a pool for `url`'s host and port (`http:` only). Connections are made as requests need
 * them and reused; a failed request closes its connection.
 *
 * @example
 * ```ts ignore
 * const pool = createHttp1Pool("http://127.0.0.1:8080");
 * const res = await pool.send(buildRequest("http://127.0.0.1:8080/healthz", "GET", {}, new Uint8Array()));
 * pool.close();
 * ```
 */
export function createHttp1Pool(url: string): Http1Pool {
  const u = new URL(url);
  if (u.protocol !== "http:") throw new Error(`Cannot send to ${url}: only http: URLs`);
  const hostname = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 80);
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  let closed = false;
  return {
    async send(request) {
      if (closed) throw new Error("the pool is closed");
      let c = idle.pop();
      if (c === undefined) {
        c = new Connection(await Deno.connect({ hostname, port }));
        all.add(c);
      }
      try {
        const res = await c.request(request);
        if (res.keepAlive && !closed) idle.push(c);
        else {
          c.close();
          all.delete(c);
        }
        return { status: res.status, body: res.body };
      } catch (e) {
        c.close();
        all.delete(c);
        throw e;
      }
    },
    close() {
      closed = true;
      for (const c of all) c.close();
      all.clear();
      idle.length = 0;
    },
  };
}

/** The bytes of an HTTP/1.1 request to `url` with `headers` and `body` (Content-Length set). */
export function buildRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Uint8Array {
  const u = new URL(url);
  let head = `${method} ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  head += `content-length: ${body.length}\r\n\r\n`;
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}
