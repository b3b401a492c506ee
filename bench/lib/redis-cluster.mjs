// A 6-node Redis Cluster (3 primaries, 3 replicas) on loopback for the benchmarks (the JS twin of
// test/support/redis-cluster.ts): `redis-server --cluster-enabled yes` nodes joined by
// `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`; stopped with the process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RedisServer } from './servers.mjs';

const run = promisify(execFile);
/** `redis-cli` against one node; its stdout. */
const cli = (/** @type {number} */ port, /** @type {string[]} */ ...args) =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]).then((r) => r.stdout);

export class RedisCluster {
  /** @param {RedisServer[]} nodes */
  constructor(nodes) {
    this.nodes = nodes;
  }

  static async start(size = 6) {
    const extraArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
    extraArgs.push('--cluster-node-timeout', '2000', '--repl-diskless-sync-delay', '0');
    const nodes = await Promise.all(Array.from({ length: size }, () => RedisServer.start({ extraArgs })));
    const cluster = new RedisCluster(nodes);
    const addresses = cluster.addresses;
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => cli(n.port, 'info', 'replication').catch(() => '')));
      const states = await Promise.all(nodes.map((n) => cli(n.port, 'cluster', 'info').catch(() => '')));
      const replicas = infos.filter((i) => i.includes('role:slave'));
      if (
        states.every((s) => s.includes('cluster_state:ok')) &&
        replicas.length === size / 2 &&
        replicas.every((i) => i.includes('master_link_status:up'))
      )
        return cluster;
      if (Date.now() > deadline) throw new Error('the bench Redis Cluster did not come up in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `127.0.0.1:<port>` of every node, for `redisClusterNodes`. */
  get addresses() {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  async stop() {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
