/**
 * The Redis connection of the signal pipeline (and of the reader).
 *
 * An injected client is used as it is: never closed, its listeners never removed (only ours are).
 * Otherwise we create an ioredis 5 client that fails fast while Redis is down (no offline queue,
 * no silent resend of unanswered commands), reconnects forever with a capped, jittered backoff, and
 * has an `error` listener, so Redis trouble never reaches the host as an exception.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { ResolvedRedisOptions } from '../options';

export const RECONNECT_BASE_MS = 100;
export const RECONNECT_MAX_MS = 2_000;
export const CONNECT_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 1_000;

type ClientEvent = 'ready' | 'close';

export interface SignalConnection {
  readonly client: Redis;
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
  /** Resolves true once ready, false after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** Removes our listeners; quits and disconnects the client if we created it. Never rejects. */
  close(): Promise<void>;
}

/** Delay before reconnect attempt `attempt` (1, 2, …): doubling from 100 ms, capped at 2 s, ±20 % jitter. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Options of every client the SDK creates for signals. */
export function ownClientOptions(): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands unanswered when the connection drops are neither resent nor kept: with
    // autoResendUnfulfilledCommands false alone, ioredis forgets them and their promises never
    // settle; maxRetriesPerRequest 0 makes it reject them at the first close, so the batch comes back.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
  };
}

/**
 * @param onError called for every error our own client reports (connection refused, reset, …);
 *   never called for an injected client, whose `error` events belong to its owner.
 */
export function openSignalConnection(options: ResolvedRedisOptions, onError: (error: Error) => void): SignalConnection {
  if (options.client !== undefined) return new Connection(options.client, false, onError);
  const clientOptions = ownClientOptions();
  const client =
    options.url !== undefined
      ? new Redis(options.url, clientOptions)
      : new Redis({ ...clientOptions, host: options.host, port: options.port });
  return new Connection(client, true, onError);
}

class Connection implements SignalConnection {
  private readonly listeners: Array<[string, (...args: unknown[]) => void]> = [];
  private closed = false;

  constructor(
    readonly client: Redis,
    readonly owned: boolean,
    onError: (error: Error) => void,
  ) {
    if (owned) {
      this.listen('error', (error: unknown) => {
        try {
          onError(error instanceof Error ? error : new Error(String(error)));
        } catch {
          // the pipeline's error handling must not throw back into ioredis
        }
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

  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.client.once('ready', onReady);
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
    if (this.client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.client.quit().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.client.status !== 'end') this.client.disconnect();
  }

  private listen(event: string, listener: (...args: unknown[]) => void): void {
    this.client.on(event, listener);
    this.listeners.push([event, listener]);
  }
}
