/** Waits and back-off of the JetStream source. Every timer here is unref()'d or always cleared. */
import { within } from '../util/timeout';

/** First wait before trying again (stream missing, request failed); doubles up to the max. */
export const SYNC_RETRY_INITIAL_MS = 500;
export const SYNC_RETRY_MAX_MS = 5_000;

/**
 * A request that timed out or met a cluster without a leader (a node was lost) is retried after
 * this, the first LEADER_CHANGE_FAST_RETRIES times in a row, then with the doubling back-off: a
 * 3-node cluster elects in seconds, and a manager should follow within 3 s of the election.
 */
export const LEADER_CHANGE_RETRY_MS = 300;
export const LEADER_CHANGE_FAST_RETRIES = 8;

/** `ms` ± 20 %, so that many clients do not retry in step. */
export function jittered(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}

/** Doubling from SYNC_RETRY_INITIAL_MS to SYNC_RETRY_MAX_MS (attempt 1, 2, …), jittered. */
export function retryDelay(attempt: number): number {
  const doublings = Math.max(0, Math.min(attempt - 1, 10));
  return jittered(Math.min(SYNC_RETRY_MAX_MS, SYNC_RETRY_INITIAL_MS * 2 ** doublings));
}

/** Waits for the promise (which must never reject) at most `ms`; the timer holds the process while it runs. */
export async function boundedWait(promise: Promise<void>, ms: number): Promise<void> {
  await within(promise, ms, 'holds-process');
}

/** One wait at a time that `cancel()` ends at once (it resolves, never rejects). */
export class Pause {
  private pending: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  wait(ms: number): Promise<void> {
    this.cancel();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.pending = { timer, wake: resolve };
    });
  }

  cancel(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    pending.wake();
  }
}

/** A single unref()'d timer that can be re-armed and cleared. */
export class RetryTimer {
  private timer: NodeJS.Timeout | undefined;

  set(ms: number, fn: () => void): void {
    this.clear();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
    this.timer.unref();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
