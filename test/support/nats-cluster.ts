/**
 * A 3-node JetStream cluster of the test's own on loopback: each node a `nats-server` with its
 * `server_name`, a `cluster { name, listen, routes }` block and a JetStream store in its own temp
 * dir, on free ports, with its monitoring endpoint. Nodes can be SIGKILLed and started again on the
 * same ports and stores (the bench twin is bench/lib/nats-cluster.mjs).
 */
import { get } from 'node:http';
import { freePort, NatsServer, sleep } from './servers';

export const CLUSTER_NAME = 'tailslide-test';

/** What `/jsz?streams=true` says about one stream on one node. */
export interface StreamPlacement {
  /** server_name of the stream's leader ('' while it has none). */
  readonly leader: string;
  readonly replicas: readonly { readonly name: string; readonly current: boolean }[];
  readonly lastSeq: number;
}

interface Jsz {
  readonly meta_cluster?: { readonly leader?: string; readonly cluster_size?: number };
  readonly account_details?: readonly {
    readonly stream_detail?: readonly {
      readonly name: string;
      readonly cluster?: {
        readonly leader?: string;
        readonly replicas?: readonly { readonly name: string; readonly current: boolean }[];
      };
      readonly state?: { readonly last_seq: number };
    }[];
  }[];
}

interface Connz {
  readonly connections?: readonly {
    readonly name?: string;
    readonly cid: number;
    readonly subscriptions_list?: readonly string[];
  }[];
}

export function httpJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${response.statusCode ?? '?'}`));
        else {
          try {
            resolve(JSON.parse(body) as T);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        }
      });
      response.on('error', reject);
    });
    request.setTimeout(2_000, () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', reject);
  });
}

/** One node: a NatsServer with a name and the cluster block. */
export class ClusterNode extends NatsServer {
  constructor(
    readonly name: string,
    readonly clusterPort: number,
    routes: readonly number[],
  ) {
    super({
      monitorPort: 0,
      extraConfig: [
        `server_name: ${name}`,
        'cluster {',
        `  name: ${CLUSTER_NAME}`,
        `  listen: "127.0.0.1:${clusterPort}"`,
        `  routes: [${routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ')}]`,
        '}',
      ].join('\n'),
    });
  }

  jsz(): Promise<Jsz> {
    return httpJson<Jsz>(`${this.monitorUrl}/jsz?streams=true`);
  }

  /** Names of the client connections open on this node. */
  async connectionNames(): Promise<string[]> {
    const connz = await httpJson<Connz>(`${this.monitorUrl}/connz?limit=4096`);
    return (connz.connections ?? []).map((c) => c.name ?? '');
  }

  /** Subjects subscribed by the connections named `name` on this node. */
  async subscriptionsOfConnections(name: string): Promise<string[]> {
    const connz = await httpJson<Connz>(`${this.monitorUrl}/connz?limit=4096&subs=1`);
    return (connz.connections ?? []).filter((c) => c.name === name).flatMap((c) => c.subscriptions_list ?? []);
  }
}

export class NatsCluster {
  private constructor(readonly nodes: readonly ClusterNode[]) {}

  /** Starts `size` nodes (3 by default) and waits until they agree on a JetStream meta leader. */
  static async start(size = 3): Promise<NatsCluster> {
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
    const nodes = clusterPorts.map(
      (port, i) =>
        new ClusterNode(
          `n${i + 1}`,
          port,
          clusterPorts.filter((p) => p !== port),
        ),
    );
    const cluster = new NatsCluster(nodes);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      await cluster.waitForMetaLeader();
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
    return cluster;
  }

  /** Client URLs of every node (running or not), for `natsServer`. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node named ${name}`);
    return node;
  }

  /** The running node whose client port is `port` (what `nc.info.port` or `getServer()` names). */
  nodeOnPort(port: number): ClusterNode {
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no node listens on client port ${port}`);
    return node;
  }

  /** Waits until every running node reports the same meta leader (other than `not`). */
  async waitForMetaLeader(timeoutMs = 30_000, not?: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = await Promise.all(
        this.nodes
          .filter((n) => n.running)
          .map((n) =>
            n.jsz().then(
              (j) => j.meta_cluster?.leader ?? '',
              () => '',
            ),
          ),
      );
      const first = leaders[0] ?? '';
      if (first !== '' && first !== not && leaders.every((l) => l === first)) return first;
      if (Date.now() > deadline)
        throw new Error(`no JetStream meta leader after ${timeoutMs} ms (${leaders.join(',')})`);
      await sleep(200);
    }
  }

  /**
   * Where `stream` is placed, as its leader reports it (only the leader knows whether the replicas
   * are current), else as the first running node that knows the stream says.
   */
  async streamPlacement(stream: string): Promise<StreamPlacement | undefined> {
    let fallback: StreamPlacement | undefined;
    for (const node of this.nodes.filter((n) => n.running)) {
      const jsz = await node.jsz().catch(() => undefined);
      for (const account of jsz?.account_details ?? []) {
        for (const detail of account.stream_detail ?? []) {
          if (detail.name !== stream) continue;
          const placement = {
            leader: detail.cluster?.leader ?? '',
            replicas: detail.cluster?.replicas ?? [],
            lastSeq: detail.state?.last_seq ?? 0,
          };
          if (placement.leader === node.name) return placement;
          fallback ??= placement;
        }
      }
    }
    return fallback;
  }

  /** Waits until `stream` has a leader among the running nodes (other than `not`), and returns its name. */
  async waitForStreamLeader(stream: string, not?: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const placement = await this.streamPlacement(stream);
      const leader = placement?.leader ?? '';
      if (leader !== '' && leader !== not && this.node(leader).running) return leader;
      if (Date.now() > deadline) throw new Error(`stream "${stream}" has no new leader after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** The running node(s) where a connection named `name` is open. */
  async nodesWithConnection(name: string): Promise<ClusterNode[]> {
    const found: ClusterNode[] = [];
    for (const node of this.nodes.filter((n) => n.running)) {
      const names = await node.connectionNames().catch(() => []);
      for (const n of names) if (n === name) found.push(node);
    }
    return found;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
