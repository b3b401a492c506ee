/** Options of `new FlagAdmin(options)`, validated once at the constructor. */
import type { NatsConnection, TlsOptions } from 'nats';
import { InvalidOptionError } from '../errors';
import type { Logger } from '../logger';
import { DEFAULT_NATS_STREAM, DEFAULT_RECONNECT_WAIT_MS, type ResolvedNatsOptions } from '../options';
import { isNatsConnection, natsServers, optionalInteger, optionalString, resolveLogger, streamName } from '../validate';

/** How many times an edit is re-applied when other writers keep getting in first. */
export const DEFAULT_ADMIN_MAX_ATTEMPTS = 10;
/** First wait before re-applying an edit; doubles per attempt (jittered) up to the max. */
export const DEFAULT_ADMIN_RETRY_BASE_MS = 20;
export const DEFAULT_ADMIN_RETRY_MAX_MS = 1_000;
/** How long `connect()` tries before giving up (the SDK's manager retries forever; a CLI must not). */
export const DEFAULT_ADMIN_CONNECT_TIMEOUT_MS = 5_000;
/** Name of the admin library's NATS connections (shows in the server's connz). */
export const ADMIN_CONNECTION_NAME = 'tailslide-admin';

/** Where to connect. Shaped like the SDK's resolved NATS options, so those can be passed as they are. */
export interface AdminNatsOptions {
  /** NATS URL(s). Required unless `connection` is given. */
  readonly servers?: string | readonly string[];
  /** The ruleset stream. Default `flags_ruleset`. */
  readonly stream?: string;
  /** NATS token (Tailslide's SDK key). */
  readonly token?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly nkeySeed?: string | undefined;
  readonly credsFile?: string | undefined;
  /** TLS options; `true` requires TLS with defaults. */
  readonly tls?: TlsOptions | true | undefined;
  /** A connection of yours: used, never closed. */
  readonly connection?: NatsConnection | undefined;
  readonly reconnectWaitMs?: number;
}

export interface FlagAdminOptions {
  /** Connection options, or a NatsConnection of yours (then `stream` names the stream). */
  readonly nats: AdminNatsOptions | NatsConnection;
  /** The ruleset stream when `nats` is a connection (or to override `nats.stream`). */
  readonly stream?: string;
  readonly logger?: Logger;
  /** Attempts per edit under contention. Default 10. */
  readonly maxAttempts?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Clock for `created_at` / `updated_at` (tests). Default `() => new Date()`. */
  readonly now?: () => Date;
}

export interface ResolvedAdminOptions {
  readonly nats: ResolvedNatsOptions;
  readonly logger: Logger;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly connectTimeoutMs: number;
  readonly now: () => Date;
}

export function resolveAdminOptions(options: FlagAdminOptions): ResolvedAdminOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const input: AdminNatsOptions = isNatsConnection(options.nats) ? { connection: options.nats } : options.nats;
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError(
      'nats',
      input,
      'connection options ({ servers, stream, token, … }) or a NatsConnection',
    );
  }
  const connection = input.connection;
  if (connection !== undefined && !isNatsConnection(connection)) {
    throw new InvalidOptionError('nats.connection', connection, 'a NatsConnection from the "nats" package');
  }
  const servers = input.servers === undefined ? [] : natsServers('nats.servers', input.servers);
  if (servers.length === 0 && connection === undefined) {
    throw new InvalidOptionError('nats.servers', input.servers, 'at least one NATS URL (or a NatsConnection)');
  }
  const stream = streamName('stream', options.stream ?? input.stream ?? DEFAULT_NATS_STREAM);
  const user = optionalString('nats.user', input.user);
  const password = optionalString('nats.password', input.password);
  if (password !== undefined && user === undefined)
    throw new InvalidOptionError('nats.user', undefined, 'a user name when a password is set');
  const tls = input.tls === true ? {} : input.tls;
  if (tls !== undefined && (typeof tls !== 'object' || tls === null)) {
    throw new InvalidOptionError('nats.tls', input.tls, 'true or an object of TLS options');
  }
  const logger = resolveLogger(options.logger);
  const retryBaseMs = optionalInteger('retryBaseMs', options.retryBaseMs, 1) ?? DEFAULT_ADMIN_RETRY_BASE_MS;
  const retryMaxMs =
    optionalInteger('retryMaxMs', options.retryMaxMs, retryBaseMs) ?? Math.max(DEFAULT_ADMIN_RETRY_MAX_MS, retryBaseMs);
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new InvalidOptionError('now', options.now, 'a function returning a Date');
  return {
    nats: {
      servers,
      stream,
      token: optionalString('nats.token', input.token),
      user,
      password,
      nkeySeed: optionalString('nats.nkeySeed', input.nkeySeed),
      credsFile: optionalString('nats.credsFile', input.credsFile),
      tls,
      connection,
      reconnectWaitMs: optionalInteger('nats.reconnectWaitMs', input.reconnectWaitMs, 1) ?? DEFAULT_RECONNECT_WAIT_MS,
    },
    logger,
    maxAttempts: optionalInteger('maxAttempts', options.maxAttempts, 1) ?? DEFAULT_ADMIN_MAX_ATTEMPTS,
    retryBaseMs,
    retryMaxMs,
    connectTimeoutMs:
      optionalInteger('connectTimeoutMs', options.connectTimeoutMs, 1) ?? DEFAULT_ADMIN_CONNECT_TIMEOUT_MS,
    now: options.now ?? (() => new Date()),
  };
}
