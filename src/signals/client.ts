/**
 * The shape of a Redis client the SDK accepts from you (`redisClient`): an ioredis 5 client
 * (`new Redis(…)`, not a Cluster), described structurally by the few members the SDK uses, so that
 * the package's public types do not pull in ioredis' own (which need `@types/node`).
 *
 * Only ioredis clients are supported: the TimeSeries backend also reaches the client's
 * `createBuiltinCommand`. Any ioredis 5 `Redis` is assignable to this type.
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
