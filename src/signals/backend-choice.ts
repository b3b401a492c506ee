/**
 * Which backend the sink writes with: fixed for 'native', decided at connect time for 'auto'
 * (TimeSeries probe), checked at connect time for a forced 'timeseries'. Logs one info line naming
 * the backend, and an error (once per connection) when a forced 'timeseries' finds no module.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { BackendName, WriteBackend } from './backend';
import { probeTimeSeries } from './detect';
import { NativeBackend } from './native-backend';
import { TimeSeriesBackend } from './timeseries-backend';

export type BackendDecision =
  | { readonly outcome: 'ready'; readonly backend: WriteBackend }
  /** Could not ask (connection trouble): try again later. */
  | { readonly outcome: 'unknown'; readonly detail: string }
  /** 'timeseries' was forced and the server has no module. */
  | { readonly outcome: 'missing' };

export class BackendChoice {
  private backend: WriteBackend | undefined;
  private announced = false;
  private moduleMissing = false;

  constructor(
    private readonly mode: 'auto' | 'timeseries' | 'native',
    private readonly retentionMs: number,
    private readonly logger: Logger,
  ) {}

  /** The backend for `stats()`: decided, or the forced one, or 'pending'. */
  get name(): BackendName | 'pending' {
    return this.backend?.name ?? (this.mode === 'auto' ? 'pending' : this.mode);
  }

  get decided(): boolean {
    return this.backend !== undefined;
  }

  /** A forced 'timeseries' found no module on this connection: events are to be dropped. */
  get missing(): boolean {
    return this.moduleMissing;
  }

  /** After a reconnect: the server may have changed, ask again. */
  reconnected(): void {
    this.moduleMissing = false;
  }

  async decide(client: Redis): Promise<BackendDecision> {
    if (this.backend) return { outcome: 'ready', backend: this.backend };
    if (this.mode === 'native') return this.use(new NativeBackend(this.retentionMs), 'signalBackend is "native"');
    const probe = await probeTimeSeries(client);
    if (probe.outcome === 'unknown') return probe;
    if (probe.outcome === 'present') {
      this.moduleMissing = false;
      return this.use(new TimeSeriesBackend(this.retentionMs), 'the server has the TimeSeries module');
    }
    if (this.mode === 'auto') {
      return this.use(new NativeBackend(this.retentionMs), `the server has no TimeSeries module: ${probe.detail}`);
    }
    this.moduleMissing = true;
    this.logger.error(
      `Signals: signalBackend is "timeseries" but the Redis server has no TimeSeries module (${probe.detail}); ` +
        'signal events are dropped. Use signalBackend "auto" or "native", or a server with the module (Redis 8, Redis Stack).',
    );
    return { outcome: 'missing' };
  }

  private use(backend: WriteBackend, why: string): BackendDecision {
    this.backend = backend;
    if (!this.announced) {
      this.announced = true;
      const what =
        backend.name === 'timeseries'
          ? 'Redis TimeSeries (TS.ADD, Tailslide wire format)'
          : 'the native Redis backend (hashes)';
      this.logger.info(`Signals: writing to ${what}; ${why}`);
    }
    return { outcome: 'ready', backend };
  }
}
