/**
 * One `Series` object per series, found without building strings on the hot path (the buffer
 * folds by object identity), and event names turned into key tokens once. Bounded caches.
 */
import type { MetricSeries, SignalSeries } from './buffer';
import { eventToken } from './keys';
import type { SignalStatus, Variant } from './types';

const CACHE_LIMIT = 10_000;

export class SeriesRegistry {
  private readonly signals = new Map<number, Record<SignalStatus, SignalSeries>>();
  private readonly metrics = new Map<string, MetricSeries>();
  private readonly tokens = new Map<string, string | null>();

  signal(flagId: number, appId: number, status: SignalStatus): SignalSeries {
    let pair = this.signals.get(flagId);
    if (pair === undefined || pair.success.appId !== appId) {
      pair = {
        success: { kind: 'signal', flagId, appId, status: 'success' },
        failure: { kind: 'signal', flagId, appId, status: 'failure' },
      };
      if (this.signals.size >= CACHE_LIMIT) this.signals.clear();
      this.signals.set(flagId, pair);
    }
    return pair[status];
  }

  /** `event` is a token from `token()`. */
  metric(flagId: number, appId: number, event: string, variant: Variant): MetricSeries {
    const id = `${flagId}:${appId}:${variant}:${event}`;
    let series = this.metrics.get(id);
    if (series === undefined) {
      series = { kind: 'metric', flagId, appId, event, variant };
      if (this.metrics.size >= CACHE_LIMIT) this.metrics.clear();
      this.metrics.set(id, series);
    }
    return series;
  }

  /** The key token of an event name, or undefined when the name is invalid (see `eventToken`). */
  token(eventName: unknown): string | undefined {
    if (typeof eventName !== 'string') return undefined;
    const cached = this.tokens.get(eventName);
    if (cached !== undefined) return cached ?? undefined;
    const token = eventToken(eventName);
    if (this.tokens.size >= CACHE_LIMIT) this.tokens.clear();
    this.tokens.set(eventName, token ?? null);
    return token;
  }
}
