import type { NatsConnection, TlsOptions } from 'nats';
import { InvalidOptionError, describeValue } from './errors';
import type { HashingMode } from './evaluation/evaluator';
import type { Logger } from './logger';
import { parseAppId } from './util/app-id';
import {
  isNatsConnection,
  natsServers,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalPort,
  optionalString,
  resolveLogger,
  streamName,
} from './validate';
import type { WireFlag } from './ruleset/types';
import type { FlagSourceFactory } from './sources/types';

import {
  DEFAULT_REDIS_HOST,
  DEFAULT_REDIS_PORT,
  isRedisClient,
  redisClusterNodes,
  type RedisClient,
  type DeliveryMode,
  type ResolvedNatsOptions,
  type ResolvedRedisOptions,
} from './connection-options';

export {
  DEFAULT_REDIS_HOST,
  DEFAULT_REDIS_PORT,
  redisClusterNodes,
  type DeliveryMode,
  type RedisNode,
  type ResolvedNatsOptions,
  type ResolvedRedisOptions,
} from './connection-options';
export const DEFAULT_NATS_STREAM = 'flags_ruleset';
export const DEFAULT_INIT_TIMEOUT_MS = 15_000;
export const DEFAULT_SIGNAL_FLUSH_INTERVAL_MS = 1_000;
export const DEFAULT_SIGNAL_BATCH_SIZE = 1_000;
export const DEFAULT_SIGNAL_BUFFER_LIMIT = 100_000;
export const DEFAULT_SIGNAL_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_SIGNAL_FLUSH_TIMEOUT_MS = 5_000;
export const DEFAULT_RECONNECT_WAIT_MS = 1_000;
/**
 * 16 MiB. A ruleset reaches the SDK as one NATS message, and 8 MB is the usual ceiling of
 * `max_payload`: about 14,000 flags (docs/scale.md), which the cache file (indented JSON) holds in
 * 9.8 MB; 10,000 flags take 7.0 MB. Twice that leaves room, and still refuses the junk that made
 * start-up take seconds (a 27 MB file, issue 18).
 */
export const DEFAULT_CACHE_FILE_MAX_BYTES = 16 * 1024 * 1024;

export type { HashingMode };
export type SignalBackendOption = 'auto' | 'timeseries' | 'native' | 'off';

/** Options of `new FlagManager(options)`. The first seven are Tailslide's own. */
export interface FlagManagerOptions {
  /** NATS server URL, or several (`nats://host:4222`). Required unless `offline` or `natsConnection`. */
  natsServer?: string | readonly string[];
  /** JetStream stream holding the rulesets. Default `flags_ruleset`. */
  natsStream?: string;
  /** The app whose flags this manager serves: a number or a numeric string. */
  appId: number | string;
  /** NATS token (Tailslide calls it the SDK key). */
  sdkKey?: string;
  /** Default user context of evaluations that pass none. */
  userContext?: string;
  /** Redis host for signals. A URL such as `http://localhost` is accepted with a warning. */
  redisHost?: string;
  /** Redis port for signals. Default 6379. */
  redisPort?: number;

