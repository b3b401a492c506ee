/**
 * The Redis connection of the signal pipeline (and of the reader).
 *
 * An injected client is used as it is: never closed, its listeners never removed (only ours are).
 * Otherwise we create an ioredis 5 client that fails fast while Redis is down (no offline queue,
 * no silent resend of unanswered commands), reconnects forever with a capped, jittered backoff
 * (slower while Redis refuses the credentials), and has an `error` listener, so Redis trouble never
 * reaches the host as an exception.
 *
 * The ready check stays on: with `enableReadyCheck: false`, ioredis 5 emits `ready` before the
 * server has answered AUTH, so with a wrong password commands run as the default user and the retry
 * counter resets on every attempt. Its `INFO` is sent through our own `info`, which turns an ACL
 * refusal (NOPERM) into an empty reply and a debug line, where ioredis would print a warning to
 * stderr past the `logger` option. So `+info` is not needed (see docs/permissions.md).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisNode, ResolvedRedisOptions } from '../options';
import { settleWithin } from '../util/timeout';
import { describeError, isCredentialsError, isPermissionError, isRefusedConnection } from './redis-errors';

export const RECONNECT_BASE_MS = 100;
export const RECONNECT_MAX_MS = 2_000;
/** Backoff while Redis refuses the credentials: from 1 s, doubling, capped at 30 s. */
export const CREDENTIALS_RETRY_BASE_MS = 1_000;
export const CREDENTIALS_RETRY_MAX_MS = 30_000;
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * How long the sink's own client waits for any answer before it gives up on a command
 * (ioredis `commandTimeout`): a healthy batch answers in a few ms (1,000 entries: ~4 ms measured,
 * fsync of `appendfsync always` included), a fork for BGSAVE or a slow fsync stalls for hundreds of
 * ms; 3 s is well past those, and short enough that a Redis that hangs (SIGSTOP, a stuck VM) is
 * noticed within seconds instead of at disconnect(). Only the sink's client has it: the reader's
 * queries (a long TS.MRANGE) and injected clients keep their own timing.
 */
export const COMMAND_TIMEOUT_MS = 3_000;
const QUIT_TIMEOUT_MS = 1_000;

type ClientEvent = 'ready' | 'close';

/** How a wait for the connection ended. */
export type ReadyOutcome =
  | { readonly ready: true }
  /** `error`: set when waiting was cut short by an error retrying cannot fix soon (refused, credentials). */
  | { readonly ready: false; readonly error?: Error };

export interface RedisConnection {
  /**
   * The client. A Redis Cluster client (ioredis `Cluster`) is typed as `Redis` too: the pipeline
   * uses only what both have (`call`, `multi`, `pipeline`, `zrange`, events, `quit`), and writes
   * to it one MULTI per hash slot (`cluster`).
   */
  readonly client: Redis;
  /** The client is an ioredis `Cluster`: a MULTI may touch one hash slot only. */
  readonly cluster: boolean;
  /** True when the SDK created the client (and so closes it). */
  readonly owned: boolean;
  /** True when commands can be sent now. */
  readonly ready: boolean;
  /** The client's own status word (`ready`, `reconnecting`, …). */
  readonly status: string;
  /** Starts connecting our client, or an injected one nobody connected yet. Never throws. */
  connect(): void;
  /** Adds a listener to the client; `close()` removes it again. */
  on(event: ClientEvent, listener: () => void): void;
  /**
   * Resolves `{ ready: true }` once ready, `{ ready: false }` after `timeoutMs`; with `failFast`,
   * also `{ ready: false, error }` at the first refused connection or refused credentials.
   */
  waitReady(timeoutMs: number, failFast?: boolean): Promise<ReadyOutcome>;
  /** Removes our listeners; quits and disconnects the client if we created it. Never rejects. */
  close(): Promise<void>;
}

