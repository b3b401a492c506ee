/** Options of `new CircuitBreaker(options)`, validated once at the constructor. */
import type { NatsConnection, TlsOptions } from 'nats';
import { InvalidOptionError } from '../errors';
import type { Logger } from '../logger';
import {
  DEFAULT_NATS_STREAM,
  DEFAULT_RECONNECT_WAIT_MS,
  DEFAULT_REDIS_HOST,
  DEFAULT_REDIS_PORT,
  appIdOption,
  redisClusterNodes,
  type ResolvedNatsOptions,
  type ResolvedRedisOptions,
} from '../options';
import { isRedisClient, type RedisClient } from '../connection-options';
import {
  isNatsConnection,
  natsServers,
  optionalEnum,
  optionalInteger,
  optionalPort,
  optionalString,
  resolveLogger,
  streamName,
} from '../validate';

export const DEFAULT_BREAKER_WINDOW_MS = 3_000;
export const DEFAULT_BREAKER_POLL_INTERVAL_MS = 500;
export const DEFAULT_BREAKER_MIN_REQUESTS = 20;
/** Tower mode: how long a sent control message may go without Tower republishing the app. */
export const DEFAULT_TOWER_ACK_TIMEOUT_MS = 10_000;
/** All-apps mode: how often the stream's app list is read again (new apps are also seen at once). */
export const DEFAULT_APPS_REFRESH_MS = 30_000;
export const DEFAULT_BREAKER_CONNECT_TIMEOUT_MS = 5_000;
export const BREAKER_CONNECTION_NAME = 'tailslide-breaker';

export type BreakerMode = 'standalone' | 'tower';

/** The manager's NATS and Redis options (same names), and what the breaker watches and how. */
export interface CircuitBreakerOptions {
  natsServer?: string | readonly string[];
  natsStream?: string;
  sdkKey?: string;
  natsUser?: string;
  natsPassword?: string;
  natsNkeySeed?: string;
  natsCredsFile?: string;
  natsTls?: TlsOptions | true;
  /** A NATS connection of yours: used, never closed. */
  natsConnection?: NatsConnection;
  reconnectWaitMs?: number;
  redisUrl?: string;
  redisHost?: string;
  redisPort?: number;
  /** An ioredis client of yours (`new Redis(…)` or a `Cluster`): used, never closed. */
  redisClient?: RedisClient;
  /**
   * Nodes of a Redis Cluster (`host:port` or `redis://[user:password@]host:port`; a few are
   * enough), as the manager's option: signals are then read per hash slot and from every primary.
   */
  redisClusterNodes?: readonly string[];
  /** Where the signals are: 'auto' (default) asks Redis for the TimeSeries module. */
  signalBackend?: 'auto' | 'timeseries' | 'native';

  /** The apps to watch, or 'all': every app in the stream, following new ones. */
  apps: readonly (number | string)[] | 'all';
  /** 'standalone' (default) publishes rulesets; 'tower' sends Tailslide's control messages to Tower. */
  mode?: BreakerMode;
  /** Signals counted per decision. Default 3000 ms. */
  windowMs?: number;
  /** Time between polls. Default 500 ms. */
  pollIntervalMs?: number;
  /** No trip below this many requests in the flag's window. Default 20. */
  minRequests?: number;
  /** Poll on a timer (default). False: only `poll()` polls (tests, benchmarks). */
  autoPoll?: boolean;
  /** Give up connecting to NATS at `start()` after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  towerAckTimeoutMs?: number;
  appsRefreshMs?: number;
  logger?: Logger;
  /** The breaker's clock (ms since the epoch): windows, delays and the timestamps it writes. */
  now?: () => number;
}

