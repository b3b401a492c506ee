/**
 * MurmurHash3 x86_32 over the UTF-8 bytes of a JavaScript string.
 *
 * Hand-written on purpose: the murmur packages on npm either hash UTF-16 code units or drop
 * high bytes (they disagree with other languages on non-ASCII input), or need the caller to
 * allocate a Buffer per call. This one hashes ASCII strings straight from their char codes with
 * no allocation, and encodes other strings into a reused scratch buffer.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** MurmurHash3_x86_32(utf8(input), seed) as an unsigned 32-bit integer. */
export function murmur3(input: string, seed = 0): number {
  const length = input.length;
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    const c0 = input.charCodeAt(i);
    const c1 = input.charCodeAt(i + 1);
    const c2 = input.charCodeAt(i + 2);
    const c3 = input.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return murmur3Utf8Slow(input, seed);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = length & 3;
  if (rest > 0) {
    let tail = 0;
    for (let j = rest - 1; j >= 0; j--) {
      const c = input.charCodeAt(i + j);
      if (c > 0x7f) return murmur3Utf8Slow(input, seed);
      tail |= c << (8 * j);
    }
    h ^= mixK(tail);
  }
  return finalize(h, length);
}

/** MurmurHash3_x86_32 of `length` bytes of `bytes`. */
export function murmur3Bytes(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    h = mixBlock(h, (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
  }
  const rest = length & 3;
  if (rest > 0) {
    let tail = 0;
    for (let j = rest - 1; j >= 0; j--) tail |= (bytes[i + j] as number) << (8 * j);
    h ^= mixK(tail);
  }
  return finalize(h, length);
}

function murmur3Utf8Slow(input: string, seed: number): number {
  // A UTF-16 code unit becomes at most 3 UTF-8 bytes (a surrogate pair, 2 units, becomes 4).
  const needed = input.length * 3;
  if (scratch.length < needed) scratch = new Uint8Array(Math.max(needed, scratch.length * 2));
  const { written } = encoder.encodeInto(input, scratch);
  return murmur3Bytes(scratch, seed, written);
}

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixBlock(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