/** Delay before reconnect attempt `attempt` (1, 2, …): doubling from `baseMs`, capped at `maxMs`, ±20 % jitter. */
export function reconnectDelay(attempt: number, baseMs = RECONNECT_BASE_MS, maxMs = RECONNECT_MAX_MS): number {
  const base = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Options of every client the SDK creates for signals.
 * @param credentialsRefused whether the last connect attempt was refused for its credentials
 *   (the retry then backs off from 1 s to 30 s instead of 100 ms to 2 s)
 */
export function ownClientOptions(
  credentialsRefused: () => boolean = () => false,
  commandTimeoutMs?: number,
): RedisOptions {
  return {
    ...(commandTimeoutMs !== undefined ? { commandTimeout: commandTimeoutMs } : {}),
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands unanswered when the connection drops are neither resent nor kept: with
    // autoResendUnfulfilledCommands false alone, ioredis forgets them and their promises never
    // settle; maxRetriesPerRequest 0 makes it reject them at the first close, so the batch comes back.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // disableClientInfo stays false: ioredis ignores a refused CLIENT SETINFO, and its round trip is
    // what holds the ready check back until AUTH has been answered (without it a wrong password
    // races to `ready` on every attempt).
    retryStrategy: (attempt) =>
      credentialsRefused()
        ? reconnectDelay(attempt, CREDENTIALS_RETRY_BASE_MS, CREDENTIALS_RETRY_MAX_MS)
        : reconnectDelay(attempt),
  };
}

/**
 * @param onError called for every error our own client reports (connection refused, reset,
 *   credentials refused, …); never called for an injected client, whose `error` events belong to its owner.
 * @param onDebug where the connection's own remarks go (e.g. that INFO is not permitted).
 * @param commandTimeoutMs ioredis `commandTimeout` of a client we create (never of an injected one)
 */
export function openRedis(
  options: ResolvedRedisOptions,
  onError: (error: Error) => void,
  onDebug: (message: string) => void = () => undefined,
  commandTimeoutMs?: number,
): RedisConnection {
  // An injected client was checked to have the members the SDK uses (isRedisClient); it is
  // documented to be an ioredis 5 client, which is what the rest of the pipeline is typed against.
  if (options.client !== undefined) return new Connection(options.client as unknown as Redis, false, onError);
  const holder: { connection?: Connection } = {};
  const clientOptions = ownClientOptions(() => holder.connection?.credentialsRefused ?? false, commandTimeoutMs);
  if (options.clusterNodes !== undefined) {
    const cluster = ownCluster(options.clusterNodes, clientOptions);
    holder.connection = new Connection(cluster as unknown as Redis, true, onError);
    return holder.connection;
  }
  const client =
    options.url !== undefined
      ? new Redis(options.url, clientOptions)
      : new Redis({ ...clientOptions, host: options.host, port: options.port });
  routeReadyCheck(client, onDebug);
  holder.connection = new Connection(client, true, onError);
  return holder.connection;
}

/**
 * A Redis Cluster client with the same fail-fast policy as our single-node client: no offline queue,
 * nothing resent; the cluster's own reconnect (capped, jittered) and a slot refresh after a failover.
 */
function ownCluster(nodes: readonly RedisNode[], clientOptions: RedisOptions): Cluster {
  const { retryStrategy: _ignored, lazyConnect: _lazy, ...redisOptions } = clientOptions;
  const auth = nodes.find((n) => n.password !== undefined);
  return new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      scaleReads: 'master',
      maxRedirections: 16,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      clusterRetryStrategy: (attempt) => reconnectDelay(attempt),
      redisOptions: {
        ...redisOptions,
        ...(auth?.password !== undefined ? { password: auth.password } : {}),
        ...(auth?.username !== undefined ? { username: auth.username } : {}),
      },
    },
  );
}

/**
 * Sends the ready check's INFO through `call`, answering an ACL refusal with an empty reply (ready,
 * no loading information) and a debug line instead of ioredis' console warning.
 */
function routeReadyCheck(client: Redis, onDebug: (message: string) => void): void {
  const info = (...args: unknown[]): Promise<unknown> => {
    const last = args[args.length - 1];
    const callback = typeof last === 'function' ? (last as (error: Error | null, reply?: unknown) => void) : undefined;
    const params = (callback ? args.slice(0, -1) : args).map(String);
    const reply = client.call('INFO', ...params).catch((error: unknown) => {
      if (!isPermissionError(error)) throw error;
      onDebug(`Redis refused INFO (${describeError(error)}); skipping its ready check`);
      return '';
    });
    if (callback)
      reply.then(
        (value) => callback(null, value),
        (error: Error) => callback(error),
      );
    return reply;
  };
  Object.defineProperty(client, 'info', { value: info, configurable: true, writable: true });
}

class Connection implements RedisConnection {
  readonly cluster: boolean;
  private readonly listeners: Array<[string, (...args: unknown[]) => void]> = [];
  private closed = false;
  /** The last connect attempt was refused for its credentials (cleared when ready). */
  credentialsRefused = false;

  constructor(
    readonly client: Redis,
    readonly owned: boolean,
    onError: (error: Error) => void,
  ) {
    this.cluster = (client as unknown as { isCluster?: unknown }).isCluster === true;
    if (owned) {
      this.listen('error', (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        if (isCredentialsError(e)) this.credentialsRefused = true;
        try {
          onError(e);
        } catch {
          // the pipeline's error handling must not throw back into ioredis
        }
      });
      this.listen('ready', () => {
        this.credentialsRefused = false;
      });
    }
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  get status(): string {
    return this.client.status;
  }

  connect(): void {
    if (this.closed || this.client.status !== 'wait') return;
    this.client.connect().catch(() => undefined); // failures arrive as `error` events; ioredis retries
  }

  on(event: ClientEvent, listener: () => void): void {
    this.listen(event, () => {
      try {
        listener();
      } catch {
        // a failing listener of ours must not break the client
      }
    });
  }

  waitReady(timeoutMs: number, failFast = false): Promise<ReadyOutcome> {
    if (this.ready) return Promise.resolve({ ready: true });
    if (this.closed) return Promise.resolve({ ready: false });
    return new Promise((resolve) => {
      const done = (outcome: ReadyOutcome): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('error', onError);
        resolve(outcome);
      };
      const onReady = (): void => done({ ready: true });
      const onError = (error: unknown): void => {
        // Socket errors come from Node's own realm: no `instanceof Error` here (it fails under Jest).
        if (failFast && (isRefusedConnection(error) || isCredentialsError(error)))
          done({ ready: false, error: error as Error });
      };
      const timer = setTimeout(() => done({ ready: false }), timeoutMs);
      timer.unref();
      this.client.once('ready', onReady);
      // Only listened to while waiting; an injected client keeps its owner's error listeners.
      this.client.on('error', onError);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [event, listener] of this.listeners) this.client.off(event, listener);
    this.listeners.length = 0;
    if (!this.owned) return;
    // Keep swallowing errors of a client that is going away.
    this.client.on('error', () => undefined);
    if (this.client.status === 'ready') await settleWithin(this.client.quit(), QUIT_TIMEOUT_MS, 'lets-process-exit');
    if (this.client.status !== 'end') this.client.disconnect();
  }

  private listen(event: string, listener: (...args: unknown[]) => void): void {
    this.client.on(event, listener);
    this.listeners.push([event, listener]);
  }
}
