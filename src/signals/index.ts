/**
 * The signal pipeline: success/failure signals and custom metrics to Redis, and reading them back.
 * Design notes: docs/signals.md.
 */
import type { Logger } from '../logger';
import type { ResolvedSignalOptions } from '../options';
import { RedisSignalSink } from './sink';
import type { SignalSink } from './types';

/** The manager's signal sink. Inert until `start()`; with backend 'off' it records nothing. */
export function createSignalSink(options: ResolvedSignalOptions, logger: Logger): SignalSink {
  return new RedisSignalSink(options, logger);
}

export { SignalReader, MAX_SERIES_BUCKETS } from './reader';
export type {
  SignalReaderOptions,
  SignalWindow,
  SeriesWindow,
  FlagCounts,
  FlagBucket,
  AppFlagCounts,
  MetricStats,
  MetricSummary,
} from './reader';
export type { SignalSink, SignalStats, SignalStatus, Variant } from './types';
