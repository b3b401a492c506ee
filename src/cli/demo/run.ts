/**
 * `tailslide demo`: servers (found or started), the demo app, a real FlagManager behind a simulated
 * service, and a live view refreshed every second, until Ctrl-C or `--duration`. Everything it
 * opened is closed in reverse order, the servers it started last. The steps are in start.ts, the
 * tick loop in ticker.ts.
 */
import { toError } from '../../errors';
import type { FlagManager } from '../../manager';
import { EXIT } from '../core/exit-codes';
import { waitForInterrupt } from '../core/interrupt';
import { killAllNow } from '../core/local-servers';
import { count, duration } from '../format/common';
import type { Output } from '../format/output';
import { LiveView } from './live-view';
import type { DemoServers } from './servers';
import { SimulatedService } from './service';
import { DEMO_FLAGS, DEMO_WHITELIST } from './setup';
import {
  openReader,
  setUpApp,
  showIntro,
  startBreaker,
  startManager,
  startServers,
  watchChanges,
  type Closers,
  type DemoFlags,
} from './start';
import { DemoBoard, DemoTicker } from './ticker';

export interface DemoOptions {
  readonly flags: DemoFlags;
  readonly appId: number;
  /** Undefined: until Ctrl-C. */
  readonly durationMs: number | undefined;
  readonly ratePerSecond: number;
  readonly startServers: boolean;
  /** Port of the dashboard the demo starts on 127.0.0.1 (any free one when taken); undefined: none. */
  readonly uiPort?: number | undefined;
  /** Run the circuit breaker on the demo app (default). */
  readonly breaker?: boolean;
}

/** What was started, for the shutdown and its last line. */
interface Started {
  reason: string;
  servers?: DemoServers;
  manager?: FlagManager;
  service?: SimulatedService;
}

export async function runDemo(options: DemoOptions, out: Output): Promise<void> {
  const board = new DemoBoard(new LiveView(out, out.json ? 'json' : out.isTTY ? 'tty' : 'lines'));
  const closers: Closers = [];
  const interrupt = waitForInterrupt({
    onSecond: () => {
      // The user insists: no more waiting for a clean shutdown.
      killAllNow();
      if (board.view.mode === 'tty') out.raw('\x1b[?25h\n');
      process.exit(EXIT.INTERRUPTED);
    },
  });
  const started: Started = { reason: 'error' };
  const startedAt = Date.now();
  try {
    await startAll(options, out, board, closers, started);
    started.reason = await untilStopped(interrupt.done, options.durationMs);
  } finally {
    started.service?.stop();
    interrupt.dispose();
    await shutdown(started, closers, board.view, out, startedAt);
  }
}

/** Every start-up step, in order; what each opened is in `closers`, what the outro needs in `started`. */
async function startAll(
  options: DemoOptions,
  out: Output,
  board: DemoBoard,
  closers: Closers,
  started: Started,
): Promise<void> {
  const found = await startServers(options.flags, options.startServers, out, closers);
  started.servers = found.servers;
  const { flags } = found;
  const { admin, app } = await setUpApp(flags, board.logger(), options.appId, closers);
  board.sequence = app.sequence;
  const manager = await startManager(flags, options.appId, board, closers);
  started.manager = manager;
  const reader = openReader(flags, closers);
  const { appId, durationMs, uiPort } = options;
  await showIntro({ started: found, appId, stream: admin.stream, app, durationMs, uiPort }, board, closers);

  const service = new SimulatedService(manager, DEMO_FLAGS, options.ratePerSecond, DEMO_WHITELIST);
  started.service = service;
  const ticker = new DemoTicker({ appId, durationMs, board, manager, reader, service, servers: found.servers });
  closers.push(watchChanges(admin, appId, board, ticker));
  if (options.breaker !== false) await startBreaker(flags, appId, board, ticker, closers);
  ticker.start();
  closers.push(() => ticker.stop());
}

/** Resolves with why the demo ends: the interrupting signal, or 'timeout' after `durationMs`. */
async function untilStopped(interrupted: Promise<string>, durationMs: number | undefined): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<'timeout'>((resolve) => {
    if (durationMs !== undefined) timer = setTimeout(() => resolve('timeout'), durationMs);
  });
  try {
    return await Promise.race([interrupted, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes what was opened, newest first, then prints the last line. */
async function shutdown(
  started: Started,
  closers: Closers,
  view: LiveView,
  out: Output,
  startedAt: number,
): Promise<void> {
  const signals = started.manager?.signalStats();
  // Close in reverse order; one failure must not keep the rest (the servers) running.
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (error) {
      out.warn(`while stopping: ${toError(error).message}`);
    }
  }
  const stopped = [started.servers?.nats, started.servers?.redis]
    .filter((s) => s !== undefined)
    .map((s) => ({ name: s.name, pid: s.pid }));
  const { reason } = started;
  if (reason === 'error') {
    view.outro([], { event: 'stopped', reason: 'error', stoppedServers: stopped });
    return;
  }
  const requests = started.service?.totalRequests ?? 0;
  const written = started.manager?.signalStats().written ?? signals?.written ?? 0;
  const why = reason === 'timeout' ? 'its --duration' : reason;
  const what = stopped.length === 0 ? '' : `; stopped ${stopped.map((s) => `${s.name} (pid ${s.pid})`).join(' and ')}`;
  view.outro(
    [
      `demo stopped after ${duration(Date.now() - startedAt)} (${why}): ${count(requests)} requests, ${count(written)} signals written to Redis${what}`,
    ],
    { event: 'stopped', reason, requests, signalsWritten: written, stoppedServers: stopped },
  );
}
