/** The demo's NATS and Redis: the configured ones when they answer, otherwise its own. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from '../core/exit-codes';
import { redactUrl } from '../format/common';
import { hostPort, tcpAnswers } from '../../util/net';
import { INSTALL_HINT, findOnPath, startNatsServer, startRedisServer, type LocalServer } from '../core/local-servers';
import type { Output } from '../format/output';
import { parseServers } from '../parse/values';

export interface DemoServers {
  readonly natsServer: string;
  readonly redisUrl: string;
  /** The servers the demo started (to stop at the end), by name. */
  readonly nats: LocalServer | undefined;
  readonly redis: LocalServer | undefined;
  readonly dir: string | undefined;
  /** Stops what the demo started and removes its temp dir. Never rejects. */
  stop(): Promise<void>;
}

export async function prepareServers(
  natsServer: string,
  redisUrl: string,
  startServers: boolean,
  out: Output,
): Promise<DemoServers> {
  const first = parseServers(natsServer)[0] ?? natsServer;
  const natsAt = hostPort(first, 4222);
  const redisAt = hostPort(redisUrl, 6379);
  const [natsUp, redisUp] = await Promise.all([
    tcpAnswers(natsAt.host, natsAt.port),
    tcpAnswers(redisAt.host, redisAt.port),
  ]);
  const need: Array<'nats-server' | 'redis-server'> = [];
  if (!natsUp) need.push('nats-server');
  if (!redisUp) need.push('redis-server');
  const nothing = (): Promise<void> => Promise.resolve();
  if (need.length === 0)
    return { natsServer, redisUrl, nats: undefined, redis: undefined, dir: undefined, stop: nothing };

  const silent = [!natsUp ? `NATS at ${first}` : undefined, !redisUp ? `Redis at ${redactUrl(redisUrl)}` : undefined]
    .filter((s) => s !== undefined)
    .join(' and ');
  if (!startServers)
    throw new CliError(`Nothing answers at ${silent} (and --no-start-servers is set)`, EXIT.CONNECTION);
  const bins = new Map(need.map((name) => [name, findOnPath(name)]));
  const missing = need.filter((name) => bins.get(name) === undefined);
  if (missing.length > 0) {
    out.note(
      `The demo needs NATS (with JetStream) and Redis. Nothing answers at ${silent}, and ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH.`,
    );
    for (const line of INSTALL_HINT) out.note(line);
    throw new CliError(`${missing.join(' and ')} not installed (see above)`, EXIT.MISSING_SERVER);
  }

  const dir = mkdtempSync(join(tmpdir(), 'tailslide-demo-'));
  let nats: LocalServer | undefined;
  let redis: LocalServer | undefined;
  const stop = async (): Promise<void> => {
    const running = [nats, redis].filter((server) => server !== undefined);
    await Promise.all(running.map((server) => server.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const natsBin = bins.get('nats-server');
    const redisBin = bins.get('redis-server');
    if (natsBin !== undefined) nats = await startNatsServer(natsBin, dir);
    if (redisBin !== undefined) redis = await startRedisServer(redisBin, dir);
  } catch (error) {
    await stop();
    throw error;
  }
  return { natsServer: nats?.url ?? natsServer, redisUrl: redis?.url ?? redisUrl, nats, redis, dir, stop };
}