  /** Redis URL (`redis://` / `rediss://`, with password and db); wins over host/port. */
  redisUrl?: string;
  /** An ioredis 5 client of yours (`new Redis(…)`, a `Cluster`, or one on Sentinel); the SDK uses it and never closes it. */
  redisClient?: RedisClient;
  /**
   * Nodes of a Redis Cluster (`host:port` or `redis://[user:password@]host:port`; a few are enough,
   * the rest is discovered). Signals are then written with one MULTI per hash slot (docs/clusters.md).
   */
  redisClusterNodes?: readonly string[];
  /** NATS user and password. */
  natsUser?: string;
  natsPassword?: string;
  /** NATS NKey seed (`SU…`), for NKey authentication. */
  natsNkeySeed?: string;
  /** Path to a NATS credentials file (JWT + NKey seed). */
  natsCredsFile?: string;
  /** TLS options for NATS (`caFile`, `certFile`, `keyFile`, …); `true` requires TLS with defaults. */
  natsTls?: TlsOptions | true;
  /** A NATS connection of yours; the SDK uses it and never closes it. */
  natsConnection?: NatsConnection;
  /** How long `initialize()` waits for the first ruleset. Default 15000. */
  initTimeoutMs?: number;
  /** Wait between NATS reconnect attempts (jittered). Default 1000. */
  reconnectWaitMs?: number;
  /**
   * How rulesets arrive: `direct` (RePublish and direct get, no consumer on the server), `consumer`
   * (one JetStream consumer per manager), or `auto` (default): direct when the stream allows it.
   */
  delivery?: DeliveryMode;
  /** No NATS connection: serve `bootstrap` (and `setRuleset` updates). */
  offline?: boolean;
  /**
   * A ruleset in the wire format, or a path to a JSON file holding one. Required when offline;
   * online, it is served until the stream's first ruleset arrives (`source: 'bootstrap'`).
   */
  bootstrap?: readonly WireFlag[] | readonly unknown[] | string;
  /**
   * Path of a file where the last good ruleset is kept (written atomically on every update), read
   * at start when no ruleset arrives within `initTimeoutMs`, so a restart during an outage serves
   * the last known flags (`source: 'cache'`). Its content is the wire format (a JSON array).
   */
  cacheFile?: string;
  /**
   * Largest `cacheFile` (and `bootstrap` file) read, in bytes: a larger one is refused, before it is
   * read, with a `CACHE_FILE` error (an `INVALID_OPTION` one for a bootstrap file). Default 16 MiB.
   */
  cacheFileMaxBytes?: number;
  /**
   * Where the rulesets come from: a factory called once by `initialize()`, e.g. a `TestData`'s
   * `factory()`. Default: the app's JetStream stream, or the bootstrap with `offline: true`.
   */
  source?: FlagSourceFactory;
  /** Rollout hashing. Default `murmur3`; `tailslide-md5` matches Tailslide's Python and Ruby SDKs. */
  hashing?: HashingMode;
  /** Where the SDK writes what it has to say. Default: warnings and errors to stderr. */
  logger?: Logger;

  /** Signal backend. `auto` (default) uses TimeSeries when the module is there, native otherwise. */
  signalBackend?: SignalBackendOption;
  /** How often buffered signals are written. Default 1000 ms. */
  signalFlushIntervalMs?: number;
  /** A batch is written early when this many events are buffered. Default 1000. */
  signalBatchSize?: number;
  /** Events kept while Redis is unreachable; past it the oldest are dropped. Default 100000. */
  signalBufferLimit?: number;
  /** Retention of signal series. Default 7 days. */
  signalRetentionMs?: number;
  /** How long `disconnect()` waits to flush pending signals. Default 5000 ms. */
  signalFlushTimeoutMs?: number;
}

export interface ResolvedSignalOptions {
  readonly backend: SignalBackendOption;
  readonly flushIntervalMs: number;
  readonly batchSize: number;
  readonly bufferLimit: number;
  readonly retentionMs: number;
  readonly flushTimeoutMs: number;
  readonly redis: ResolvedRedisOptions;
}

export interface ResolvedOptions {
  readonly appId: number;
  readonly userContext: string;
  readonly initTimeoutMs: number;
  readonly hashing: HashingMode;
  readonly logger: Logger;
  readonly offline: boolean;
  readonly bootstrap: readonly unknown[] | string | undefined;
  readonly cacheFile: string | undefined;
  readonly cacheFileMaxBytes: number;
  /** A source of the user's (the `source` option); undefined for the built-in ones. */
  readonly sourceFactory: FlagSourceFactory | undefined;
  /** Undefined when offline or with a `source` of the user's. */
  readonly nats: ResolvedNatsOptions | undefined;
  readonly signals: ResolvedSignalOptions;
  /** Things worth a warning that are not errors (e.g. `redisHost` given as a URL). */
  readonly warnings: readonly string[];
}

const KNOWN_OPTIONS = new Set<string>([
  'natsServer',
  'natsStream',
  'appId',
  'sdkKey',
  'userContext',
  'redisHost',
  'redisPort',
  'redisUrl',
  'redisClient',
  'redisClusterNodes',
  'natsUser',
  'natsPassword',
  'natsNkeySeed',
  'natsCredsFile',
  'natsTls',
  'natsConnection',
  'initTimeoutMs',
  'reconnectWaitMs',
  'delivery',
  'offline',
  'bootstrap',
  'cacheFile',
  'cacheFileMaxBytes',
  'source',
  'hashing',
  'logger',
  'signalBackend',
  'signalFlushIntervalMs',
  'signalBatchSize',
  'signalBufferLimit',
  'signalRetentionMs',
  'signalFlushTimeoutMs',
]);

