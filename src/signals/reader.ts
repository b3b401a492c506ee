/**
 * Reading signals back: what a dashboard charts and what a circuit breaker decides on.
 *
 * `new SignalReader(options)` is inert; the first query connects (own client: fails fast while
 * Redis is down) and, with backend 'auto', asks the server whether it has the TimeSeries module.
 * Queries reject with a `ConnectionError` when Redis cannot be reached and a `TailslideError`
 * (code 'SIGNALS') when Redis refuses a query; arguments are checked first (`InvalidOptionError`).
 */
import { AuthorizationError, ConnectionError, InvalidOptionError, TailslideError } from '../errors';
import { silentLogger, safeLogger, type Logger } from '../logger';
import { DEFAULT_REDIS_HOST, DEFAULT_REDIS_PORT, redisClusterNodes, type ResolvedRedisOptions } from '../options';
import { isRedisClient, type RedisClient } from './client';
import { probeTimeSeries } from './detect';
import { eventToken } from './keys';
import { NativeReader } from './native-reader';
import { bucketOf, type MetricTotals, type ReadBackend, type StatusTotals } from './read-backend';
import { CONNECT_TIMEOUT_MS, openRedis, type RedisConnection } from './redis-connection';
import { describeError, isCredentialsError, isReplyError } from './redis-errors';
import { TimeSeriesReader } from './timeseries-reader';
import type { Variant } from './types';

const CONNECTION_TROUBLE = /Stream isn't writeable|Connection is closed|MaxRetriesPerRequest|ECONN|ETIMEDOUT|EPIPE/;

/** Most buckets one `flagSeries()` call returns. */
export const MAX_SERIES_BUCKETS = 100_000;

export interface SignalReaderOptions {
  /** `redis://` or `rediss://` URL; wins over host/port. */
  redisUrl?: string;
  /** Default `localhost`. */
  redisHost?: string;
  /** Default 6379. */
  redisPort?: number;
  /** An ioredis 5 client of yours (`new Redis(…)`, a `Cluster`, or one on Sentinel): used, never closed. */
  redisClient?: RedisClient;
  /** Nodes of a Redis Cluster (`host:port` or `redis://host:port`), as the manager's option. */
  redisClusterNodes?: readonly string[];
  /** Where the signals are: 'auto' (default) asks the server for the TimeSeries module. */
  backend?: 'auto' | 'timeseries' | 'native';
  logger?: Logger;
}

/** A time window, both ends included, in ms since the epoch. */
export interface SignalWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface SeriesWindow extends SignalWindow {
  /** Bucket width. */
  readonly bucketMs: number;
  /**
   * Where buckets start: `'epoch'` (default) at multiples of `bucketMs` since the epoch, as TS.MRANGE
   * aligns them; `'start'` at `fromMs + k × bucketMs`, as `TS.MRANGE … ALIGN start` (Tailslide's
   * dashboard) does. On RedisTimeSeries before 1.6, which ignores ALIGN, the reader asks for finer
   * epoch-aligned buckets that nest into the window's and adds them up: the same result.
   */
  readonly align?: 'epoch' | 'start';
}

export interface FlagCounts {
  readonly success: number;
  readonly failure: number;
  readonly total: number;
  /** failure / total; 0 when total is 0. */
  readonly errorRate: number;
}

export interface FlagBucket {
  readonly startMs: number;
  readonly success: number;
  readonly failure: number;
}

export interface AppFlagCounts extends FlagCounts {
  readonly flagId: number;
}

export interface MetricStats {
  readonly count: number;
  readonly sum: number;
  /** sum / count; 0 when count is 0. */
  readonly mean: number;
}

/** A custom metric compared between users who had the flag ('on') and who did not ('off'). */
export interface MetricSummary {
  /** Users with the flag on / off (a boolean flag's variants). */
  readonly on: MetricStats;
  readonly off: MetricStats;
  /** Every variant asked for or found: `on`/`off`, or variation indexes (`"0"`, `"1"`, …). */
  readonly variants: Readonly<Record<Variant, MetricStats>>;
}

/** Options of `metricSummary`. */
export interface MetricSummaryOptions {
  /**
   * The variants to read (default `['on', 'off']`). A flag with its own variations records the
   * variation index: pass `['0', '1', '2']`. The native backend reads exactly these; TimeSeries
   * also returns any other variant it finds.
   */
  readonly variants?: readonly Variant[];
}

export class SignalReader {
  private readonly redis: ResolvedRedisOptions;
  private readonly mode: 'auto' | 'timeseries' | 'native';
  private readonly logger: Logger;
  private connection: RedisConnection | undefined;
  private backend: ReadBackend | undefined;
  private closed = false;

