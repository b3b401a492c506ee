/**
 * Small TCP helpers with no dependency on the rest of the package: parse a server address, probe a
 * port, find a free one. Used by the demo's launcher and by the test and bench launchers.
 */
import { createServer, Socket } from 'node:net';

/** Host and port of a `nats://`, `redis://` or bare `host:port` address. */
export function hostPort(address: string, defaultPort: number): { host: string; port: number } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `tcp://${address}`;
  try {
    const url = new URL(withScheme);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    return { host, port: url.port === '' ? defaultPort : Number(url.port) };
  } catch {
    return { host: '127.0.0.1', port: defaultPort };
  }
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function tcpAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, host);
  });
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
