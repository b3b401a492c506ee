// Real servers for the benchmarks (the JS twin of test/support/servers.ts): `nats-server -js` and
// `redis-server` from PATH, on free loopback ports, with temp dirs removed at stop. Every server
// started is registered and stopped on exit, SIGINT and SIGTERM too.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Port helpers shared with the demo's launcher (the built package's src/util/net).
/** @type {typeof import('../../src/util/net.js')} */
const localServers = createRequire(import.meta.url)('../../dist/cjs/util/net.js');

/** @type {Set<ServerProcess>} */
const running = new Set();

function killAllSync() {
  for (const server of running) {
    try {
      server.child?.kill('SIGKILL');
    } catch {
      // already gone
    }
    rmSync(server.dir, { recursive: true, force: true });
  }
  running.clear();
}
process.once('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

export const { freePort } = localServers;

/** @param {number} port */
async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await localServers.tcpAnswers('127.0.0.1', port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A server process; subclasses say how to start it in `command()`. */
class ServerProcess {
  /** @param {string} prefix of the temp dir */
  constructor(prefix) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.port = 0;
    /** @type {import('node:child_process').ChildProcess | undefined} */
    this.child = undefined;
    this.output = '';
  }

  /**
   * The binary and its arguments.
   * @returns {{ bin: string, args: string[] }}
   */
  command() {
    throw new Error('a ServerProcess subclass says how to start its server');
  }

  async start() {
    this.port = await freePort();
    const { bin, args } = this.command();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const capture = (/** @type {Buffer} */ d) => {
      this.output += d.toString();
      if (this.output.length > 100_000) this.output = this.output.slice(-50_000);
    };
    child.stdout.on('data', capture);
    child.stderr.on('data', capture);
    const failed = new Promise((_, reject) => {
      child.once('error', (err) => reject(new Error(`could not start ${bin}: ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`${bin} exited with ${code} at start:\n${this.output}`)));
    });
    failed.catch(() => undefined);
    this.child = child;
    running.add(this);
    await Promise.race([waitForPort(this.port), failed]);
    return this;
  }

  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove the temp dir. */
  async stop() {
    const child = this.child;
    this.child = undefined;
    running.delete(this);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class NatsServer extends ServerProcess {
  /**
   * `maxPayload`: bytes; a 10,000-flag ruleset is ~5 MB, above the server's 1 MB default.
   * @param {{ maxPayload?: number }} options
   */
  constructor({ maxPayload } = {}) {
    super('tailslide-bench-nats-');
    this.maxPayload = maxPayload;
  }

  /** @param {{ maxPayload?: number }} [options] */
  static start(options) {
    return new NatsServer(options).start();
  }

  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** @override */
  command() {
    const lines = [
      `listen: "127.0.0.1:${this.port}"`,
      `jetstream { store_dir: ${JSON.stringify(join(this.dir, 'js'))} }`,
    ];
    if (this.maxPayload !== undefined) lines.push(`max_payload: ${this.maxPayload}`);
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    return { bin: 'nats-server', args: ['-c', conf] };
  }
}

export class RedisServer extends ServerProcess {
  /**
   * `module`: path of a module to load (e.g. `timeSeriesModule('1.6.19')`).
   * `extraArgs`: more redis-server arguments (e.g. `--cluster-enabled yes`).
   * @param {{ module?: string, extraArgs?: string[] }} [options]
   */
  constructor({ module, extraArgs = [] } = {}) {
    super('tailslide-bench-redis-');
    this.module = module;
    this.extraArgs = extraArgs;
  }

  /** @param {{ module?: string, extraArgs?: string[] }} [options] */
  static start(options) {
    return new RedisServer(options).start();
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** @override */
  command() {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', this.dir);
    if (this.module !== undefined) args.push('--loadmodule', this.module);
    args.push(...this.extraArgs);
    return { bin: 'redis-server', args };
  }
}

/**
 * Path of a RedisTimeSeries build (`<dir>/<version>/redistimeseries.so`), or undefined when it is not
 * there. `<dir>`: $TAILSLIDE_REDISTIMESERIES_DIR, else `../shared/redistimeseries` beside the project.
 */
/** @param {string} version */
export function timeSeriesModule(version) {
  const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const dir = process.env.TAILSLIDE_REDISTIMESERIES_DIR ?? resolve(root, '../shared/redistimeseries');
  const path = join(dir, version, 'redistimeseries.so');
  return existsSync(path) ? path : undefined;
}