  constructor(options: SignalReaderOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    const { redisUrl, redisHost, redisPort, redisClient, backend, logger } = options;
    if (redisClient !== undefined && !isRedisClient(redisClient)) {
      throw new InvalidOptionError('redisClient', redisClient, 'an ioredis client');
    }
    if (redisUrl !== undefined && (typeof redisUrl !== 'string' || !/^rediss?:\/\//i.test(redisUrl))) {
      throw new InvalidOptionError('redisUrl', redisUrl, 'a URL starting with redis:// or rediss://');
    }
    if (
      redisHost !== undefined &&
      (typeof redisHost !== 'string' || redisHost.trim() === '' || /[\s/]/.test(redisHost))
    ) {
      throw new InvalidOptionError('redisHost', redisHost, 'a host name or IP address');
    }
    if (
      redisPort !== undefined &&
      (typeof redisPort !== 'number' || !Number.isInteger(redisPort) || redisPort < 1 || redisPort > 65535)
    ) {
      throw new InvalidOptionError('redisPort', redisPort, 'a port number from 1 to 65535');
    }
    if (backend !== undefined && backend !== 'auto' && backend !== 'timeseries' && backend !== 'native') {
      throw new InvalidOptionError('backend', backend, 'one of "auto", "timeseries", "native"');
    }
    this.redis = {
      client: redisClient,
      clusterNodes: redisClusterNodes(options.redisClusterNodes),
      url: redisUrl,
      host: redisHost ?? DEFAULT_REDIS_HOST,
      port: redisPort ?? DEFAULT_REDIS_PORT,
    };
    this.mode = backend ?? 'auto';
    this.logger = logger === undefined ? silentLogger : safeLogger(logger);
  }

  /**
   * The backend this reader reads: the one asked for, or with `auto` the one found on the first
   * query (undefined until then).
   */
  get backendName(): 'timeseries' | 'native' | undefined {
    if (this.mode !== 'auto') return this.mode;
    return this.backend?.name;
  }

  /** Success and failure counts of a flag in the window. */
  async flagCounts(flagId: number, window: SignalWindow): Promise<FlagCounts> {
    checkId('flagId', flagId);
    checkWindow(window);
    const backend = await this.ready();
    return counts(await this.query(() => backend.flagTotals(flagId, window)));
  }

  /** Success and failure counts per bucket, every bucket of the window present (zeros included). */
  async flagSeries(flagId: number, window: SeriesWindow): Promise<FlagBucket[]> {
    checkId('flagId', flagId);
    checkWindow(window);
    const { bucketMs } = window;
    if (typeof bucketMs !== 'number' || !Number.isSafeInteger(bucketMs) || bucketMs < 1) {
      throw new InvalidOptionError('window.bucketMs', bucketMs, 'an integer ≥ 1');
    }
    const { align } = window;
    if (align !== undefined && align !== 'epoch' && align !== 'start')
      throw new InvalidOptionError('window.align', align, 'one of "epoch", "start"');
    const alignMs = align === 'start' ? window.fromMs : 0;
    const first = bucketOf(window.fromMs, bucketMs, alignMs);
    const n = Math.floor((window.toMs - first) / bucketMs) + 1;
    if (n > MAX_SERIES_BUCKETS) {
      throw new InvalidOptionError(
        'window.bucketMs',
        bucketMs,
        `a width giving at most ${MAX_SERIES_BUCKETS} buckets (this window needs ${n})`,
      );
    }
    const backend = await this.ready();
    const sparse = await this.query(() => backend.flagBuckets(flagId, window, bucketMs, alignMs));
    const out: FlagBucket[] = [];
    for (let i = 0; i < n; i += 1) {
      const startMs = first + i * bucketMs;
      const totals = sparse.get(startMs);
      out.push({ startMs, success: totals?.success ?? 0, failure: totals?.failure ?? 0 });
    }
    return out;
  }

  /** Counts of every flag of the app that has signals within the retention (what a breaker reads). */
  async appCounts(appId: number, window: SignalWindow): Promise<AppFlagCounts[]> {
    checkId('appId', appId);
    checkWindow(window);
    const backend = await this.ready();
    const totals = await this.query(() => backend.appTotals(appId, window));
    return [...totals.entries()].sort(([a], [b]) => a - b).map(([flagId, t]) => ({ flagId, ...counts(t) }));
  }

  /** Count, sum and mean of a custom metric for users with the flag on and off. */
  async metricSummary(
    flagId: number,
    eventName: string,
    window: SignalWindow,
    options: MetricSummaryOptions = {},
  ): Promise<MetricSummary> {
    checkId('flagId', flagId);
    const token = eventToken(eventName);
    if (token === undefined)
      throw new InvalidOptionError('eventName', eventName, 'a non-blank string of at most 200 characters');
    checkWindow(window);
    const backend = await this.ready();
    const variants = options.variants ?? DEFAULT_VARIANTS;
    if (!Array.isArray(variants) || !variants.every((v) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v))) {
      throw new InvalidOptionError('variants', variants, 'an array of variant names (on, off, or variation indexes)');
    }
    const totals = await this.query(() => backend.metricTotals(flagId, token, window, variants));
    const byVariant = Object.create(null) as Record<Variant, MetricStats>;
    for (const [variant, t] of totals) byVariant[variant] = stats(t);
    const zero = stats({ count: 0, sum: 0 });
    return { on: byVariant.on ?? zero, off: byVariant.off ?? zero, variants: byVariant };
  }

