/**
 * Reads the TimeSeries backend the way Tower and the breaker do:
 * `TS.MRANGE <from> <to> AGGREGATION sum <bucket> WITHLABELS FILTER flagId=<id>` (or `appId=<id>`),
 * sent through `redis-time-series-ts`'s `multiRange()` on our own connection, `FILTER` last (the
 * order RedisTimeSeries 1.4 requires). Buckets are aligned to the epoch (the module's default), so
 * a whole-window sum may come back as two buckets; we add them up.
 *
 * Buckets aligned to the window's start (`align: 'start'`) need `ALIGN`, which RedisTimeSeries 1.6
 * has and 1.4 silently ignores (it answers epoch-aligned buckets). So the reader asks the server
 * once whether it knows ALIGN and, when it does not, asks for epoch-aligned buckets of
 * gcd(bucket, offset), which nest exactly into the window-aligned ones, and adds them up.
 *
 * On a Redis Cluster, `TS.MRANGE` answers from the shard it is sent to only (RedisTimeSeries has no
 * cross-shard query): each query is sent to every primary and the answers are put together (a
 * series lives on one shard, so nothing is counted twice). While a failover is under way, a shard
 * without a primary is missing from the answer.
 */
import type { Redis } from 'ioredis';
import { FilterBuilder } from 'redis-time-series-ts/lib/builder/filterBuilder';
import { Aggregation } from 'redis-time-series-ts/lib/entity/aggregation';
import { TimestampRange } from 'redis-time-series-ts/lib/entity/timestampRange';
import { AggregationType } from 'redis-time-series-ts/lib/enum/aggregationType';
import type { RedisTimeSeries } from 'redis-time-series-ts/lib/redisTimeSeries';
import type { MultiRangeResponse } from 'redis-time-series-ts/lib/response/interface/multiRangeResponse';
import {
  addTotals,
  bucketOf,
  gcd,
  type MetricTotals,
  type ReadBackend,
  type StatusTotals,
  type Window,
} from './read-backend';
import { isReplyError } from './redis-errors';
import { timeSeriesClient } from './rts';
import { primariesOf } from './slots';
import { METRIC_LABELS } from './timeseries-backend';
import type { Variant } from './types';

export class TimeSeriesReader implements ReadBackend {
  readonly name = 'timeseries' as const;
  private readonly rts: RedisTimeSeries;
  private align: Promise<boolean> | undefined;

  constructor(private readonly client: Redis) {
    this.rts = timeSeriesClient(client);
  }

  /**
   * Whether the module knows `TS.MRANGE … ALIGN`: 1.6 and later refuse ALIGN without AGGREGATION
   * ("ALIGN parameter can only be used with AGGREGATION"); 1.4 ignores it and answers.
   */
  supportsAlign(): Promise<boolean> {
    this.align ??= this.client.call('TS.MRANGE', 0, 1, 'ALIGN', 0, 'FILTER', 'tailslide_probe=align').then(
      () => false,
      (error: unknown) => {
        if (isReplyError(error) && /ALIGN/i.test(error.message)) return true;
        this.align = undefined; // not an answer about ALIGN: ask again next time
        throw error;
      },
    );
    return this.align;
  }

  /** Where a query goes: the client, or every primary of a Redis Cluster. */
  private targets(): Redis[] {
    return primariesOf(this.client);
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

  async flagBuckets(
    flagId: number,
    window: Window,
    bucketMs: number,
    alignMs: number,
  ): Promise<Map<number, StatusTotals>> {
    const out = new Map<number, StatusTotals>();
    const offset = alignMs - bucketOf(alignMs, bucketMs); // 0: the window's buckets are the epoch's
    if (offset === 0) {
      const ranges = await this.mrange(new FilterBuilder('flagId', flagId), window, bucketMs);
      for (const range of ranges) {
        const status = statusOf(range);
        if (!status) continue;
        for (const sample of range.data)
          addTotals(out, Number(sample.getTimestamp()), status, finite(sample.getValue()));
      }
      return out;
    }
    const aligned = await this.supportsAlign();
    const width = aligned ? bucketMs : gcd(bucketMs, offset);
    const ranges = await this.rawRange(`flagId=${flagId}`, window, width, aligned ? alignMs : undefined);
    for (const { key, samples } of ranges) {
      const status = statusOfKey(key);
      if (!status) continue;
      for (const [ms, value] of samples) addTotals(out, bucketOf(ms, bucketMs, alignMs), status, value);
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

  private async mrange(filter: FilterBuilder, window: Window, bucketMs: number): Promise<MultiRangeResponse[]> {
    const targets = this.targets();
    const answers = await Promise.all(
      targets.map((target) =>
        (target === this.client ? this.rts : timeSeriesClient(target)).multiRange(
          new TimestampRange(window.fromMs, window.toMs),
          filter,
          undefined,
          new Aggregation(AggregationType.SUM, bucketMs),
          true,
        ),
      ),
    );
    return answers.flat();
  }

  /** `TS.MRANGE` sent raw (the package has no ALIGN): key and [ms, value] samples of each series. */
  private async rawRange(
    filter: string,
    window: Window,
    bucketMs: number,
    alignMs: number | undefined,
  ): Promise<Array<{ key: string; samples: Array<[number, number]> }>> {
    const args: Array<string | number> = [window.fromMs, window.toMs, 'AGGREGATION', 'sum', bucketMs];
    if (alignMs !== undefined) args.push('ALIGN', alignMs);
    args.push('FILTER', filter);
    const replies = await Promise.all(this.targets().map((target) => target.call('TS.MRANGE', ...args)));
    const out: Array<{ key: string; samples: Array<[number, number]> }> = [];
    for (const series of replies.flatMap((reply) => (Array.isArray(reply) ? (reply as unknown[]) : []))) {
      if (!Array.isArray(series)) continue;
      const [key, , samples] = series as [unknown, unknown, unknown];
      if (typeof key !== 'string' || !Array.isArray(samples)) continue;
      const parsed: Array<[number, number]> = [];
      for (const sample of samples as unknown[]) {
        if (!Array.isArray(sample)) continue;
        const [ms, value] = sample as [unknown, unknown];
        parsed.push([Number(ms), finite(Number(value))]);
      }
      out.push({ key, samples: parsed });
    }
    return out;
  }
}

function statusOfKey(key: string): 'success' | 'failure' | undefined {
  const status = key.slice(key.lastIndexOf(':') + 1);
  return status === 'success' || status === 'failure' ? status : undefined;
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
