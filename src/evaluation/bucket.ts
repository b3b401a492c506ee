import { createHash } from 'node:crypto';
import { hashAfter, murmur3, type PrefixState } from './murmur3';

/** Number of rollout buckets: 0.001 % steps. */
export const BUCKETS = 100_000;
const TWO_POW_32 = 0x1_0000_0000;

/** `floor(murmur3(utf8(title + ":" + user)) × 100000 / 2^32)`, in [0, 99999] (docs/rollout.md). */
export function bucket(title: string, userContext: string): number {
  return Math.floor((murmur3(`${title}:${userContext}`) * BUCKETS) / TWO_POW_32);
}

/** The same bucket on the hot path: `state` is `prefixState(title + ":")`, hashed once per flag. */
export function bucketAfter(state: PrefixState, userContext: string): number {
  return Math.floor(((hashAfter(state, userContext) >>> 0) * BUCKETS) / TWO_POW_32);
}

/**
 * Tailslide's Python/Ruby bucketing: MD5 of the user context as a 128-bit unsigned integer,
 * mod 100 (computed exactly, byte by byte; not through a float).
 */
export function legacyBucket(userContext: string): number {
  const digest = createHash('md5').update(userContext, 'utf8').digest();
  let remainder = 0;
  for (const byte of digest) remainder = (remainder * 256 + byte) % 100;
  return remainder;
}

/** Seed of the targeting split hash: independent of the rollout gate's seed 0 (targeting.md). */
export const SPLIT_SEED = 1;

/** `floor(murmur3(utf8(title + ":" + value), seed 1) × 100000 / 2^32)`: a split's bucket (targeting.md). */
export function splitBucket(title: string, value: string): number {
  return Math.floor((murmur3(`${title}:${value}`, SPLIT_SEED) * BUCKETS) / TWO_POW_32);
}
