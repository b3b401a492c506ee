/**
 * TimeSeries backend: the wire format of Tailslide (spec §2), written safely.
 *
 * Every folded sample is one `TS.ADD <key> <ms> <count> RETENTION <r> DUPLICATE_POLICY SUM
 * ON_DUPLICATE SUM LABELS …`: it creates the series on first write with the right labels, retention
 * and SUM policy, and sums into samples of the same millisecond even on a series created earlier
 * with the BLOCK policy (by the original SDKs). LABELS must come last: the module reads every
 * argument after LABELS as a label pair. Arguments are built with the `redis-time-series-ts`
 * request builder; its `RedisTimeSeries.add()` cannot be used here (see docs/signals.md, "Design notes").
 */
import { Label } from 'redis-time-series-ts/lib/entity/label';
import { Sample } from 'redis-time-series-ts/lib/entity/sample';
import { RequestParamsBuilder } from 'redis-time-series-ts/lib/builder/requestParamsBuilder';
import type { BufferEntry } from './buffer';
import type { PlannedCommand, WriteBackend } from './backend';
import { timeSeriesMetricKey, timeSeriesSignalKey } from './keys';

/** Label names of custom-metric series: none of them is `flagId`, `appId` or `status`. */
export const METRIC_LABELS = {
  flagId: 'metricFlagId',
  appId: 'metricAppId',
  event: 'metric',
  variant: 'variant',
  kind: 'kind',
} as const;

export class TimeSeriesBackend implements WriteBackend {
  readonly name = 'timeseries' as const;
  private readonly builder = new RequestParamsBuilder();

  /** @param retentionMs series retention (`RETENTION`); 0 keeps samples forever. */
  constructor(private readonly retentionMs: number) {}

  plan(entries: readonly BufferEntry[]): PlannedCommand[] {
    const commands: PlannedCommand[] = [];
    entries.forEach((entry, owner) => {
      const { series } = entry;
      if (series.kind === 'signal') {
        const labels = [
          new Label('status', series.status),
          new Label('flagId', series.flagId),
          new Label('appId', series.appId),
        ];
        commands.push(
          this.add(timeSeriesSignalKey(series.flagId, series.status), entry.atMs, entry.count, labels, owner),
        );
      } else {
        for (const kind of ['count', 'sum'] as const) {
          const labels = [
            new Label(METRIC_LABELS.flagId, series.flagId),
            new Label(METRIC_LABELS.appId, series.appId),
            new Label(METRIC_LABELS.event, series.event),
            new Label(METRIC_LABELS.variant, series.variant),
            new Label(METRIC_LABELS.kind, kind),
          ];
          const key = timeSeriesMetricKey(series.flagId, series.event, series.variant, kind);
          commands.push(this.add(key, entry.atMs, kind === 'count' ? entry.count : entry.sum, labels, owner));
        }
      }
    });
    return commands;
  }

  private add(key: string, atMs: number, value: number, labels: Label[], owner: number): PlannedCommand {
    const args = this.builder
      .reset()
      .addSample(new Sample(key, value, atMs))
      .addRetention(this.retentionMs)
      .addDuplicatePolicy('SUM')
      .addOnDuplicate('SUM')
      .addLabels(labels)
      .get();
    return { name: 'TS.ADD', args, owner };
  }
}
