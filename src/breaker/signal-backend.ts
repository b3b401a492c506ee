/**
 * The breaker's Redis: its connection (opened through the signal pipeline's own
 * `openRedis`) and the signal reader on it, chosen by `signalBackend` ('auto' asks
 * Redis for the TimeSeries module once it answers).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { probeTimeSeries } from '../signals/detect';
import { openRedis, type RedisConnection } from '../signals/redis-connection';
import type { ResolvedBreakerOptions } from './options';
import type { BreakerSignals } from './signals';
import { NativeSignals } from './signals-native';
import { TimeSeriesSignals } from './signals-timeseries';

export class SignalBackend {
  /** The Redis connection as opened (ours, or the host's client adopted): closed at `close()`. */
  private connection: RedisConnection | undefined;
  private client: Redis | undefined;
  private signals: BreakerSignals | undefined;
  /** Resolves true once Redis answers, false after `connectTimeoutMs` (or before `connect()`). */
  ready: Promise<boolean> = Promise.resolve(false);

  constructor(
    private readonly options: Pick<ResolvedBreakerOptions, 'redis' | 'signalBackend' | 'connectTimeoutMs'>,
    private readonly logger: Logger,
  ) {}

  connect(): void {
    // The signal pipeline's own connection: same fail-fast policy, an `error` listener on our client,
    // the host's client adopted as it is (used, never closed).
    const connection = openRedis(
      this.options.redis,
      (err) => this.logger.debug(`CircuitBreaker: Redis ${err.message}`),
      (message) => this.logger.debug(`CircuitBreaker: ${message}`),
    );
    this.connection = connection;
    connection.connect();
    const client = connection.client;
    this.client = client;
    this.ready = connection.waitReady(this.options.connectTimeoutMs).then((outcome) => outcome.ready);
    if (this.options.signalBackend === 'native') this.useNative(client);
    else if (this.options.signalBackend === 'timeseries') this.signals = new TimeSeriesSignals(client);
  }

  /** The signal reader; 'auto' asks Redis once it answers. Rejects while Redis cannot be read. */
  async reader(): Promise<BreakerSignals> {
    const client = this.client;
    if (client === undefined) throw new Error('not started');
    if (client.status !== 'ready') throw new Error(`Redis is not reachable (connection ${client.status})`);
    if (this.signals !== undefined) return this.signals;
    const probe = await probeTimeSeries(client);
    if (probe.outcome === 'unknown') throw new Error(`could not ask Redis for the TimeSeries module (${probe.detail})`);
    if (probe.outcome === 'present') this.signals = new TimeSeriesSignals(client);
    else this.useNative(client);
    this.logger.info(`CircuitBreaker: reading the ${this.signals?.backend ?? '?'} signal backend`);
    if (this.signals === undefined) throw new Error('no signal backend');
    return this.signals;
  }

  /** Rejects when Redis does not answer (a poll that read no signals must still hear from it). */
  async ping(): Promise<void> {
    if (this.client !== undefined) await this.client.ping();
  }

  /** Closes our connection (never the host's client). Safe to call twice. */
  async close(): Promise<void> {
    await this.connection?.close();
    this.connection = undefined;
    this.client = undefined;
  }

  private useNative(client: Redis): void {
    this.signals = new NativeSignals(client, (reason) =>
      this.logger.info(`CircuitBreaker: Redis refused the summing script (${reason}); reading with HMGET instead`),
    );
  }
}
