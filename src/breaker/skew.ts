/**
 * Clock skew: a circuit time written by a machine whose clock is ahead of ours (`circuit_changed_at`,
 * `circuit_recovery_changed_at`, `updated_at` in the future) would keep a tripped flag off, a
 * recovery from stepping, and a window empty, until our clock catches up. The breaker judges a
 * flag through `view`: a time in the future is taken as the moment this breaker first saw it, so
 * delays count from then, and each flag is reported once (docs/breaker.md, "Time and clock skew").
 * Pure but for its memory of first sightings; the clock is passed in.
 */
import type { WireFlag } from '../ruleset/types';
import { CIRCUIT_CHANGED_AT, CIRCUIT_RECOVERY_CHANGED_AT, parseTime } from './decide';

const TIME_FIELDS = [CIRCUIT_CHANGED_AT, CIRCUIT_RECOVERY_CHANGED_AT, 'updated_at'] as const;
/** Ahead by at most this much is taken as it is (a second of drift is no skew). */
export const SKEW_TOLERANCE_MS = 1_000;

export class SkewGuard {
  /** `app:flag:field` → the future value seen and when we first saw it. */
  private readonly firstSeen = new Map<string, { readonly value: string; readonly seenMs: number }>();
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (message: string) => void) {}

  /** The flag as the breaker judges it: itself, or a copy with future times moved to their first sighting. */
  view(appId: number, flag: WireFlag, nowMs: number): WireFlag {
    let view: WireFlag | undefined;
    for (const field of TIME_FIELDS) {
      const raw = flag[field];
      const ms = parseTime(raw);
      const key = `${appId}:${flag.id}:${field}`;
      if (typeof raw !== 'string' || ms === undefined || ms <= nowMs + SKEW_TOLERANCE_MS) {
        this.firstSeen.delete(key);
        continue;
      }
      let seen = this.firstSeen.get(key);
      if (seen === undefined || seen.value !== raw) {
        seen = { value: raw, seenMs: nowMs };
        this.firstSeen.set(key, seen);
      }
      view ??= { ...flag };
      view[field] = new Date(seen.seenMs).toISOString();
      this.warnOnce(appId, flag, field, raw, ms - nowMs);
    }
    return view ?? flag;
  }

  private warnOnce(appId: number, flag: WireFlag, field: string, raw: string, aheadMs: number): void {
    const key = `${appId}:${flag.id}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(
      `CircuitBreaker: flag #${flag.id} ${JSON.stringify(flag.title)} of app ${appId} has ${field} ${raw}, ` +
        `${Math.round(aheadMs / 1000)} s ahead of this breaker's clock (a writer's clock is ahead?): ` +
        'counting from now instead',
    );
  }
}
