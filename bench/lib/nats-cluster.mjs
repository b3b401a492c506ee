// A 3-node JetStream cluster on loopback for the benchmarks (the JS twin of
// test/support/nats-cluster.ts): each node a `nats-server` with `server_name`, a
// `cluster { name, listen, routes }` block, its own JetStream store in a temp dir, free ports.
// Every node is registered with servers.mjs' exit handlers, so it is stopped on exit too.
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { NatsServer, freePort } from './servers.mjs';

/**
 * What `/jsz` (`?streams=true`) says, as far as the bench reads it.
 * @typedef {{
 *   meta_cluster?: { leader?: string },
 *   account_details?: { stream_detail?: { name: string, cluster?: { leader?: string } }[] }[],
 * }} Jsz
 */
/** @typedef {{ connections?: { name?: string }[] }} Connz */

/** One node: a NatsServer with a name, the cluster block and its monitoring endpoint. */
class ClusterNode extends NatsServer {
  /**
   * @param {string} name `server_name`
   * @param {number} clusterPort
   * @param {number[]} routes cluster ports of the other nodes
   */
  constructor(name, clusterPort, routes) {
    super();
    this.name = name;
    this.clusterPort = clusterPort;
    this.routes = routes;
    this.monitorPort = 0;
  }

  /** @override */
  async start() {
    if (this.monitorPort === 0) this.monitorPort = await freePort();
    return super.start();
  }

  /** @override */
  command() {
    const lines = [
      `server_name: ${this.name}`,
      `listen: "127.0.0.1:${this.port}"`,
      `http: "127.0.0.1:${this.monitorPort}"`,
      `jetstream { store_dir: ${JSON.stringify(join(this.dir, 'js'))} }`,
      'cluster {',
      '  name: tailslide-bench',
      `  listen: "127.0.0.1:${this.clusterPort}"`,
      `  routes: [${this.routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ')}]`,
      '}',
    ];
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    return { bin: 'nats-server', args: ['-c', conf] };
  }

  /** @returns {Promise<Jsz>} */
  jsz(query = '') {
    return this.monitor(`/jsz${query}`);
  }

  /** Names of the client connections open on this node. */
  async connectionNames() {
    /** @type {Connz} */
    const connz = await this.monitor('/connz?limit=4096');
    return (connz.connections ?? []).map((c) => c.name ?? '');
  }

  /**
   * GET of a monitoring endpoint, its JSON body as the caller expects it.
   * @template T
   * @param {string} path
   * @returns {Promise<T>}
   */
  monitor(path) {
    return new Promise((resolve, reject) => {
      const request = get(`http://127.0.0.1:${this.monitorPort}${path}`, { agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (/** @type {string} */ chunk) => (body += chunk));
        response.on('end', () => {
          try {
            resolve(/** @type {T} */ (JSON.parse(body)));
          } catch (err) {
            reject(err);
          }
        });
      });
      request.on('error', reject);
    });
  }
}

export class NatsCluster {
  /** @param {ClusterNode[]} nodes */
  constructor(nodes) {
    this.nodes = nodes;
  }

  /** Starts `size` nodes and waits until they agree on a JetStream meta leader. */
  static async start(size = 3) {
    /** @type {number[]} */
    const ports = [];
    for (let i = 0; i < size; i++) ports.push(await freePort());
    const nodes = ports.map(
      (port, i) =>
        new ClusterNode(
          `n${i + 1}`,
          port,
          ports.filter((p) => p !== port),
        ),
    );
    const cluster = new NatsCluster(nodes);
    await Promise.all(nodes.map((n) => n.start()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const leaders = await Promise.all(
        nodes.map((n) =>
          n.jsz().then(
            (j) => j.meta_cluster?.leader ?? '',
            () => '',
          ),
        ),
      );
      if (leaders[0] && leaders.every((l) => l === leaders[0])) break;
      if (Date.now() > deadline) throw new Error('the bench cluster elected no JetStream meta leader in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    return cluster;
  }

  get urls() {
    return this.nodes.map((n) => n.url);
  }

  /**
   * Waits until the running nodes agree on a meta leader other than `not`, and `stream` has a leader other than `not`.
   * @param {string} stream
   * @param {string} [not] server_name of a node that must not lead
   * @returns {Promise<string>} the stream leader's server_name
   */
  async waitWhole(stream, not, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.nodes.filter((n) => n.child !== undefined);
      const views = await Promise.all(running.map((n) => n.jsz('?streams=true').catch(() => /** @type {Jsz} */ ({}))));
      const metas = views.map((v) => v.meta_cluster?.leader ?? '');
      const streamLeader = views
        .flatMap((v) => v.account_details ?? [])
        .flatMap((a) => a.stream_detail ?? [])
        .find((d) => d.name === stream && d.cluster?.leader)?.cluster?.leader;
      if (metas[0] && metas[0] !== not && metas.every((m) => m === metas[0]) && streamLeader && streamLeader !== not)
        return streamLeader;
      if (Date.now() > deadline) throw new Error(`JetStream not whole again after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop() {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
