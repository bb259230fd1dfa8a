/**
 * LZ4 decompression for Parquet pages: `LZ4_RAW` (one LZ4 block) and the deprecated `LZ4` codec
 * (Hadoop framing: big-endian uncompressed and compressed sizes before each block, falling back to
 * a raw block as Arrow does). LZ4 block format: sequences of a token (literal length and match
 * length nibbles), literals, and a little-endian 16-bit match offset.
 *
 * @module
 */

/**
 * Decompress one LZ4 block into exactly `outputLength` bytes.
 *
 * @example
 * ```ts
 * import { decompressLz4Block } from "./lz4.ts";
 * // "abcabcabc": 3 literals, then a match of 6 at offset 3.
 * const block = new Uint8Array([0x32, 97, 98, 99, 3, 0, 0x00]);
 * const out = decompressLz4Block(block.subarray(0, 6), 9);
 * if (new TextDecoder().decode(out) !== "abcabcabc") throw new Error("bad lz4");
 * ```
 */
export function decompressLz4Block(input: Uint8Array, outputLength: number): Uint8Array {
  const out = new Uint8Array(outputLength);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const token = input[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = input[ip++]!;
        literals += b;
      } while (b === 255 && ip < input.length);
    }
    if (ip + literals > input.length || op + literals > outputLength) {
      throw new Error("lz4: literals overrun");
    }
    out.set(input.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip >= input.length) break; // the last sequence has literals only
    const offset = input[ip]! | (input[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Error("lz4: bad match offset");
    let match = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        b = input[ip++]!;
        match += b;
      } while (b === 255 && ip < input.length);
    }
    if (op + match > outputLength) throw new Error("lz4: match overrun");
    for (let i = 0; i < match; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== outputLength) throw new Error(`lz4: decoded ${op} bytes, expected ${outputLength}`);
  return out;
}

/** Decompress the deprecated Parquet `LZ4` codec: Hadoop-framed blocks, else one raw block. */
export function decompressLz4Hadoop(input: Uint8Array, outputLength: number): Uint8Array {
  try {
    const out = new Uint8Array(outputLength);
    const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    let ip = 0;
    let op = 0;
    while (ip < input.length) {
      if (ip + 8 > input.length) throw new Error("lz4: truncated frame");
      const rawSize = view.getUint32(ip, false);
      const blockSize = view.getUint32(ip + 4, false);
      ip += 8;
      if (ip + blockSize > input.length || op + rawSize > outputLength) {
        throw new Error("lz4: bad frame");
      }
      out.set(decompressLz4Block(input.subarray(ip, ip + blockSize), rawSize), op);
      ip += blockSize;
      op += rawSize;
    }
    if (op !== outputLength) throw new Error("lz4: short frame");
    return out;
  } catch {
    return decompressLz4Block(input, outputLength);
  }
}
