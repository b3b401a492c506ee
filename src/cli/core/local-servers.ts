/**
 * Local NATS and Redis for the demo: is something answering at the configured address, and if
 * not, `nats-server -js` and `redis-server` (no persistence) from PATH on free ports in a temp dir,
 * stopped again by the demo. Children get their own process group, so a Ctrl-C in the terminal
 * reaches only the demo, which disconnects first and then stops them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort, tcpAnswers } from '../../util/net';
import { CliError, EXIT } from './exit-codes';

export interface LocalServer {
  readonly name: 'nats-server' | 'redis-server';
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Its log file (stdout and stderr). */
  readonly log: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export const INSTALL_HINT: readonly string[] = [
  'Install them, or start them in Docker:',
  '  Debian/Ubuntu:  sudo apt-get install nats-server redis-server',
  '  macOS:          brew install nats-server redis',
  '  Docker:         docker compose up -d   (in the tailslide repository, with its docker-compose.yml)',
];

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** The path of an executable on PATH, or undefined. */
export function findOnPath(bin: string, pathEnv: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, bin);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Children still running, killed hard if the process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => killAllNow());
}

/** Sends SIGKILL to every server still running (last resort: a second Ctrl-C, a crash). */
export function killAllNow(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function startNatsServer(bin: string, dir: string): Promise<LocalServer> {
  return launch(
    'nats-server',
    bin,
    dir,
    (port) => ['-js', '-sd', join(dir, 'jetstream'), '-a', '127.0.0.1', '-p', String(port)],
    (port) => `nats://127.0.0.1:${port}`,
  );
}

export function startRedisServer(bin: string, dir: string): Promise<LocalServer> {
  return launch(
    'redis-server',
    bin,
    dir,
    (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    (port) => `redis://127.0.0.1:${port}`,
  );
}

async function launch(
  name: LocalServer['name'],
  bin: string,
  dir: string,
  args: (port: number) => string[],
  url: (port: number) => string,
): Promise<LocalServer> {
  const log = join(dir, `${name}.log`);
  let lastProblem = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(bin, args(port), { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    let gone = false;
    const exited = new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(error.message));
      child.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code ?? '?'}`}`));
    }).finally(() => {
      gone = true;
    });
    track(child);
    const listening = waitForPort(port, START_TIMEOUT_MS, () => gone).then((ok) =>
      ok ? '' : `nothing listens on port ${port}`,
    );
    const started = await Promise.race([listening, exited]);
    if (started === '' && child.pid !== undefined) {
      return { name, url: url(port), port, pid: child.pid, log, stop: stopper(child) };
    }
    await stopper(child)();
    lastProblem = `${started || 'did not start'}: ${lastLogLine(log)}`;
    // A port taken between freePort() and the server's bind: try another one.
    if (!/address already in use|bind/i.test(lastProblem)) break;
  }
  throw new CliError(`Could not start ${name} (${bin}): ${lastProblem} (log: ${log})`, EXIT.CONNECTION);
}

function stopper(child: ChildProcess): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    return stopping;
  };
}

/** True once something listens on the port; false after `timeoutMs` or once `gaveUp()` says so. */
async function waitForPort(port: number, timeoutMs: number, gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tcpAnswers('127.0.0.1', port, 500))) {
    if (gaveUp() || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function lastLogLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return (lines[lines.length - 1] ?? '').trim() || '(empty log)';
  } catch {
    return '(no log)';
  }
}
