/**
 * The one way every part of the package opens NATS: the manager's source, the admin library, the
 * breaker and the dashboard. A connection of the host's own is adopted (never closed by us); ours is
 * dialled through `dialNats` (no socket left open by a hung server, see transport.ts) with the
 * options of `natsConnectionOptions`, and a failed first connect becomes one error that names the
 * server and says what to check: `AuthorizationError` for refused credentials, `ConnectionError`
 * for everything else (TLS included).
 */
import type { NatsConnection } from 'nats';
import { AuthorizationError, ConnectionError } from '../errors';
import type { ResolvedNatsOptions } from '../options';
import { natsConnectionOptions } from './connect';
import { authorizationError, describeServers, errorMessage, isAuthError, isTlsError, tlsError } from './errors';
import { dialNats } from './transport';

/** An open NATS connection and who owns it. */
export interface OpenedNats {
  readonly client: NatsConnection;
  /** True when we dialled it (and so close it); false for the host's own connection. */
  readonly owned: boolean;
  /** Drains nothing, closes our own connection; a no-op for the host's. Never rejects. */
  close(): Promise<void>;
}

export interface OpenNatsOptions {
  /** The connection name the server shows in `connz`. */
  readonly name: string;
  /** A first connect that takes longer fails. */
  readonly connectTimeoutMs: number;
  /** Put before error messages (`"CircuitBreaker: "`), so a log line says whose connect failed. */
  readonly messagePrefix?: string;
}

/**
 * Opens `nats` (or adopts `nats.connection`). Rejects with `AuthorizationError` or
 * `ConnectionError` within `connectTimeoutMs`; the client then keeps no socket open.
 */
export async function openNats(nats: ResolvedNatsOptions, options: OpenNatsOptions): Promise<OpenedNats> {
  if (nats.connection !== undefined) {
    return { client: nats.connection, owned: false, close: () => Promise.resolve() };
  }
  let client: NatsConnection;
  try {
    client = await dialNats({
      ...natsConnectionOptions(nats, options.name),
      waitOnFirstConnect: false,
      timeout: options.connectTimeoutMs,
    }).connection;
  } catch (err) {
    throw natsConnectError(err, nats, options.messagePrefix ?? '');
  }
  return {
    client,
    owned: true,
    close: async () => {
      if (!client.isClosed()) await client.close().catch(() => undefined);
    },
  };
}

/** A failed first connect as the error to throw: refused credentials, TLS, or anything else. */
export function natsConnectError(err: unknown, nats: ResolvedNatsOptions, prefix = ''): Error {
  const where = describeServers(nats);
  if (isAuthError(err)) {
    const refused = authorizationError(nats, where, err);
    return prefix === '' ? refused : new AuthorizationError(`${prefix}${refused.message}`, { cause: err });
  }
  if (isTlsError(err)) {
    const tls = tlsError(nats, where, err);
    return prefix === '' ? tls : new ConnectionError(`${prefix}${tls.message}`, { cause: err });
  }
  return new ConnectionError(`${prefix}Could not connect to NATS at ${where}: ${errorMessage(err)}`, { cause: err });
}
