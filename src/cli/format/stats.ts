/** The stats table: counts, error rate and two sparklines per flag. Pure. */
import type { FlagBucket } from '../../signals/reader';
import { count, duration, ratio, sparkline, table } from './common';

export interface FlagStats {
  readonly flagId: number;
  /** Undefined for a flag that has signals but is no longer in the ruleset. */
  readonly title: string | undefined;
  readonly success: number;
  readonly failure: number;
  readonly total: number;
  readonly errorRate: number;
  /** The chart's buckets, oldest first. */
  readonly series: readonly FlagBucket[];
}

export interface StatsView {
  readonly appId: number;
  readonly windowMs: number;
  readonly chartMs: number;
  readonly bucketMs: number;
  readonly source: string;
  readonly flags: readonly FlagStats[];
}

function bucketRate(b: FlagBucket): number | undefined {
  const total = b.success + b.failure;
  return total === 0 ? undefined : b.failure / total;
}

/** Highest per-bucket error rate over every row: the shared scale of the error-rate sparklines. */
export function maxBucketRate(flags: readonly FlagStats[]): number {
  let max = 0;
  for (const flag of flags) for (const b of flag.series) max = Math.max(max, bucketRate(b) ?? 0);
  return max;
}

export function statsLines(view: StatsView): string[] {
  const scale = maxBucketRate(view.flags);
  const header = [
    `app ${view.appId}: signals of the last ${duration(view.windowMs)} from ${view.source}`,
    `charts: last ${duration(view.chartMs)}, one mark per ${duration(view.bucketMs)}; requests scaled per flag, error rate ▁ 0 to █ ${ratio(scale)} (· no requests)`,
  ];
  if (view.flags.length === 0) return [...header, '', 'no flags'];
  const rows = view.flags.map((f) => [
    String(f.flagId),
    f.title ?? `(deleted flag #${f.flagId})`,
    count(f.success),
    count(f.failure),
    count(f.total),
    f.total === 0 ? '-' : ratio(f.errorRate),
    sparkline(f.series.map((b) => b.success + b.failure)),
    sparkline(f.series.map(bucketRate), scale),
  ]);
  return [
    ...header,
    '',
    ...table(
      [
        { header: 'ID', align: 'right' },
        { header: 'FLAG' },
        { header: 'SUCCESS', align: 'right' },
        { header: 'FAILURE', align: 'right' },
        { header: 'TOTAL', align: 'right' },
        { header: 'ERROR RATE', align: 'right' },
        { header: 'REQUESTS' },
        { header: 'ERROR RATE' },
      ],
      rows,
    ),
  ];
}