/** Validates options once, at the constructor. Throws `InvalidOptionError` naming the option and value. */
export function resolveOptions(input: FlagManagerOptions): ResolvedOptions {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError('options', input, 'an object');
  }
  const options = input as FlagManagerOptions & Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key) && options[key] !== undefined) {
      throw new InvalidOptionError(
        key,
        options[key],
        `no such option; known options: ${[...KNOWN_OPTIONS].join(', ')}`,
      );
    }
  }
  const warnings: string[] = [];
  const logger = resolveLogger(options.logger);
  const appId = appIdOption(options.appId);
  const offline = optionalBoolean('offline', options.offline) ?? false;
  const userContext = optionalString('userContext', options.userContext) ?? '';
  const initTimeoutMs = optionalInteger('initTimeoutMs', options.initTimeoutMs, 0) ?? DEFAULT_INIT_TIMEOUT_MS;
  const hashing = optionalEnum('hashing', options.hashing, ['murmur3', 'tailslide-md5'] as const) ?? 'murmur3';

  let bootstrap: readonly unknown[] | string | undefined;
  if (options.bootstrap !== undefined) {
    if (typeof options.bootstrap === 'string') {
      if (options.bootstrap.trim() === '')
        throw new InvalidOptionError('bootstrap', options.bootstrap, 'a file path or an array of flags');
      bootstrap = options.bootstrap;
    } else if (Array.isArray(options.bootstrap)) {
      bootstrap = options.bootstrap as readonly unknown[];
    } else {
      throw new InvalidOptionError(
        'bootstrap',
        options.bootstrap,
        'an array of flags in the wire format, or a path to a JSON file',
      );
    }
  }
  if (offline && bootstrap === undefined) {
    throw new InvalidOptionError('bootstrap', undefined, 'a ruleset (array or JSON file path) when "offline" is true');
  }

  const sourceFactory = options.source;
  if (sourceFactory !== undefined && typeof sourceFactory !== 'function') {
    throw new InvalidOptionError(
      'source',
      sourceFactory,
      'a function (context) => FlagSource, e.g. testData.factory()',
    );
  }
  if (sourceFactory !== undefined && offline) {
    throw new InvalidOptionError('offline', true, 'not set together with "source" (the source supplies the flags)');
  }
  const cacheFile = resolveCacheFile(options.cacheFile, offline);
  const cacheFileMaxBytes =
    optionalInteger('cacheFileMaxBytes', options.cacheFileMaxBytes, 1) ?? DEFAULT_CACHE_FILE_MAX_BYTES;

  let nats: ResolvedNatsOptions | undefined;
  if (sourceFactory !== undefined) {
    const ignored = NATS_OPTIONS.filter((key) => options[key] !== undefined);
    if (ignored.length > 0) warnings.push(`${ignored.join(', ')} ignored: the "source" option supplies the flags`);
  } else if (!offline) {
    nats = resolveNats(options);
  }
  const signals = resolveSignals(options, warnings);
  return {
    appId,
    userContext,
    initTimeoutMs,
    hashing,
    logger,
    offline,
    bootstrap,
    cacheFile,
    cacheFileMaxBytes,
    sourceFactory,
    nats,
    signals,
    warnings,
  };
}

const NATS_OPTIONS = [
  'natsServer',
  'natsStream',
  'sdkKey',
  'natsUser',
  'natsPassword',
  'natsNkeySeed',
  'natsCredsFile',
  'natsTls',
  'natsConnection',
  'reconnectWaitMs',
  'delivery',
] as const satisfies readonly (keyof FlagManagerOptions)[];

function resolveCacheFile(value: unknown, offline: boolean): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0') || /[/\\]$/.test(value)) {
    throw new InvalidOptionError('cacheFile', value, 'the path of a file (its directory must exist)');
  }
  if (offline) {
    throw new InvalidOptionError(
      'cacheFile',
      value,
      'no cache file when "offline" is true (to serve that file, pass it as "bootstrap")',
    );
  }
  return value;
}

