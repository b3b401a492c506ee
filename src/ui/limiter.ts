/**
 * Failed-login limiter of the dashboard: after `maxFailures` failures within `windowMs` from one
 * client address, that address is refused (429) until the oldest failure leaves the window. Pure
 * apart from the injected clock; memory bounded by `maxAddresses`.
 */

/** Failures allowed per address within the window. */
export const MAX_AUTH_FAILURES = 10;
/** The window the failures are counted in. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Most addresses tracked: past it the least recently failing one is forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000;

export interface FailureLimiterOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly maxAddresses?: number;
  readonly now?: () => number;
}

export class FailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  /** Address → times of its recent failures, oldest first (at most `maxFailures`). Map order: LRU. */
  private readonly failures = new Map<string, number[]>();

  constructor(options: FailureLimiterOptions = {}) {
    this.maxFailures = Math.max(1, options.maxFailures ?? MAX_AUTH_FAILURES);
    this.windowMs = options.windowMs ?? AUTH_FAILURE_WINDOW_MS;
    this.maxAddresses = Math.max(1, options.maxAddresses ?? MAX_TRACKED_ADDRESSES);
    this.now = options.now ?? Date.now;
  }

  /** Number of addresses tracked. */
  get size(): number {
    return this.failures.size;
  }

  /**
   * Milliseconds until `address` may try again, or 0 when it may now. Checked before the token is,
   * so a blocked address learns nothing and costs no hashing.
   */
  blockedForMs(address: string): number {
    const times = this.recent(address, this.now());
    if (times === undefined || times.length < this.maxFailures) return 0;
    const oldest = times[0] ?? 0;
    return Math.max(1, oldest + this.windowMs - this.now());
  }

  /** Counts one failure of `address`; true when this failure makes it blocked. */
  fail(address: string): boolean {
    const now = this.now();
    this.forgetIdle(now);
    const times = this.recent(address, now) ?? [];
    times.push(now);
    if (times.length > this.maxFailures) times.splice(0, times.length - this.maxFailures);
    // Re-inserted so the map's first key is the address that failed least recently.
    this.failures.delete(address);
    this.failures.set(address, times);
    while (this.failures.size > this.maxAddresses) {
      const first = this.failures.keys().next();
      if (first.done === true) break;
      this.failures.delete(first.value);
    }
    return times.length >= this.maxFailures;
  }

  /** Drops addresses whose last failure left the window (the map's front: least recently failing). */
  private forgetIdle(now: number): void {
    for (const [address, times] of this.failures) {
      if ((times[times.length - 1] ?? 0) > now - this.windowMs) return;
      this.failures.delete(address);
    }
  }

  /** The failures of `address` still in the window, or undefined (and forgotten) when none are. */
  private recent(address: string, now: number): number[] | undefined {
    const times = this.failures.get(address);
    if (times === undefined) return undefined;
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= from) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length === 0) {
      this.failures.delete(address);
      return undefined;
    }
    return times;
  }
}
