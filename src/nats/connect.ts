import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions } from 'nats';
import { InvalidOptionError } from '../errors';
import type { ResolvedNatsOptions } from '../options';

/** Name the SDK gives its NATS connections (shows in the server's connz). */
export const CONNECTION_NAME = 'tailslide-node';

/**
 * Hang detection: a PING every PING_INTERVAL_MS; with MAX_PINGS_OUT of them unanswered at the next
 * tick, the client drops the connection and reconnects, as for a closed socket. A server that stops
 * answering is thus reported 4 to 6 s after its last answer (docs/operations.md).
 */
export const PING_INTERVAL_MS = 2_000;
export const MAX_PINGS_OUT = 2;
/** An attempt (TCP, the server's INFO, CONNECT and its PONG) that takes longer fails. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Builds `nats` connection options from resolved options: servers, every auth method
 * (token, user/password, NKey seed, creds file), TLS, and a reconnect policy of "forever,
 * with jittered waits". Reads the creds file here, so a wrong path fails at once.
 */
export function natsConnectionOptions(nats: ResolvedNatsOptions, name = CONNECTION_NAME): ConnectionOptions {
  const authenticators: Authenticator[] = [];
  if (nats.nkeySeed !== undefined) {
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(nats.nkeySeed)));
  }
  if (nats.credsFile !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(nats.credsFile);
    } catch (err) {
      throw new InvalidOptionError(
        'natsCredsFile',
        nats.credsFile,
        `a readable credentials file (${(err as Error).message})`,
      );
    }
    authenticators.push(credsAuthenticator(creds));
  }
  if (authenticators.length > 1) {
    throw new InvalidOptionError('natsNkeySeed', '(hidden)', 'either "natsNkeySeed" or "natsCredsFile", not both');
  }
  const options: ConnectionOptions = {
    name,
    servers: [...nats.servers],
    maxReconnectAttempts: -1,
    reconnectTimeWait: nats.reconnectWaitMs,
    reconnectJitter: Math.max(100, Math.floor(nats.reconnectWaitMs / 2)),
    reconnectJitterTLS: Math.max(100, nats.reconnectWaitMs),
    waitOnFirstConnect: true,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    timeout: CONNECT_TIMEOUT_MS,
  };
  if (nats.token !== undefined) options.token = nats.token;
  if (nats.user !== undefined) options.user = nats.user;
  if (nats.password !== undefined) options.pass = nats.password;
  if (authenticators[0] !== undefined) options.authenticator = authenticators[0];
  if (nats.tls !== undefined) options.tls = nats.tls;
  return options;
}
