/** What the reader asks of a storage backend: raw sums, shaped into results by `SignalReader`. */
import type { Variant } from './types';

export interface Window {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface StatusTotals {
  success: number;
  failure: number;
}

export interface MetricTotals {
  count: number;
  sum: number;
}

export interface ReadBackend {
  readonly name: 'timeseries' | 'native';
  flagTotals(flagId: number, window: Window): Promise<StatusTotals>;
  /**
   * Sparse: bucket start → totals. Buckets start at `alignMs + k × bucketMs`: `alignMs` 0 for
   * buckets aligned to the epoch (TS.MRANGE's default), `window.fromMs` for buckets aligned to the
   * window's start (TS.MRANGE's `ALIGN start`).
   */
  flagBuckets(flagId: number, window: Window, bucketMs: number, alignMs: number): Promise<Map<number, StatusTotals>>;
  /** Every flag of the app that has signal data within the retention → its totals in the window. */
  appTotals(appId: number, window: Window): Promise<Map<number, StatusTotals>>;
  metricTotals(flagId: number, eventToken: string, window: Window): Promise<Record<Variant, MetricTotals>>;
}

/**
 * Start of the bucket holding `ms`, buckets starting at `alignMs + k × bucketMs` (`alignMs` 0: the
 * epoch, as TS.MRANGE aggregation aligns them by default).
 */
export function bucketOf(ms: number, bucketMs: number, alignMs = 0): number {
  const offset = (((ms - alignMs) % bucketMs) + bucketMs) % bucketMs;
  return ms - offset;
}

export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

export function addTotals(map: Map<number, StatusTotals>, key: number, status: 'success' | 'failure', n: number): void {
  let totals = map.get(key);
  if (!totals) map.set(key, (totals = { success: 0, failure: 0 }));
  totals[status] += n;
}
