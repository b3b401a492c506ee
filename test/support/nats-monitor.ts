/**
 * Reading a test nats-server's monitoring endpoint (start it with the `monitorPort` option).
 * Plain `http.get` without keep-alive rather than `fetch`, whose pooled socket would stay open
 * for seconds and show up in the resource checks of test/support/handles.ts.
 */
import { get } from 'node:http';
import type { NatsServer } from './servers';

interface Connz {
  readonly connections?: readonly { readonly name?: string }[];
}

interface Varz {
  /** Every client connection the server accepted since it started, refused ones included. */
  readonly total_connections: number;
}

function monitor<T>(server: NatsServer, path: string): Promise<T> {
  const url = `${server.monitorUrl}${path}`;
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${response.statusCode ?? '?'}`));
        else resolve(JSON.parse(body) as T);
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Names of the client connections open on the server now. */
export async function connectionNames(server: NatsServer): Promise<string[]> {
  const connz = await monitor<Connz>(server, '/connz?limit=1024');
  return (connz.connections ?? []).map((c) => c.name ?? '');
}

/** Connections open now under `name`. */
export async function connectionsNamed(server: NatsServer, name: string): Promise<number> {
  return (await connectionNames(server)).filter((n) => n === name).length;
}

/** Client connections the server accepted since it started (each attempt counts, refused or not). */
export async function totalConnections(server: NatsServer): Promise<number> {
  return (await monitor<Varz>(server, '/varz')).total_connections;
}
