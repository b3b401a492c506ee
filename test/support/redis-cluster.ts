/**
 * Redis Cluster and Sentinel of the test's own, on loopback free ports with temp dirs:
 * - `RedisClusterSet`: 6 `redis-server --cluster-enabled yes` nodes joined by
 *   `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes` (3 primaries, 3 replicas),
 *   with a 1 s node timeout so that a killed primary is replaced in a few seconds;
 * - `SentinelSet`: a primary, a replica and 3 sentinels (`redis-server <conf> --sentinel`).
 * Stopped by `dispose()`.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, RedisServer, sleep } from './servers';

const run = promisify(execFile);

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

export class RedisClusterSet {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  /** @param extraArgs more redis-server arguments for every node (e.g. `--loadmodule <path>`) */
  static async start(size = 6, nodeTimeoutMs = 1_000, extraArgs: string[] = []): Promise<RedisClusterSet> {
    const nodes = Array.from(
      { length: size },
      () =>
        new RedisServer([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          // A replica takes over whatever its last contact with the primary was.
          '--cluster-replica-validity-factor',
          '0',
          // Replicas sync at once (the default waits 5 s for more replicas to share one transfer).
          '--repl-diskless-sync-delay',
          '0',
          ...extraArgs,
        ]),
    );
    const set = new RedisClusterSet(nodes);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      await run(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
        { timeout: 30_000 },
      );
      await set.waitHealthy();
      await set.waitReplicasSynced();
    } catch (err) {
      await set.dispose();
      throw err;
    }
    return set;
  }

  /** `host:port` of every node, for `redisClusterNodes`. */
  get addresses(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** Waits until every running node says `cluster_state:ok` and 3 primaries serve all slots. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        this.nodes.filter((n) => n.running).map((n) => redisCli(n.port, 'cluster', 'info').catch(() => '')),
      );
      if (states.every((s) => s.includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /** Waits until every running replica's link to its primary is up. */
  async waitReplicasSynced(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(
        this.nodes.filter((n) => n.running).map((n) => redisCli(n.port, 'info', 'replication').catch(() => '')),
      );
      const replicas = infos.filter((i) => i.includes('role:slave'));
      if (replicas.length > 0 && replicas.every((i) => i.includes('master_link_status:up'))) return;
      if (Date.now() > deadline) throw new Error(`Redis Cluster replicas not in sync after ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /** Waits until a running primary other than `old` serves `slot` and the cluster is healthy. */
  async waitFailover(slot: number, old: RedisServer, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.primaryOf(slot).catch(() => old)) === old) {
      if (Date.now() > deadline) throw new Error(`no replica took slot ${slot} over in ${timeoutMs} ms`);
      await sleep(100);
    }
    await this.waitHealthy(Math.max(1_000, deadline - Date.now()));
  }

  /** The running primary that serves `slot`. */
  async primaryOf(slot: number): Promise<RedisServer> {
    for (const node of this.nodes.filter((n) => n.running)) {
      const out = await redisCli(node.port, 'cluster', 'nodes').catch(() => '');
      for (const line of out.split('\n')) {
        const parts = line.split(' ');
        if (!parts[2]?.includes('master') || parts[2].includes('fail')) continue;
        const port = Number(/:(\d+)@/.exec(parts[1] ?? '')?.[1]);
        for (const range of parts.slice(8)) {
          const [from, to] = range.split('-').map(Number);
          if (from !== undefined && slot >= from && slot <= (to ?? from)) {
            const primary = this.nodes.find((n) => n.port === port);
            if (primary) return primary;
          }
        }
      }
      break;
    }
    throw new Error(`no primary serves slot ${slot}`);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}

export const SENTINEL_MASTER = 'tailslide';

export class SentinelSet {
  private constructor(
    readonly primary: RedisServer,
    readonly replica: RedisServer,
    readonly sentinels: readonly RedisServer[],
  ) {}

  static async start(): Promise<SentinelSet> {
    const primary = await RedisServer.start();
    const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(primary.port)]);
    const sentinels: RedisServer[] = [];
    const set = new SentinelSet(primary, replica, sentinels);
    try {
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const sentinel = new SentinelServer(port, primary.port);
        sentinels.push(sentinel);
        await sentinel.start();
      }
      await set.waitForReplica();
      // Sentinels need a moment to discover the replica and each other.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const out = await redisCli(sentinels[0]?.port ?? 0, 'sentinel', 'master', SENTINEL_MASTER).catch(() => '');
        const lines = out.split('\n');
        const field = (name: string): number => Number(lines[lines.indexOf(name) + 1]);
        if (field('num-slaves') >= 1 && field('num-other-sentinels') >= 2) break;
        if (Date.now() > deadline) throw new Error('sentinels did not discover the replica and each other');
        await sleep(200);
      }
    } catch (err) {
      await set.dispose();
      throw err;
    }
    return set;
  }

  /** `{ host, port }` of the sentinels, for ioredis' `sentinels` option. */
  get addresses(): Array<{ host: string; port: number }> {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  async waitForReplica(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await redisCli(this.replica.port, 'info', 'replication')).includes('master_link_status:up')) {
      if (Date.now() > deadline) throw new Error('the replica never synced');
      await sleep(100);
    }
  }

  /** The port the sentinels name as the primary now. */
  async primaryPort(): Promise<number> {
    const out = await redisCli(this.sentinels[0]?.port ?? 0, 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER);
    return Number(out.trim().split('\n')[1]);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sentinels, this.replica, this.primary].map((s) => s.dispose()));
  }
}

/** `redis-server <conf> --sentinel` (the config file must be writable: sentinels rewrite it). */
class SentinelServer extends RedisServer {
  constructor(
    port: number,
    private readonly primaryPort: number,
  ) {
    super();
    this.port = port;
  }

  protected override command(): { bin: string; args: string[] } {
    const conf = join(this.dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${this.port}`,
        'bind 127.0.0.1',
        `dir ${JSON.stringify(this.dir)}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${this.primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    return { bin: 'redis-server', args: [conf, '--sentinel'] };
  }
}