  /** Closes the Redis client if the reader created it. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.backend = undefined;
    await connection?.close();
  }

  private async ready(): Promise<ReadBackend> {
    if (this.closed) throw new TailslideError('CLOSED', 'SignalReader is closed');
    if (!this.connection) {
      this.connection = openRedis(
        this.redis,
        (error) => this.logger.debug(`SignalReader: Redis ${error.message}`),
        (message) => this.logger.debug(`SignalReader: ${message}`),
      );
    }
    const connection = this.connection;
    connection.connect();
    // Fail fast: a refused port or refused credentials end the wait at once, not after the timeout.
    const outcome = await connection.waitReady(CONNECT_TIMEOUT_MS, true);
    if (!outcome.ready) {
      const { error } = outcome;
      if (error && isCredentialsError(error))
        throw new AuthorizationError(`SignalReader: Redis refused the credentials (${describeError(error)})`, {
          cause: error,
        });
      throw new ConnectionError(
        `SignalReader: Redis is not reachable (${error ? describeError(error) : `connection ${connection.status}`})`,
        { cause: error },
      );
    }
    if (this.backend) return this.backend;
    if (this.mode === 'native') return (this.backend = new NativeReader(connection.client));
    if (this.mode === 'timeseries') return (this.backend = new TimeSeriesReader(connection.client));
    const probe = await probeTimeSeries(connection.client);
    if (probe.outcome === 'unknown')
      throw new ConnectionError(`SignalReader: could not ask Redis for the TimeSeries module (${probe.detail})`);
    this.backend =
      probe.outcome === 'present' ? new TimeSeriesReader(connection.client) : new NativeReader(connection.client);
    this.logger.info(`SignalReader: reading the ${this.backend.name} backend`);
    return this.backend;
  }

  private async query<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const message = describeError(error);
      // redis-time-series-ts rethrows every failure as a plain Error naming the command, so its
      // connection failures are told apart by their ioredis message.
      const refused =
        isReplyError(error) || (/error when executing command/.test(message) && !CONNECTION_TROUBLE.test(message));
      if (refused)
        throw new TailslideError('SIGNALS', `SignalReader: Redis refused the query (${message})`, { cause: error });
      throw new ConnectionError(`SignalReader: query failed (${message})`, { cause: error });
    }
  }
}

function counts(totals: StatusTotals): FlagCounts {
  const total = totals.success + totals.failure;
  return {
    success: totals.success,
    failure: totals.failure,
    total,
    errorRate: total === 0 ? 0 : totals.failure / total,
  };
}

const DEFAULT_VARIANTS: readonly Variant[] = ['on', 'off'];

function stats(totals: MetricTotals): MetricStats {
  return { count: totals.count, sum: totals.sum, mean: totals.count === 0 ? 0 : totals.sum / totals.count };
}

function checkId(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(name, value, 'a non-negative integer');
  }
}

function checkWindow(window: SignalWindow): void {
  if (typeof window !== 'object' || window === null)
    throw new InvalidOptionError('window', window, 'an object { fromMs, toMs }');
  const { fromMs, toMs } = window;
  if (typeof fromMs !== 'number' || !Number.isSafeInteger(fromMs) || fromMs < 0) {
    throw new InvalidOptionError('window.fromMs', fromMs, 'an integer ≥ 0 (ms since the epoch)');
  }
  if (typeof toMs !== 'number' || !Number.isSafeInteger(toMs) || toMs < fromMs) {
    throw new InvalidOptionError('window.toMs', toMs, `an integer ≥ window.fromMs (${fromMs})`);
  }
}
