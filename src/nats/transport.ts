/**
 * A NATS connect that owns its sockets: no attempt leaves one open, and an attempt can be aborted.
 *
 * Why: checked on nats 2.29.3, a connect attempt to a server that accepts TCP and never answers
 * (a frozen process, a stuck proxy) times out and leaves its socket open for good. The client's
 * `NodeTransport.close()` returns at once unless the transport finished connecting (`connected`),
 * and the socket is still waiting for the server's INFO then. Each retry (the first connect, every
 * reconnect) adds one, and a process whose code has called `close()` never exits.
 *
 * The hook: `nats` builds each attempt's transport through a module-wide factory, which its own
 * `connect()` sets to `new NodeTransport()`. `dialNats()` sets a factory of `OwnedTransport`s (a
 * NodeTransport that tracks its socket from the moment it exists and destroys it when closed or
 * abandoned before it connected), and calls the same `NatsConnectionImpl.connect()` that `connect()`
 * calls. The factory is module-wide and the host's own `nats.connect()` would put the plain one back,
 * so each of our connections sets ours again before each of its attempts (in its
 * `reconnectDelayHandler`, which the client calls right before every attempt). Connections of the
 * host that happen to dial through our factory only gain the fix.
 *
 * Each connection's attempts are tied to it through the identity of its `reconnectDelayHandler`
 * (the client hands its options, handler included, to every transport it makes), so `abort()`
 * ends the attempts of that connection only.
 */
import { createConnection, type Socket } from 'node:net';
import { type ConnectionOptions, type NatsConnection } from 'nats';
import { NatsConnectionImpl, setTransportFactory } from 'nats/lib/nats-base-client/internal_mod';
import { NodeTransport, nodeResolveHost } from 'nats/lib/src/node_transport';

type DelayHandler = () => number;

/** The attempts in flight of one connection. */
class DialOwner {
  readonly transports = new Set<OwnedTransport>();
  aborted = false;

  abort(): void {
    this.aborted = true;
    for (const transport of this.transports) transport.abandon();
    this.transports.clear();
  }
}

const owners = new WeakMap<DelayHandler, DialOwner>();

class OwnedTransport extends NodeTransport {
  /** The socket between `createConnection()` and the TCP connect (`socket` is set after). */
  private dialing: Socket | undefined;

  override connect(hp: { hostname: string; port: number; tlsName: string }, options: ConnectionOptions): Promise<void> {
    const handler = options.reconnectDelayHandler;
    const owner = handler === undefined ? undefined : owners.get(handler);
    if (owner?.aborted === true) return Promise.reject(new Error('connect aborted'));
    owner?.transports.add(this);
    return super.connect(hp, options).finally(() => owner?.transports.delete(this));
  }

  /** NodeTransport's dial(), keeping hold of the socket while it connects. */
  override dial(hp: { hostname: string; port: number }): Promise<Socket> {
    return new Promise((resolve, reject) => {
      let dialError: Error | undefined;
      const socket = createConnection(hp.port, hp.hostname, () => {
        this.dialing = undefined;
        socket.removeAllListeners();
        resolve(socket);
      });
      this.dialing = socket;
      socket.on('error', (err) => {
        dialError = err;
      });
      socket.on('close', () => {
        this.dialing = undefined;
        socket.removeAllListeners();
        reject(dialError ?? new Error('the socket closed before it connected'));
      });
      socket.setNoDelay(true);
    });
  }

  /** NodeTransport's close() does nothing before `connected`: destroy what is open first. */
  override close(err?: Error): Promise<void> {
    this.abandon();
    return super.close(err);
  }

  /** Ends an attempt that has not connected yet: its socket goes, its connect() rejects. */
  abandon(): void {
    if (this.connected) return;
    this.dialing?.destroy();
    this.dialing = undefined;
    // Typed as always set, `socket` is undefined until dial() resolves.
    (this.socket as Socket | undefined)?.destroy();
  }
}

function installFactory(): void {
  setTransportFactory({ factory: () => new OwnedTransport(), dnsResolveFn: nodeResolveHost });
}

/** The client's own default wait between attempts: `reconnectTimeWait` plus a random jitter. */
function defaultDelay(options: ConnectionOptions): DelayHandler {
  return () => {
    const wait = options.reconnectTimeWait ?? 2_000;
    const jitter = (options.tls ? options.reconnectJitterTLS : options.reconnectJitter) ?? 0;
    return wait + (jitter > 0 ? Math.floor(Math.random() * (jitter + 1)) : 0);
  };
}

/**
 * A connection being opened; `abort()` ends its attempts in flight (its promise then rejects).
 * Abort ends a first connect only without `waitOnFirstConnect` (with it, the client keeps trying).
 */
export interface NatsDial {
  readonly connection: Promise<NatsConnection>;
  abort(): void;
}

/**
 * `nats.connect(options)` whose attempts never leave a socket open, for this connection's first
 * connect and all its reconnects. A connection that comes up after `abort()` is closed at once.
 */
export function dialNats(options: ConnectionOptions): NatsDial {
  const owner = new DialOwner();
  const delay = options.reconnectDelayHandler ?? defaultDelay(options);
  const reconnectDelayHandler: DelayHandler = () => {
    installFactory();
    return delay();
  };
  owners.set(reconnectDelayHandler, owner);
  installFactory();
  const connection = NatsConnectionImpl.connect({ ...options, reconnectDelayHandler }).then(async (nc) => {
    if (!owner.aborted) return nc;
    await nc.close().catch(() => undefined);
    throw new Error('connect aborted');
  });
  return { connection, abort: () => owner.abort() };
}
