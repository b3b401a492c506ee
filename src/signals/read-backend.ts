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
  /** Sparse: bucket start (multiple of `bucketMs` since the epoch) → totals. */
  flagBuckets(flagId: number, window: Window, bucketMs: number): Promise<Map<number, StatusTotals>>;
  /** Every flag of the app that has signal data within the retention → its totals in the window. */
  appTotals(appId: number, window: Window): Promise<Map<number, StatusTotals>>;
  /** Totals per variant: every variant asked for (zero when none), and any other one the backend finds. */
  metricTotals(
    flagId: number,
    eventToken: string,
    window: Window,
    variants: readonly Variant[],
  ): Promise<Map<Variant, MetricTotals>>;
}

/** Start of the epoch-aligned bucket holding `ms`, as TS.MRANGE aggregation aligns them. */
export function bucketOf(ms: number, bucketMs: number): number {
  return ms - (ms % bucketMs);
}

export function addTotals(map: Map<number, StatusTotals>, key: number, status: 'success' | 'failure', n: number): void {
  let totals = map.get(key);
  if (!totals) map.set(key, (totals = { success: 0, failure: 0 }));
  totals[status] += n;
}
