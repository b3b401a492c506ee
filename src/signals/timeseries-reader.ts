/**
 * Reads the TimeSeries backend the way Tower and the breaker do:
 * `TS.MRANGE <from> <to> AGGREGATION sum <bucket> WITHLABELS FILTER flagId=<id>` (or `appId=<id>`),
 * sent through `redis-time-series-ts`'s `multiRange()` on our own connection. Buckets are aligned
 * to the epoch (the module's default), so a whole-window sum may come back as two buckets; we add
 * them up.
 */
import type { Redis } from 'ioredis';
import { FilterBuilder } from 'redis-time-series-ts/lib/builder/filterBuilder';
import { Aggregation } from 'redis-time-series-ts/lib/entity/aggregation';
import { TimestampRange } from 'redis-time-series-ts/lib/entity/timestampRange';
import { AggregationType } from 'redis-time-series-ts/lib/enum/aggregationType';
import type { RedisTimeSeries } from 'redis-time-series-ts/lib/redisTimeSeries';
import type { MultiRangeResponse } from 'redis-time-series-ts/lib/response/interface/multiRangeResponse';
import { addTotals, type MetricTotals, type ReadBackend, type StatusTotals, type Window } from './read-backend';
import { timeSeriesClient } from './rts';
import { METRIC_LABELS } from './timeseries-backend';
import type { Variant } from './types';

export class TimeSeriesReader implements ReadBackend {
  readonly name = 'timeseries' as const;
  private readonly rts: RedisTimeSeries;

  constructor(client: Redis) {
    this.rts = timeSeriesClient(client);
  }

  async flagTotals(flagId: number, window: Window): Promise<StatusTotals> {
    const ranges = await this.mrange(new FilterBuilder('flagId', flagId), window, window.toMs - window.fromMs + 1);
    const totals: StatusTotals = { success: 0, failure: 0 };
    for (const range of ranges) {
      const status = statusOf(range);
      if (status) totals[status] += sumOf(range);
    }
    return totals;
  }

  async flagBuckets(flagId: number, window: Window, bucketMs: number): Promise<Map<number, StatusTotals>> {
    const ranges = await this.mrange(new FilterBuilder('flagId', flagId), window, bucketMs);
    const out = new Map<number, StatusTotals>();
    for (const range of ranges) {
      const status = statusOf(range);
      if (!status) continue;
      for (const sample of range.data) addTotals(out, Number(sample.getTimestamp()), status, finite(sample.getValue()));
    }
    return out;
  }

  async appTotals(appId: number, window: Window): Promise<Map<number, StatusTotals>> {
    const ranges = await this.mrange(new FilterBuilder('appId', appId), window, window.toMs - window.fromMs + 1);
    const out = new Map<number, StatusTotals>();
    for (const range of ranges) {
      const status = statusOf(range);
      const flagId = Number(labelOf(range, 'flagId'));
      if (!status || !Number.isSafeInteger(flagId)) continue;
      addTotals(out, flagId, status, sumOf(range));
    }
    return out;
  }

  async metricTotals(
    flagId: number,
    eventToken: string,
    window: Window,
    variants: readonly Variant[],
  ): Promise<Map<Variant, MetricTotals>> {
    const filter = new FilterBuilder(METRIC_LABELS.flagId, flagId).equal(METRIC_LABELS.event, eventToken);
    const ranges = await this.mrange(filter, window, window.toMs - window.fromMs + 1);
    const out = new Map<Variant, MetricTotals>(variants.map((v) => [v, { count: 0, sum: 0 }]));
    for (const range of ranges) {
      const variant = labelOf(range, METRIC_LABELS.variant);
      const kind = labelOf(range, METRIC_LABELS.kind);
      if (variant === undefined || variant === '' || (kind !== 'count' && kind !== 'sum')) continue;
      let totals = out.get(variant);
      if (totals === undefined) out.set(variant, (totals = { count: 0, sum: 0 }));
      totals[kind] += sumOf(range);
    }
    return out;
  }

  private mrange(filter: FilterBuilder, window: Window, bucketMs: number): Promise<MultiRangeResponse[]> {
    return this.rts.multiRange(
      new TimestampRange(window.fromMs, window.toMs),
      filter,
      undefined,
      new Aggregation(AggregationType.SUM, bucketMs),
      true,
    );
  }
}

function labelOf(range: MultiRangeResponse, name: string): string | undefined {
  const label = range.labels.find((l) => l.getName() === name);
  return label === undefined ? undefined : String(label.getValue());
}

/** The series' status: its `status` label, else the `:success`/`:failure` suffix of its key. */
function statusOf(range: MultiRangeResponse): 'success' | 'failure' | undefined {
  const status = labelOf(range, 'status') ?? range.key.slice(range.key.lastIndexOf(':') + 1);
  return status === 'success' || status === 'failure' ? status : undefined;
}

function sumOf(range: MultiRangeResponse): number {
  let total = 0;
  for (const sample of range.data) total += finite(sample.getValue());
  return total;
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
