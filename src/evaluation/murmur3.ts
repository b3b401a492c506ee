/**
 * MurmurHash3 x86_32 over the UTF-8 bytes of a JavaScript string, resumable after a fixed prefix.
 *
 * Hand-written on purpose: the murmur packages on npm either hash UTF-16 code units or drop high
 * bytes (they disagree with other languages on non-ASCII input), or need a Buffer per call.
 *
 * Rollout hashes `utf8(title + ":" + user)`. The hash is streaming, so the state after the flag's
 * `title:` prefix is computed once per flag (`prefixState`) and each evaluation hashes only the
 * user's characters, straight from their char codes: no string concatenation, no allocation for
 * ASCII user contexts (others are encoded into a reused scratch buffer).
 *
 * Internal functions return the hash as a SIGNED int32 on purpose: a uint32 ≥ 2^31 is not a small
 * integer in V8, and returning one from a call that is not inlined allocates a HeapNumber. The
 * unsigned value is taken where it is used (docs/benchmarks.md has the measurements).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** The murmur state after the UTF-8 bytes of a prefix. */
export interface PrefixState {
  /** The seed: 0 for the rollout gate, 1 for targeting splits (targeting.md). */
  readonly seed: number;
  /** Running hash over the prefix's whole 4-byte blocks. */
  readonly h: number;
  /** The 0–3 bytes left over, little-endian, completed by the next bytes. */
  readonly carry: number;
  readonly carryLength: number;
  readonly byteLength: number;
  /** The prefix itself, re-encoded on the rare non-ASCII path (keeping its bytes per flag costs more). */
  readonly prefix: string;
}

const EMPTY: PrefixState = { seed: 0, h: 0, carry: 0, carryLength: 0, byteLength: 0, prefix: '' };

/** MurmurHash3_x86_32(utf8(input), seed) as an unsigned 32-bit integer. */
export function murmur3(input: string, seed = 0): number {
  return hashAfter(seed === 0 ? EMPTY : { ...EMPTY, seed, h: seed | 0 }, input) >>> 0;
}

/** Hashes a prefix once, for `hashAfter`. */
export function prefixState(prefix: string, seed = 0): PrefixState {
  const bytes = encoder.encode(prefix);
  const blockEnd = bytes.length & ~3;
  let h = seed | 0;
  for (let i = 0; i < blockEnd; i += 4) h = mixBlock(h, readBlock(bytes, i));
  let carry = 0;
  const carryLength = bytes.length - blockEnd;
  for (let j = 0; j < carryLength; j++) carry |= (bytes[blockEnd + j] as number) << (8 * j);
  return { seed: seed | 0, h, carry, carryLength, byteLength: bytes.length, prefix };
}

/**
 * MurmurHash3_x86_32(utf8(prefix + input), 0) as a signed int32 (`>>> 0` for the unsigned value),
 * where `state = prefixState(prefix)`.
 */
export function hashAfter(state: PrefixState, input: string): number {
  const length = input.length;
  let h = state.h;
  let k = state.carry;
  let filled = state.carryLength;
  let i = 0;
  if (filled !== 0) {
    // Complete the prefix's partial block with the input's first characters.
    while (filled < 4 && i < length) {
      const c = input.charCodeAt(i++);
      if (c > 0x7f) return hashBytesAfter(state, input);
      k |= c << (8 * filled);
      filled++;
    }
    if (filled < 4) return finalize(h ^ mixK(k), state.byteLength + length);
    h = mixBlock(h, k);
    k = 0;
  }
  const blockEnd = i + ((length - i) & ~3);
  for (; i < blockEnd; i += 4) {
    const c0 = input.charCodeAt(i);
    const c1 = input.charCodeAt(i + 1);
    const c2 = input.charCodeAt(i + 2);
    const c3 = input.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return hashBytesAfter(state, input);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  if (i < length) {
    for (let j = 0; i < length; i++, j++) {
      const c = input.charCodeAt(i);
      if (c > 0x7f) return hashBytesAfter(state, input);
      k |= c << (8 * j);
    }
    h ^= mixK(k);
  }
  return finalize(h, state.byteLength + length);
}

/** Non-ASCII input: the prefix's bytes and the input's UTF-8 into the scratch buffer, hashed whole. */
function hashBytesAfter(state: PrefixState, input: string): number {
  // A UTF-16 code unit becomes at most 3 UTF-8 bytes (a surrogate pair, 2 units, becomes 4).
  const needed = state.byteLength + input.length * 3;
  if (scratch.length < needed) scratch = new Uint8Array(Math.max(needed, scratch.length * 2));
  encoder.encodeInto(state.prefix, scratch);
  const { written } = encoder.encodeInto(input, scratch.subarray(state.byteLength));
  const length = state.byteLength + written;
  const blockEnd = length & ~3;
  let h = state.seed;
  let i = 0;
  for (; i < blockEnd; i += 4) h = mixBlock(h, readBlock(scratch, i));
  if (i < length) {
    let tail = 0;
    for (let j = 0; i < length; i++, j++) tail |= (scratch[i] as number) << (8 * j);
    h ^= mixK(tail);
  }
  return finalize(h, length);
}

function readBlock(bytes: Uint8Array, i: number): number {
  return (
    (bytes[i] as number) |
    ((bytes[i + 1] as number) << 8) |
    ((bytes[i + 2] as number) << 16) |
    ((bytes[i + 3] as number) << 24)
  );
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
  return h | 0;
}
