/**
 * Real servers for tests: `nats-server` (JetStream) and `redis-server` started from PATH on free
 * ports with temp dirs, restartable on the same port and store (for outage and restart tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, tcpAnswers } from '../../src/util/net';

export { freePort };

/** Resolves once something accepts TCP connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tcpAnswers('127.0.0.1', port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

abstract class ServerProcess {
  protected child: ChildProcess | undefined;
  readonly dir: string;
  port = 0;
  private output = '';

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  protected abstract command(): { bin: string; args: string[] };

  /** Starts the server (on a new free port the first time, the same port after). */
  async start(): Promise<this> {
    if (this.child) return this;
    if (this.port === 0) this.port = await freePort();
    const { bin, args } = this.command();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => this.capture(d));
    child.stderr?.on('data', (d: Buffer) => this.capture(d));
    const spawnError = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`could not start ${bin}: ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`${bin} exited with ${code} at start:\n${this.output}`)));
    });
    spawnError.catch(() => undefined);
    this.child = child;
    await Promise.race([waitForPort(this.port), spawnError]);
    return this;
  }

  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered, until `thaw()`. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Resumes a frozen server (SIGCONT). */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the server hard, as a crash would. */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Stops the server and removes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get log(): string {
    return this.output;
  }

  private capture(data: Buffer): void {
    this.output += data.toString();
    if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
  }
}

export interface NatsServerOptions {
  /** Require this token. */
  token?: string;
  /** Require this user and password. */
  user?: string;
  password?: string;
  /** Extra lines for the config file (e.g. a `tls { … }` block). */
  extraConfig?: string;
  /** Max message size in bytes (server default 1 MB). */
  maxPayload?: number;
  /**
   * Serve the monitoring endpoint (`/varz`, `/connz`) on this port; 0 picks a free one. The port
   * is kept across restarts (see `monitorUrl`).
   */
  monitorPort?: number;
}

/** A `nats-server -js` of the test's own, with a temp JetStream store that survives restarts. */
export class NatsServer extends ServerProcess {
  /** Port of the monitoring endpoint (0 when the `monitorPort` option is not set). */
  monitorPort: number;

  constructor(private readonly options: NatsServerOptions = {}) {
    super('tailslide-nats-');
    this.monitorPort = options.monitorPort ?? 0;
  }

  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    return new NatsServer(options).start();
  }

  override async start(): Promise<this> {
    if (this.options.monitorPort !== undefined && this.monitorPort === 0) this.monitorPort = await freePort();
    return super.start();
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** `http://127.0.0.1:<monitorPort>`; throws when the server was started without `monitorPort`. */
  get monitorUrl(): string {
    if (this.monitorPort === 0) throw new Error('this NatsServer was started without the monitorPort option');
    return `http://127.0.0.1:${this.monitorPort}`;
  }

  protected command(): { bin: string; args: string[] } {
    const lines = [
      `listen: "127.0.0.1:${this.port}"`,
      `jetstream { store_dir: ${JSON.stringify(join(this.dir, 'js'))} }`,
    ];
    if (this.options.token !== undefined) lines.push(`authorization { token: ${JSON.stringify(this.options.token)} }`);
    if (this.options.user !== undefined) {
      lines.push(
        `authorization { user: ${JSON.stringify(this.options.user)}, password: ${JSON.stringify(this.options.password ?? '')} }`,
      );
    }
    if (this.options.maxPayload !== undefined) lines.push(`max_payload: ${this.options.maxPayload}`);
    if (this.monitorPort !== 0) lines.push(`http: "127.0.0.1:${this.monitorPort}"`);
    if (this.options.extraConfig) lines.push(this.options.extraConfig);
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    return { bin: 'nats-server', args: ['-c', conf] };
  }
}

/** A `redis-server` of the test's own that keeps nothing on disk. */
export class RedisServer extends ServerProcess {
  constructor(private readonly extraArgs: string[] = []) {
    super('tailslide-redis-');
  }

  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    return new RedisServer(extraArgs).start();
  }

  /** A redis-server with the RedisTimeSeries module at `modulePath` loaded (see `timeSeriesModules()`). */
  static async withModule(modulePath: string, extraArgs: string[] = []): Promise<RedisServer> {
    return new RedisServer(['--loadmodule', modulePath, ...extraArgs]).start();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command(): { bin: string; args: string[] } {
    return {
      bin: 'redis-server',
      args: [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
    };
  }
}

/** The RedisTimeSeries builds the suite runs on: the oldest syntax (no ALIGN) and a newer one. */
export const TIMESERIES_VERSIONS = ['1.4.14', '1.6.19'] as const;

export interface TimeSeriesModule {
  readonly version: string;
  /** Absolute path of `redistimeseries.so`. */
  readonly path: string;
  readonly present: boolean;
}

/**
 * Where the RedisTimeSeries builds are: `$TAILSLIDE_REDISTIMESERIES_DIR`, else `../shared/redistimeseries`
 * beside the project root (as in CI). Each version is `<dir>/<version>/redistimeseries.so`.
 */
export function timeSeriesModules(): TimeSeriesModule[] {
  const root = resolve(__dirname, '../..');
  const dir = process.env.TAILSLIDE_REDISTIMESERIES_DIR ?? resolve(root, '../shared/redistimeseries');
  return TIMESERIES_VERSIONS.map((version) => {
    const path = join(dir, version, 'redistimeseries.so');
    return { version, path, present: existsSync(path) };
  });
}

/** How to run the TimeSeries suites where the builds are not beside the clone. */
export const TIMESERIES_HOW_TO =
  'to run them, set TAILSLIDE_REDISTIMESERIES_DIR to a folder holding <version>/redistimeseries.so ' +
  `(versions ${TIMESERIES_VERSIONS.join(', ')}; CI uses ../shared/redistimeseries), or REDIS_TIMESERIES_URL ` +
  'to a Redis with the module built in (Redis 8, Redis Stack) where the suite supports it';

/**
 * The RedisTimeSeries builds a suite runs on: the present ones. An absent build is said in one line
 * on stderr with how to enable it, and the suite skips it; with `TAILSLIDE_REQUIRE_TIMESERIES=1`
 * (set by .ci/run) an absent build fails the suite instead, so CI never skips them silently. When
 * none is present a skipped test is registered, so that the file still holds a test and the skip
 * shows in the summary.
 */
export function timeSeriesModulesFor(suite: string): TimeSeriesModule[] {
  const modules = timeSeriesModules();
  const absent = modules.filter((m) => !m.present);
  if (absent.length > 0) {
    const what = `no RedisTimeSeries ${absent.map((m) => m.version).join(', ')} at ${absent.map((m) => m.path).join(', ')}`;
    if (process.env.TAILSLIDE_REQUIRE_TIMESERIES === '1')
      throw new Error(`${suite}: ${what} (TAILSLIDE_REQUIRE_TIMESERIES=1)`);
    process.stderr.write(`${suite}: SKIPPED ${what}; ${TIMESERIES_HOW_TO}\n`);
  }
  const present = modules.filter((m) => m.present);
  if (present.length === 0) {
    describe(`${suite} on RedisTimeSeries`, () => {
      test.skip(`SKIPPED: no RedisTimeSeries module; ${TIMESERIES_HOW_TO}`, () => undefined);
    });
  }
  return present;
}