function resolveNats(options: FlagManagerOptions): ResolvedNatsOptions {
  const connection = options.natsConnection;
  if (connection !== undefined && !isNatsConnection(connection)) {
    throw new InvalidOptionError('natsConnection', connection, 'a NatsConnection from the "nats" package');
  }
  let servers: string[] = [];
  if (options.natsServer !== undefined) servers = natsServers('natsServer', options.natsServer);
  else if (connection === undefined) {
    throw new InvalidOptionError('natsServer', undefined, 'a NATS URL (or "natsConnection", or "offline: true")');
  }
  const stream = streamName('natsStream', options.natsStream ?? DEFAULT_NATS_STREAM);
  let tls: TlsOptions | undefined;
  if (options.natsTls === true) tls = {};
  else if (options.natsTls !== undefined) {
    if (typeof options.natsTls !== 'object' || options.natsTls === null) {
      throw new InvalidOptionError(
        'natsTls',
        options.natsTls,
        'true or an object of TLS options (caFile, certFile, keyFile)',
      );
    }
    tls = options.natsTls;
  }
  const user = optionalString('natsUser', options.natsUser);
  const password = optionalString('natsPassword', options.natsPassword);
  if (password !== undefined && user === undefined) {
    throw new InvalidOptionError('natsUser', undefined, 'a user name when "natsPassword" is set');
  }
  const nkeySeed = optionalString('natsNkeySeed', options.natsNkeySeed);
  if (nkeySeed !== undefined && !/^S[A-Z2-7]{50,}$/.test(nkeySeed)) {
    throw new InvalidOptionError('natsNkeySeed', '(hidden)', 'an NKey seed starting with "S"');
  }
  return {
    servers,
    stream,
    token: optionalString('sdkKey', options.sdkKey),
    user,
    password,
    nkeySeed,
    credsFile: optionalString('natsCredsFile', options.natsCredsFile),
    tls,
    connection,
    reconnectWaitMs: optionalInteger('reconnectWaitMs', options.reconnectWaitMs, 1) ?? DEFAULT_RECONNECT_WAIT_MS,
    delivery: optionalEnum('delivery', options.delivery, ['auto', 'direct', 'consumer'] as const) ?? 'auto',
  };
}

function resolveSignals(options: FlagManagerOptions, warnings: string[]): ResolvedSignalOptions {
  const client = options.redisClient;
  if (client !== undefined && !isRedisClient(client)) {
    throw new InvalidOptionError('redisClient', client, 'an ioredis client');
  }
  const url = optionalString('redisUrl', options.redisUrl);
  if (url !== undefined && !/^rediss?:\/\//i.test(url)) {
    throw new InvalidOptionError('redisUrl', url, 'a URL starting with redis:// or rediss://');
  }
  let host = optionalString('redisHost', options.redisHost) ?? DEFAULT_REDIS_HOST;
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\/([^/:]+)(?::(\d+))?\/?$/i.exec(host);
  let portFromHost: number | undefined;
  if (schemeMatch) {
    const bare = schemeMatch[2] ?? host;
    warnings.push(
      `redisHost ${describeValue(host)} is a URL; using host "${bare}" (pass a bare host name, or redisUrl)`,
    );
    host = bare;
    if (schemeMatch[3] !== undefined) portFromHost = Number(schemeMatch[3]);
  } else if (host.trim() === '' || /[\s/]/.test(host)) {
    throw new InvalidOptionError('redisHost', host, 'a host name or IP address');
  }
  const port = optionalPort('redisPort', options.redisPort) ?? portFromHost ?? DEFAULT_REDIS_PORT;
  const backend =
    optionalEnum('signalBackend', options.signalBackend, ['auto', 'timeseries', 'native', 'off'] as const) ?? 'auto';
  return {
    backend,
    flushIntervalMs:
      optionalInteger('signalFlushIntervalMs', options.signalFlushIntervalMs, 1) ?? DEFAULT_SIGNAL_FLUSH_INTERVAL_MS,
    batchSize: optionalInteger('signalBatchSize', options.signalBatchSize, 1) ?? DEFAULT_SIGNAL_BATCH_SIZE,
    bufferLimit: optionalInteger('signalBufferLimit', options.signalBufferLimit, 1) ?? DEFAULT_SIGNAL_BUFFER_LIMIT,
    retentionMs: optionalInteger('signalRetentionMs', options.signalRetentionMs, 0) ?? DEFAULT_SIGNAL_RETENTION_MS,
    flushTimeoutMs:
      optionalInteger('signalFlushTimeoutMs', options.signalFlushTimeoutMs, 0) ?? DEFAULT_SIGNAL_FLUSH_TIMEOUT_MS,
    redis: { client, clusterNodes: redisClusterNodes(options.redisClusterNodes), url, host, port },
  };
}

/** The option `option` as an app id (a number or a numeric string), or an InvalidOptionError naming it. */
export function appIdOption(value: unknown, option = 'appId'): number {
  const appId = parseAppId(value);
  if (appId === undefined) {
    throw new InvalidOptionError(option, value, 'a non-negative integer or a numeric string such as "1"');
  }
  return appId;
}
