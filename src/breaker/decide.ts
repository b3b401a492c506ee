/**
 * The circuit breaker's decisions as pure functions of a flag, the signal counts of its window and
 * the time: which flags are watched, where a flag's window starts, whether it trips, when recovery
 * starts and how it ramps. No I/O, no clock of its own: the breaker passes `nowMs` in.
 *
 * State lives in the flag (restart-safe): the circuit fields, plus two extra wire fields this
 * breaker writes (ISO 8601, the breaker's clock), which the SDK keeps verbatim in `extra`:
 * - `circuit_changed_at`: the last change of `circuit_status` (trip, recovery start, close). Windows
 *   start here, and the recovery delay counts from here.
 * - `circuit_recovery_changed_at`: the last change of `circuit_recovery_percentage` by the breaker
 *   (trip, recovery start, each step, close). The next recovery step is due `circuit_recovery_rate`
 *   after it.
 * A flag without them (never tripped by this breaker, or republished by Tower, which does not keep
 * unknown fields) falls back to `updated_at`, as Tailslide's breaker reads it.
 */
import type { CircuitStatus, WireFlag } from '../ruleset/types';

export const CIRCUIT_CHANGED_AT = 'circuit_changed_at';
export const CIRCUIT_RECOVERY_CHANGED_AT = 'circuit_recovery_changed_at';

/** Signals are counted per second (native backend; TimeSeries buckets of 1000 ms): windows cut on seconds. */
export const SIGNAL_RESOLUTION_MS = 1_000;

/** What the breaker does to a flag, named as Tailslide's control messages. */
export type TransitionKind = 'open' | 'recovery_start' | 'recovery_update' | 'close';

export interface Counts {
  readonly success: number;
  readonly failure: number;
}

export interface DecideOptions {
  /** No trip below this many requests (success + failure) in the flag's window. */
  readonly minRequests: number;
}

/** A decision about one flag. */
export interface Decision {
  readonly kind: TransitionKind;
  readonly flagId: number;
  readonly from: CircuitStatus;
  readonly to: CircuitStatus;
  /** `circuit_recovery_percentage` after the transition. */
  readonly percentage: number;
  /** `is_active` after the transition. */
  readonly isActive: boolean;
  /** For a trip: the window's counts and error rate in percent. */
  readonly success?: number;
  readonly failure?: number;
  readonly errorRate?: number;
}

/** Error rate in percent: failure / (failure + success) × 100, 0 when both are 0. */
export function errorRatePercent(counts: Counts): number {
  const total = counts.success + counts.failure;
  return total === 0 ? 0 : (counts.failure / total) * 100;
}

/** ISO time → ms since the epoch, or undefined when absent or not a date. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The time of the flag's last circuit status change (`circuit_changed_at`, else `updated_at`). */
export function lastTransitionMs(flag: WireFlag): number | undefined {
  return parseTime(flag[CIRCUIT_CHANGED_AT]) ?? parseTime(flag.updated_at);
}

/** The time of the last recovery step (`circuit_recovery_changed_at`, else the last transition). */
export function lastStepMs(flag: WireFlag): number | undefined {
  return parseTime(flag[CIRCUIT_RECOVERY_CHANGED_AT]) ?? lastTransitionMs(flag);
}

/**
 * Whether the flag is tripped: circuit open and switched off. An active flag whose circuit field
 * says open (Tower's close-circuit writes only `is_active: true`) is served by every SDK, since
 * `is_active` decides, so the breaker judges it as a closed one.
 */
export function isTripped(flag: WireFlag): boolean {
  return flag.circuit_status === 'open' && !flag.is_active;
}

/**
 * Whether the breaker looks at the flag at all: a threshold above 0, and active, except a tripped
 * circuit (the breaker switched it off and owes it a recovery when it is recoverable).
 */
export function isWatched(flag: WireFlag): boolean {
  if (!(flag.error_threshold_percentage > 0)) return false;
  return isTripped(flag) ? flag.is_recoverable : flag.is_active;
}

/** Whether the flag's signals are needed this poll (a tripped circuit is judged on time alone). */
export function needsSignals(flag: WireFlag): boolean {
  return isWatched(flag) && !isTripped(flag);
}

/**
 * Start of the flag's window (ms, inclusive, always a whole second): the seconds that begin within
 * the last `windowMs` (so between `windowMs` − 1 s and `windowMs` of signals, the current second
 * included), but never a second that began before the flag's last circuit transition: signals are
 * stored per second, so the second in which the transition happened may hold signals from before
 * it, and it is left out.
 *
 * A closed flag without `circuit_changed_at` (never tripped by this breaker) is not cut by
 * `updated_at`: an unrelated edit (a description) must not blind the breaker.
 */
export function windowStartMs(flag: WireFlag, nowMs: number, windowMs: number): number {
  const plain = ceilTo(nowMs - windowMs + 1, SIGNAL_RESOLUTION_MS);
  const since =
    flag.circuit_status === 'close' && parseTime(flag[CIRCUIT_CHANGED_AT]) === undefined
      ? undefined
      : lastTransitionMs(flag);
  if (since === undefined) return plain;
  return Math.max(plain, ceilTo(since, SIGNAL_RESOLUTION_MS));
}

