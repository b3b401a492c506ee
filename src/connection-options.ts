/**
 * The connection options every part shares once resolved: the manager (flat `natsServer`,
 * `sdkKey`, `redisUrl`, …), the admin library (`nats: { servers, token }`), the breaker, the
 * dashboard, the reader and the CLI each take their own input shape, validate it once, and hand
 * these to the connection layer (`openNats` in src/nats/open.ts, `openRedis` in
 * src/signals/redis-connection.ts). Nothing else opens a connection.
 */
import type { NatsConnection, TlsOptions } from 'nats';
import { InvalidOptionError } from './errors';

/*
 * The Redis client the SDK accepts from you (`redisClient`): an ioredis 5 client (`new Redis(…)`,
 * not a Cluster), described structurally by the few members the SDK uses, so that the package's
 * public types do not pull in ioredis' own (which need `@types/node`). Only ioredis clients are
 * supported: the TimeSeries backend also reaches the client's `createBuiltinCommand`.
 */

/** A reply of a MULTI/EXEC or pipeline: one `[error, result]` per command, or null when aborted. */
export type RedisExecReply = Array<[Error | null, unknown]> | null;

export interface RedisClient {
  /** `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  readonly status: string;
  connect(): Promise<void>;
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  multi(): { call(command: string, ...args: Array<string | number>): unknown; exec(): Promise<RedisExecReply> };
  pipeline(): { hgetall(key: string): unknown; exec(): Promise<RedisExecReply> };
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Whether a value looks like a Redis client the SDK can use (checked at runtime on injected clients). */
export function isRedisClient(value: unknown): value is RedisClient {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return ['call', 'multi', 'pipeline', 'on', 'off', 'once', 'connect', 'quit', 'disconnect'].every(
    (name) => typeof c[name] === 'function',
  );
}

export const DEFAULT_REDIS_HOST = 'localhost';
export const DEFAULT_REDIS_PORT = 6379;

export interface ResolvedNatsOptions {
  readonly servers: readonly string[];
  readonly stream: string;
  readonly token: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly nkeySeed: string | undefined;
  readonly credsFile: string | undefined;
  readonly tls: TlsOptions | undefined;
  readonly connection: NatsConnection | undefined;
  readonly reconnectWaitMs: number;
  /** The manager's `delivery` (the admin library and the breaker leave it out: `auto`). */
  readonly delivery?: DeliveryMode;
}

/** How a manager follows its app (the `delivery` option). */
export type DeliveryMode = 'auto' | 'direct' | 'consumer';

export interface RedisNode {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
}

export interface ResolvedRedisOptions {
  /** Exactly one of `client` and `url`/`host` is used: an injected client wins. */
  readonly client: RedisClient | undefined;
  /** Redis Cluster seed nodes (`redisClusterNodes`), when given; wins over `url` and `host`. */
  readonly clusterNodes?: readonly RedisNode[] | undefined;
  readonly url: string | undefined;
  readonly host: string;
  readonly port: number;
}

/** `redisClusterNodes`: a non-empty list of `host:port` or `redis://[user:password@]host:port`. */
export function redisClusterNodes(value: unknown): RedisNode[] | undefined {
  if (value === undefined) return undefined;
  const expected = 'a non-empty list of "host:port" or "redis://host:port"';
  if (!Array.isArray(value) || value.length === 0) throw new InvalidOptionError('redisClusterNodes', value, expected);
  return value.map((item: unknown, i) => {
    const field = `redisClusterNodes[${i}]`;
    if (typeof item !== 'string') throw new InvalidOptionError(field, item, expected);
    const text = /^rediss?:\/\//i.test(item) ? item : `redis://${item}`;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InvalidOptionError(field, item, 'host:port or redis://host:port');
    }
    const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
    if (url.hostname === '') throw new InvalidOptionError(field, item, 'host:port or redis://host:port');
    const node: RedisNode = { host: url.hostname.replace(/^\[|\]$/g, ''), port };
    if (url.password !== '') {
      return {
        ...node,
        password: decodeURIComponent(url.password),
        ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
      };
    }
    return node;
  });
}
