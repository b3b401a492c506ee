/**
 * A TCP proxy in front of a real nats-server that can swallow the JetStream deliveries of chosen
 * consumers while passing everything else (pings, heartbeats, API replies) through: the stalled
 * consumer of docs/clusters.md, on one server, on demand. It reads the server's side of the NATS
 * protocol just enough to find each MSG/HMSG frame and its reply subject
 * (`$JS.ACK.<stream>.<consumer>.…`, which every JetStream delivery carries).
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { freePort } from './servers';

export class NatsDeliveryProxy {
  /** Consumers whose deliveries are swallowed. */
  readonly blocked = new Set<string>();
  /** Swallow the deliveries of every consumer (as if all were placed on a replica that lags). */
  blockAll = false;
  /** Swallow every message whose subject starts with this (a republished subject, say). */
  dropSubjectPrefix: string | undefined;
  /** Deliveries swallowed so far. */
  swallowed = 0;
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly upstreamPort: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = tcpConnect(this.upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (data) => upstream.write(data));
    let pending: Buffer = Buffer.alloc(0);
    upstream.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      pending = this.forward(pending, client);
    });
  }

  /** Writes every whole frame of `buffer` to `client` (but swallowed ones); returns the rest. */
  private forward(buffer: Buffer, client: Socket): Buffer {
    let at = 0;
    for (;;) {
      const eol = buffer.indexOf('\r\n', at);
      if (eol < 0) break;
      const line = buffer.subarray(at, eol).toString('latin1');
      const words = line.split(' ');
      let end = eol + 2;
      let reply: string | undefined;
      if (words[0] === 'MSG' || words[0] === 'HMSG') {
        // MSG <subject> <sid> [reply] <bytes>; HMSG <subject> <sid> [reply] <header bytes> <total bytes>
        const args = words.length - 1;
        const withReply = words[0] === 'MSG' ? args === 4 : args === 5;
        reply = withReply ? words[3] : undefined;
        end += Number(words[words.length - 1]) + 2;
        if (end > buffer.length) break;
      }
      const consumer = reply?.startsWith('$JS.ACK.') === true ? reply.split('.')[3] : undefined;
      const dropped =
        this.dropSubjectPrefix !== undefined &&
        (words[0] === 'MSG' || words[0] === 'HMSG') &&
        (words[1] ?? '').startsWith(this.dropSubjectPrefix);
      if (dropped || (consumer !== undefined && (this.blockAll || this.blocked.has(consumer)))) this.swallowed += 1;
      else client.write(buffer.subarray(at, end));
      at = end;
    }
    return buffer.subarray(at);
  }
}