/** The next recovery percentage: linear p + increment, exponential p × (1 + increment/100); 2 decimals. */
export function nextRecoveryPercentage(flag: WireFlag): number {
  const p = flag.circuit_recovery_percentage;
  const increment = flag.circuit_recovery_increment_percentage;
  // Exponential growth from 0 would never move: it starts like linear.
  const next = flag.circuit_recovery_profile === 'exponential' && p > 0 ? p * (1 + increment / 100) : p + increment;
  return round2(next);
}

/**
 * The decision for one flag, or undefined. `counts` are the flag's signals in its window
 * (`windowStartMs` to now); undefined when they could not be read (then nothing trips).
 *
 * - An open, recoverable circuit enters recovery once `circuit_recovery_delay` ms have passed
 *   since the trip (at once after a restart that missed it).
 * - A closed or recovering flag trips when its window holds at least `minRequests` requests and
 *   its error rate is strictly above `error_threshold_percentage`.
 * - A recovering flag that does not trip steps up once `circuit_recovery_rate` ms have passed
 *   since the last step (one step, however many intervals were missed); at 100 % it closes.
 */
export function decide(
  flag: WireFlag,
  counts: Counts | undefined,
  nowMs: number,
  options: DecideOptions,
): Decision | undefined {
  if (!isWatched(flag)) return undefined;
  const base = { flagId: flag.id, from: flag.circuit_status };
  if (isTripped(flag)) {
    const since = lastTransitionMs(flag);
    if (since !== undefined && nowMs - since < flag.circuit_recovery_delay) return undefined;
    return {
      ...base,
      kind: 'recovery_start',
      to: 'recovery',
      percentage: flag.circuit_initial_recovery_percentage,
      isActive: true,
    };
  }
  if (counts !== undefined) {
    const total = counts.success + counts.failure;
    const errorRate = errorRatePercent(counts);
    if (total >= Math.max(1, options.minRequests) && errorRate > flag.error_threshold_percentage) {
      return {
        ...base,
        kind: 'open',
        to: 'open',
        percentage: 0,
        isActive: false,
        success: counts.success,
        failure: counts.failure,
        errorRate,
      };
    }
  }
  if (flag.circuit_status === 'recovery' && flag.is_recoverable) {
    const since = lastStepMs(flag);
    if (since !== undefined && nowMs - since < flag.circuit_recovery_rate) return undefined;
    const next = nextRecoveryPercentage(flag);
    if (next >= 100) return { ...base, kind: 'close', to: 'close', percentage: 100, isActive: true };
    return { ...base, kind: 'recovery_update', to: 'recovery', percentage: next, isActive: true };
  }
  return undefined;
}

/** The flag after the decision, stamped with `nowIso` (the breaker's clock). */
export function applyDecision(flag: WireFlag, decision: Decision, nowIso: string): WireFlag {
  const next: WireFlag = {
    ...flag,
    is_active: decision.isActive,
    circuit_status: decision.to,
    circuit_recovery_percentage: decision.percentage,
    updated_at: nowIso,
    [CIRCUIT_RECOVERY_CHANGED_AT]: nowIso,
  };
  if (decision.from !== decision.to) next[CIRCUIT_CHANGED_AT] = nowIso;
  return next;
}

/**
 * Whether `decision`, taken on an older copy of the flag, still holds for `fresh` (the flag as
 * re-read before writing): same circuit state, same window start. Anything else means another
 * writer (a second breaker, a human) got in first: the caller decides again on `fresh`.
 */
export function sameCircuitState(old: WireFlag, fresh: WireFlag): boolean {
  return (
    old.circuit_status === fresh.circuit_status &&
    old.circuit_recovery_percentage === fresh.circuit_recovery_percentage &&
    old.is_active === fresh.is_active &&
    lastTransitionMs(old) === lastTransitionMs(fresh) &&
    lastStepMs(old) === lastStepMs(fresh)
  );
}

function ceilTo(ms: number, step: number): number {
  return Math.ceil(ms / step) * step;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** What the breaker watches of one app, for people: counts and one line that says it. */
export interface WatchSummary {
  readonly appId: number;
  /** Flags in the ruleset (0 without one). */
  readonly flags: number;
  /** Flags the breaker judges (`isWatched`). */
  readonly watched: number;
  readonly hasRuleset: boolean;
  /** "0 flags watched: no ruleset", "3 flags, none with a threshold", "2 of 3 flags watched", … */
  readonly text: string;
}

export function watchSummary(appId: number, flags: readonly WireFlag[] | undefined): WatchSummary {
  if (flags === undefined)
    return { appId, flags: 0, watched: 0, hasRuleset: false, text: '0 flags watched: no ruleset' };
  const watched = flags.filter(isWatched).length;
  const withThreshold = flags.filter((f) => f.error_threshold_percentage > 0).length;
  const n = flags.length;
  const plural = n === 1 ? 'flag' : 'flags';
  let text: string;
  if (n === 0) text = '0 flags watched: the ruleset is empty';
  else if (withThreshold === 0) text = `${n} ${plural}, none with a threshold (error_threshold_percentage)`;
  else if (watched === 0) text = `${n} ${plural}, none watched: the ${withThreshold} with a threshold are off`;
  else text = watched === n ? `${n} ${plural} watched` : `${watched} of ${n} flags watched`;
  return { appId, flags: n, watched, hasRuleset: true, text };
}
