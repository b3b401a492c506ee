/**
 * Reading a test nats-server's monitoring endpoint (start it with the `monitorPort` option).
 */
import type { NatsServer } from './servers';

interface Connz {
  readonly connections?: readonly { readonly name?: string }[];
}

interface Varz {
  /** Every client connection the server accepted since it started, refused ones included. */
  readonly total_connections: number;
}

async function monitor<T>(server: NatsServer, path: string): Promise<T> {
  const response = await fetch(`${server.monitorUrl}${path}`);
  if (!response.ok) throw new Error(`GET ${path} on ${server.monitorUrl}: HTTP ${response.status}`);
  return (await response.json()) as T;
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
