/**
 * Reading the counts the breaker decides on, one app per call, each flag over its own window
 * (`fromMs` to `toMs`, both inclusive; a second counts when it overlaps the window). Two readers
 * implement it:
 *
 * - TimeSeries (signals-timeseries.ts): ONE `TS.MRANGE … AGGREGATION SUM 1000 FILTER appId=<id>`
 *   per app and poll, each flag summing the one-second buckets of its own window.
 * - Native (signals-native.ts): ONE `EVAL` per app and poll that sums, server-side, exactly the
 *   seconds of each flag's window from its per-second hashes; where scripts are refused, one
 *   pipeline of `HMGET`s.
 *
 * On a Redis Cluster either reader splits its one command per node or hash slot (see each file).
 * One bad key (a string where a hash should be, a field that is no number, a mislabelled series)
 * fails nothing: it is returned in `bad` and its flag left out of `counts`; the other flags are
 * counted as usual.
 */
import type { SignalStatus } from '../signals/types';
import type { BadKey } from './bad-keys';
import type { Counts } from './decide';

export const STATUSES: readonly SignalStatus[] = ['success', 'failure'];

export interface FlagWindow {
  readonly flagId: number;
  readonly fromMs: number;
}

export interface SignalCounts {
  /** Counts per flag id: every requested flag, except those of a bad key. */
  readonly counts: Map<number, Counts>;
  /** Keys that could not be counted, each once. */
  readonly bad: readonly BadKey[];
}

export interface BreakerSignals {
  readonly backend: 'timeseries' | 'native';
  /** Rejects when Redis cannot answer; a bad key only costs its own flag (see `bad`). */
  counts(appId: number, flags: readonly FlagWindow[], toMs: number): Promise<SignalCounts>;
}

/** `ms` rounded down to a multiple of `step` (negative times too). */
export function floorTo(ms: number, step: number): number {
  return ms - (((ms % step) + step) % step);
}