export interface ResolvedBreakerOptions {
  readonly nats: ResolvedNatsOptions;
  /** Redis as the signal pipeline opens it (the same type as the manager's). */
  readonly redis: ResolvedRedisOptions;
  readonly signalBackend: 'auto' | 'timeseries' | 'native';
  readonly apps: readonly number[] | 'all';
  readonly mode: BreakerMode;
  readonly windowMs: number;
  readonly pollIntervalMs: number;
  readonly minRequests: number;
  readonly autoPoll: boolean;
  readonly connectTimeoutMs: number;
  readonly towerAckTimeoutMs: number;
  readonly appsRefreshMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

export function resolveBreakerOptions(options: CircuitBreakerOptions): ResolvedBreakerOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const connection = options.natsConnection;
  if (connection !== undefined && !isNatsConnection(connection)) {
    throw new InvalidOptionError('natsConnection', connection, 'a NatsConnection from the "nats" package');
  }
  const servers = options.natsServer === undefined ? [] : natsServers('natsServer', options.natsServer);
  if (servers.length === 0 && connection === undefined) {
    throw new InvalidOptionError('natsServer', options.natsServer, 'at least one NATS URL (or a natsConnection)');
  }
  const user = optionalString('natsUser', options.natsUser);
  const password = optionalString('natsPassword', options.natsPassword);
  if (password !== undefined && user === undefined)
    throw new InvalidOptionError('natsUser', undefined, 'a user name when a password is set');
  const tls = options.natsTls === true ? {} : options.natsTls;
  if (tls !== undefined && (typeof tls !== 'object' || tls === null))
    throw new InvalidOptionError('natsTls', options.natsTls, 'true or an object of TLS options');

  const redisClient = options.redisClient;
  if (redisClient !== undefined && !isRedisClient(redisClient)) {
    throw new InvalidOptionError('redisClient', redisClient, 'an ioredis client');
  }
  const redisUrl = optionalString('redisUrl', options.redisUrl);
  if (redisUrl !== undefined && !/^rediss?:\/\//i.test(redisUrl))
    throw new InvalidOptionError('redisUrl', redisUrl, 'a URL starting with redis:// or rediss://');

  const apps = options.apps;
  let resolvedApps: readonly number[] | 'all';
  if (apps === 'all') resolvedApps = 'all';
  else if (Array.isArray(apps) && apps.length > 0)
    resolvedApps = [...new Set(apps.map((app, i) => appIdOption(app, `apps[${i}]`)))];
  else throw new InvalidOptionError('apps', apps, 'a non-empty list of app ids, or "all"');

  if (options.now !== undefined && typeof options.now !== 'function')
    throw new InvalidOptionError('now', options.now, 'a function returning ms since the epoch');
  if (options.autoPoll !== undefined && typeof options.autoPoll !== 'boolean')
    throw new InvalidOptionError('autoPoll', options.autoPoll, 'true or false');

  return {
    nats: {
      servers,
      stream: streamName('natsStream', options.natsStream ?? DEFAULT_NATS_STREAM),
      token: optionalString('sdkKey', options.sdkKey),
      user,
      password,
      nkeySeed: optionalString('natsNkeySeed', options.natsNkeySeed),
      credsFile: optionalString('natsCredsFile', options.natsCredsFile),
      tls,
      connection,
      reconnectWaitMs: optionalInteger('reconnectWaitMs', options.reconnectWaitMs, 1) ?? DEFAULT_RECONNECT_WAIT_MS,
    },
    redis: {
      client: redisClient,
      clusterNodes: redisClusterNodes(options.redisClusterNodes),
      url: redisUrl,
      host: optionalString('redisHost', options.redisHost) ?? DEFAULT_REDIS_HOST,
      port: optionalPort('redisPort', options.redisPort) ?? DEFAULT_REDIS_PORT,
    },
    signalBackend:
      optionalEnum('signalBackend', options.signalBackend, ['auto', 'timeseries', 'native'] as const) ?? 'auto',
    apps: resolvedApps,
    mode: optionalEnum('mode', options.mode, ['standalone', 'tower'] as const) ?? 'standalone',
    windowMs: optionalInteger('windowMs', options.windowMs, 1) ?? DEFAULT_BREAKER_WINDOW_MS,
    pollIntervalMs: optionalInteger('pollIntervalMs', options.pollIntervalMs, 1) ?? DEFAULT_BREAKER_POLL_INTERVAL_MS,
    minRequests: optionalInteger('minRequests', options.minRequests, 1) ?? DEFAULT_BREAKER_MIN_REQUESTS,
    autoPoll: options.autoPoll ?? true,
    connectTimeoutMs:
      optionalInteger('connectTimeoutMs', options.connectTimeoutMs, 1) ?? DEFAULT_BREAKER_CONNECT_TIMEOUT_MS,
    towerAckTimeoutMs:
      optionalInteger('towerAckTimeoutMs', options.towerAckTimeoutMs, 1) ?? DEFAULT_TOWER_ACK_TIMEOUT_MS,
    appsRefreshMs: optionalInteger('appsRefreshMs', options.appsRefreshMs, 1) ?? DEFAULT_APPS_REFRESH_MS,
    logger: resolveLogger(options.logger),
    now: options.now ?? Date.now,
  };
}
