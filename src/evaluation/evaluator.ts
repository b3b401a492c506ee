/**
 * The pure evaluator (docs/rollout.md, docs/evaluation.md): active status, then whitelist, then
 * hashed percentage rollout with circuit-recovery throttling. This is Tailslide's rule exactly
 * (its SDKs' toggler: `is_active && (whitelisted || in rollout)`): `circuit_status` only throttles
 * a recoverable flag in `"recovery"`; an `"open"` circuit on an active flag decides nothing. No I/O, no exceptions, no allocation on the hot path beyond
 * the hash input: every outcome is a constant reason string.
 */
import type { Flag } from '../ruleset/types';
import { BUCKETS, bucketAfter, legacyBucket } from './bucket';
import { prefixState, type PrefixState } from './murmur3';
import { compileTargeting, type CompiledTargeting } from './targeting';

/** How users are bucketed: MurmurHash3 (docs/rollout.md), or Tailslide's legacy MD5. */
export type HashingMode = 'murmur3' | 'tailslide-md5';

export type EvaluationReason =
  /** No ruleset has arrived yet. */
  | 'NOT_READY'
  /** The ruleset has no flag of that name. */
  | 'FLAG_NOT_FOUND'
  /** `is_active` is false. */
  | 'FLAG_OFF'
  /** The user context is in `white_listed_users`. */
  | 'WHITELISTED'
  /** Effective rollout is 100 %: on for everyone, empty context included. */
  | 'FULL_ROLLOUT'
  /** Partial rollout and no user context to bucket. */
  | 'NO_USER_CONTEXT'
  /** The user's bucket is inside the rollout. */
  | 'ROLLOUT_IN'
  /** The user's bucket is outside the rollout (or the rollout is 0 %). */
  | 'ROLLOUT_OUT'
  /** Evaluation failed unexpectedly; the value is false. */
  | 'ERROR';

/** Reasons whose value is `true`. */
export function isOnReason(reason: EvaluationReason): boolean {
  return reason === 'ROLLOUT_IN' || reason === 'WHITELISTED' || reason === 'FULL_ROLLOUT';
}

/** A flag with everything evaluation needs precomputed once per ruleset. */
export interface CompiledFlag {
  readonly flag: Flag;
  /** `FLAG_OFF` when the flag is off for everyone (`is_active` false); undefined when it is on. */
  readonly offReason: 'FLAG_OFF' | undefined;
  /** Whitelisted contexts; empty set when none. */
  readonly whitelist: ReadonlySet<string>;
  /** Effective rollout in percent (after recovery throttling). */
  readonly effectiveRollout: number;
  /** `round(R × 1000)` clamped to [0, 100000]. */
  readonly threshold: number;
  /** Hash state after `title + ":"`, the salt in front of the user context. */
  readonly hashPrefix: PrefixState;
  /** The targeting extension, prepared; undefined for a plain boolean flag. */
  readonly targeting: CompiledTargeting | undefined;
}

const NO_WHITELIST: ReadonlySet<string> = new Set();

export function compileFlag(flag: Flag): CompiledFlag {
  let rollout = flag.rolloutPercentage;
  if (flag.isRecoverable && flag.circuitStatus === 'recovery') {
    rollout = (rollout * flag.circuitRecoveryPercentage) / 100;
  }
  const threshold = Math.min(BUCKETS, Math.max(0, Math.round(rollout * 1000)));
  return {
    flag,
    // Only is_active turns a flag off: Tower's close-circuit writes is_active true and leaves
    // circuit_status "open", and Tailslide's SDKs then serve the flag; so does this one.
    offReason: flag.isActive ? undefined : 'FLAG_OFF',
    whitelist: flag.whiteListedUsers.length === 0 ? NO_WHITELIST : new Set(flag.whiteListedUsers.map(flatCopy)),
    effectiveRollout: rollout,
    threshold: Number.isFinite(threshold) ? threshold : 0,
    hashPrefix: prefixState(`${flag.title}:`),
    targeting: flag.targeting === undefined ? undefined : compileTargeting(flag.title, flag.targeting),
  };
}

/** Decides one flag for one user context (an empty string when none is known). */
export function decide(compiled: CompiledFlag, userContext: string, hashing: HashingMode): EvaluationReason {
  const off = compiled.offReason;
  if (off !== undefined) return off;
  if (userContext !== '' && compiled.whitelist.size > 0 && compiled.whitelist.has(userContext)) return 'WHITELISTED';
  if (hashing === 'tailslide-md5') return decideLegacy(compiled, userContext);
  const threshold = compiled.threshold;
  if (threshold >= BUCKETS) return 'FULL_ROLLOUT';
  if (threshold <= 0) return 'ROLLOUT_OUT';
  if (userContext === '') return 'NO_USER_CONTEXT';
  return bucketAfter(compiled.hashPrefix, userContext) < threshold ? 'ROLLOUT_IN' : 'ROLLOUT_OUT';
}

/** A lone (unpaired) UTF-16 surrogate: in `u` mode a well-formed pair is one code point and does not match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A flat copy of a string, equal to it as a JS string. `split` returns slices of the original
 * string, which `Set.has` compares more slowly (whitelist lookups: 53 → 28 ns,
 * docs/benchmarks.md). A round trip through UTF-8 would turn a lone surrogate into U+FFFD and
 * the listed user would no longer match, so such an entry is copied through JSON instead.
 */
function flatCopy(value: string): string {
  if (LONE_SURROGATE.test(value)) return JSON.parse(JSON.stringify(value)) as string;
  return Buffer.from(value, 'utf8').toString('utf8');
}

/**
 * Legacy mode: `md5(user) mod 100 ≤ R`, inclusive as Tailslide's Python and Ruby SDKs do (so 0 %
 * still lets about 1 % through). 100 % is everyone, empty context included; otherwise an empty
 * context is never in.
 */
function decideLegacy(compiled: CompiledFlag, userContext: string): EvaluationReason {
  if (compiled.effectiveRollout >= 100) return 'FULL_ROLLOUT';
  if (userContext === '') return 'NO_USER_CONTEXT';
  return legacyBucket(userContext) <= compiled.effectiveRollout ? 'ROLLOUT_IN' : 'ROLLOUT_OUT';
}
