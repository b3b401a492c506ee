/**
 * The demo's start-up steps, in order: servers, the demo app, the manager, the reader, the intro
 * (and dashboard), the watch, the breaker. Each step registers how to undo itself in `closers`
 * before it can fail, so runDemo closes exactly what was opened, in reverse order.
 */
import { FlagAdmin } from '../../admin/flag-admin';
import { CircuitBreaker, describeTransition } from '../../breaker/breaker';
import { toError } from '../../errors';
import type { Logger } from '../../logger';
import { FlagManager } from '../../manager';
import { SignalReader } from '../../signals/reader';
import { startDashboard, type Dashboard } from '../../ui';
import { duration } from '../format/common';
import { transitionRecord } from '../format/breaker';
import type { Output } from '../format/output';
import { watchLines } from '../format/watch';
import {
  adminOptions,
  managerConnectionOptions,
  readerOptions,
  renameOptionError,
  signalBackend,
  type NatsFlags,
  type RedisFlags,
} from '../parse/options';
import { introLines, introRecord } from './intro';
import { prepareServers, type DemoServers } from './servers';
import { DEMO_WHITELIST, setUpDemoApp, type DemoApp } from './setup';
import type { DemoBoard, DemoTicker } from './ticker';

export type DemoFlags = NatsFlags & RedisFlags;
export type Closers = Array<() => Promise<void>>;

/** Servers found or started, and the connection flags that reach them. */
export interface StartedServers {
  readonly servers: DemoServers;
  readonly flags: DemoFlags;
  /** The demo started NATS itself (then without authentication). */
  readonly own: boolean;
}

export async function startServers(
  flags: DemoFlags,
  startServersToo: boolean,
  out: Output,
  closers: Closers,
): Promise<StartedServers> {
  const servers = await prepareServers(flags.natsServer, flags.redisUrl, startServersToo, out);
  closers.push(() => servers.stop());
  // Servers the demo started have no authentication: leave the credentials out.
  const own = servers.nats !== undefined;
  const noCredentials = {
    sdkKey: undefined,
    natsUser: undefined,
    natsPassword: undefined,
    natsCredsFile: undefined,
    natsNkeySeed: undefined,
  };
  return {
    servers,
    own,
    flags: { ...flags, natsServer: servers.natsServer, redisUrl: servers.redisUrl, ...(own ? noCredentials : {}) },
  };
}

/** Connects the admin and creates (or resets) the demo app's flags. */
export async function setUpApp(
  flags: DemoFlags,
  logger: Logger,
  appId: number,
  closers: Closers,
): Promise<{ admin: FlagAdmin; app: DemoApp }> {
  const admin = new FlagAdmin(adminOptions(flags, logger));
  closers.push(() => admin.close());
  await admin.connect().catch((error: unknown) => {
    throw renameOptionError(error);
  });
  return { admin, app: await setUpDemoApp(admin, appId) };
}

/** A real FlagManager on the demo app, its events onto the board. */
export async function startManager(
  flags: DemoFlags,
  appId: number,
  board: DemoBoard,
  closers: Closers,
): Promise<FlagManager> {
  const manager = new FlagManager({
    appId,
    ...managerConnectionOptions(flags),
    initTimeoutMs: 10_000,
    signalFlushIntervalMs: 500,
    logger: board.logger(),
  });
  closers.push(() => manager.disconnect());
  await manager.initialize();
  manager.on('update', (event) => board.seen(event.sequence));
  manager.on('stale', (event) => board.report(`NATS connection lost (${event.reason}); serving the last ruleset`));
  manager.on('reconnected', () => (board.status = 'NATS connection is back'));
  return manager;
}

export function openReader(flags: DemoFlags, closers: Closers): SignalReader {
  const reader = new SignalReader(readerOptions(flags));
  closers.push(() => reader.close());
  return reader;
}

export interface IntroParts {
  readonly started: StartedServers;
  readonly appId: number;
  readonly stream: string;
  readonly app: DemoApp;
  readonly durationMs: number | undefined;
  readonly uiPort: number | undefined;
}

/** Starts the dashboard when asked, then prints what runs where and what to try. */
export async function showIntro(parts: IntroParts, board: DemoBoard, closers: Closers): Promise<void> {
  const { servers, flags, own } = parts.started;
  const intro = {
    appId: parts.appId,
    natsServer: servers.natsServer,
    natsStream: parts.stream,
    redisUrl: servers.redisUrl,
    nats: servers.nats,
    redis: servers.redis,
    app: parts.app,
    whitelisted: DEMO_WHITELIST[0] ?? '',
    durationMs: parts.durationMs,
    credentials:
      !own && [flags.sdkKey, flags.natsUser, flags.natsCredsFile, flags.natsNkeySeed].some((v) => v !== undefined),
  };
  const logger = board.logger();
  const ui = parts.uiPort === undefined ? undefined : await startDemoDashboard(flags, logger, parts.uiPort);
  if (ui !== undefined) closers.push(() => ui.close());
  const lines = introLines(intro, duration);
  if (ui !== undefined) lines.splice(3, 0, `  UI     ${ui.url} (the dashboard, as tailslide ui serves it)`);
  board.view.intro(lines, { ...introRecord(intro), ui: ui?.url ?? null });
}

/** Follows the app's ruleset: each change (not the first ruleset) onto the board and the view. */
export function watchChanges(
  admin: FlagAdmin,
  appId: number,
  board: DemoBoard,
  ticker: DemoTicker,
): () => Promise<void> {
  return admin.watch(
    appId,
    (update) => {
      board.seen(update.sequence);
      if (update.initial) return;
      board.addChanges(watchLines(update));
      board.view.change(update);
      if (board.view.mode === 'tty') ticker.render();
    },
    { diff: { ignoreFields: ['updated_at'] }, onWaiting: (why) => board.report(why) },
  );
}

/** The circuit breaker on the demo app; each transition onto the board and the view. */
export async function startBreaker(
  flags: DemoFlags,
  appId: number,
  board: DemoBoard,
  ticker: DemoTicker,
  closers: Closers,
): Promise<void> {
  const breaker = new CircuitBreaker({
    ...managerConnectionOptions(flags),
    signalBackend: signalBackend(flags),
    apps: [appId],
    logger: board.logger(),
  });
  closers.push(() => breaker.stop());
  breaker.on('transition', (t) => {
    const line = `breaker: ${describeTransition(t).replace(/^app \d+ /, '')}`;
    board.addChanges([line]);
    board.view.breaker(line, transitionRecord(t));
    if (board.view.mode === 'tty') ticker.render();
  });
  await breaker.start();
}

/** The dashboard on 127.0.0.1:`port`, or on any free port when that one is taken. */
async function startDemoDashboard(flags: DemoFlags, logger: Logger, port: number): Promise<Dashboard> {
  const options = { ...adminOptions(flags, logger), signals: readerOptions(flags), host: '127.0.0.1' };
  try {
    return await startDashboard({ ...options, port });
  } catch (error) {
    const code = (toError(error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (port === 0 || code !== 'EADDRINUSE') throw error;
    return startDashboard({ ...options, port: 0 });
  }
}
