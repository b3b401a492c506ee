/**
 * `tailslide demo`: servers (found or started), the demo app, a real FlagManager behind a simulated
 * service, and a live view refreshed every second, until Ctrl-C or `--duration`. Everything it
 * opened is closed in reverse order, the servers it started last.
 */
import { FlagAdmin } from '../../admin/flag-admin';
import { CircuitBreaker, describeTransition } from '../../breaker/breaker';
import { toError } from '../../errors';
import type { Logger } from '../../logger';
import { FlagManager } from '../../manager';
import { toWire } from '../../ruleset/parse';
import { SignalReader, type FlagCounts } from '../../signals/reader';
import { EXIT } from '../core/exit-codes';
import { count, duration, redactUrl } from '../format/common';
import { transitionRecord } from '../format/breaker';
import { watchLines } from '../format/watch';
import { waitForInterrupt } from '../core/interrupt';
import { killAllNow } from '../core/local-servers';
import {
  adminOptions,
  managerConnectionOptions,
  readerOptions,
  renameOptionError,
  signalBackend,
  type NatsFlags,
  type RedisFlags,
} from '../parse/options';
import type { Output } from '../format/output';
import { introLines, introRecord } from './intro';
import { LiveView, type FlagRow } from './live-view';
import { REPORT_EVERY_TICKS } from './log-lines';
import { prepareServers, type DemoServers } from './servers';
import { startDashboard, type Dashboard } from '../../ui';
import { addCounts, emptyCounts, SimulatedService, type PathCounts } from './service';
import { DEMO_FLAGS, DEMO_WHITELIST, setUpDemoApp } from './setup';

export interface DemoOptions {
  readonly flags: NatsFlags & RedisFlags;
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

const TICK_MS = 1_000;
/** Ticks averaged for share, rate and error rates (on a terminal and with --json). */
const WINDOW_TICKS = 3;
const REDIS_WINDOW_MS = 60_000;
const MAX_CHANGES = 6;

export async function runDemo(options: DemoOptions, out: Output): Promise<void> {
  const view = new LiveView(out, out.json ? 'json' : out.isTTY ? 'tty' : 'lines');
  const closers: Array<() => Promise<void>> = [];
  const interrupt = waitForInterrupt({
    onSecond: () => {
      // The user insists: no more waiting for a clean shutdown.
      killAllNow();
      if (view.mode === 'tty') out.raw('\x1b[?25h\n');
      process.exit(EXIT.INTERRUPTED);
    },
  });
  let status: string | undefined;
  const report = (message: string): void => {
    status = message;
    view.warn(message);
  };
  let reason = 'error';
  let service: SimulatedService | undefined;
  let manager: FlagManager | undefined;
  let servers: DemoServers | undefined;
  const startedAt = Date.now();
  try {
    const found = await prepareServers(options.flags.natsServer, options.flags.redisUrl, options.startServers, out);
    servers = found;
    closers.push(() => found.stop());
    // Servers the demo started have no authentication: leave the credentials out.
    const own = found.nats !== undefined;
    const flags: NatsFlags & RedisFlags = {
      ...options.flags,
      natsServer: found.natsServer,
      redisUrl: found.redisUrl,
      ...(own
        ? {
            sdkKey: undefined,
            natsUser: undefined,
            natsPassword: undefined,
            natsCredsFile: undefined,
            natsNkeySeed: undefined,
          }
        : {}),
    };
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: report, error: report };

    const admin = new FlagAdmin(adminOptions(flags, logger));
    closers.push(() => admin.close());
    await admin.connect().catch((error: unknown) => {
      throw renameOptionError(error);
    });
    const app = await setUpDemoApp(admin, options.appId);
    let sequence = app.sequence;

    manager = new FlagManager({
      appId: options.appId,
      ...managerConnectionOptions(flags),
      initTimeoutMs: 10_000,
      signalFlushIntervalMs: 500,
      logger,
    });
    const m = manager;
    closers.push(() => m.disconnect());
    await manager.initialize();
    manager.on('update', (event) => (sequence = Math.max(sequence ?? 0, event.sequence)));
    manager.on('stale', (event) => report(`NATS connection lost (${event.reason}); serving the last ruleset`));
    manager.on('reconnected', () => (status = 'NATS connection is back'));
    const reader = new SignalReader(readerOptions(flags));
    closers.push(() => reader.close());

    const intro = {
      appId: options.appId,
      natsServer: found.natsServer,
      natsStream: admin.stream,
      redisUrl: found.redisUrl,
      nats: found.nats,
      redis: found.redis,
      app,
      whitelisted: DEMO_WHITELIST[0] ?? '',
      durationMs: options.durationMs,
      credentials:
        !own && [flags.sdkKey, flags.natsUser, flags.natsCredsFile, flags.natsNkeySeed].some((v) => v !== undefined),
    };
    const ui = options.uiPort === undefined ? undefined : await startDemoDashboard(flags, logger, options.uiPort);
    if (ui !== undefined) closers.push(() => ui.close());
    const lines = introLines(intro, duration);
    if (ui !== undefined) lines.splice(3, 0, `  UI     ${ui.url} (the dashboard, as tailslide ui serves it)`);
    view.intro(lines, { ...introRecord(intro), ui: ui?.url ?? null });

    const history: Map<string, PathCounts>[] = [];
    const changes: string[] = [];
    let redis = new Map<string, FlagCounts>();
    // The Redis query in flight, if any: the ticker's closer waits for it, so the reader it uses
    // is never closed under it (that would print a spurious query failure on Ctrl-C).
    let refreshing: Promise<void> | undefined;
    const svc = new SimulatedService(manager, DEMO_FLAGS, options.ratePerSecond, DEMO_WHITELIST);
    service = svc;

    const render = (): void => {
      const rows: FlagRow[] = DEMO_FLAGS.map((demo) => {
        const flag = m.getFlag(demo.title);
        const recent = history.reduce(
          (sum, tick) => addCounts(sum, tick.get(demo.title) ?? emptyCounts()),
          emptyCounts(),
        );
        return {
          title: demo.title,
          operation: demo.operation,
          flag: flag && toWire(flag),
          recent,
          redis: redis.get(demo.title),
        };
      });
      view.render({
        appId: options.appId,
        sequence,
        elapsedMs: Date.now() - serviceStart,
        durationMs: options.durationMs,
        windowMs: Math.max(1, history.length) * TICK_MS,
        nats: found.natsServer,
        redis: redactUrl(found.redisUrl),
        signals: m.signalStats(),
        requests: svc.totalRequests,
        rows,
        changes,
        status,
      });
    };
    const refreshRedis = (): void => {
      if (refreshing !== undefined) return;
      const toMs = Date.now();
      const ids = DEMO_FLAGS.map((demo) => [demo.title, m.getFlag(demo.title)?.id] as const);
      refreshing = Promise.all(
        ids
          .filter(([, id]) => id !== undefined)
          .map(
            async ([title, id]) =>
              [title, await reader.flagCounts(id ?? 0, { fromMs: toMs - REDIS_WINDOW_MS, toMs })] as const,
          ),
      )
        .then((entries) => {
          redis = new Map(entries);
        })
        .catch((error: unknown) => report(`Redis: ${toError(error).message}`))
        .finally(() => {
          refreshing = undefined;
        });
    };

    let serviceStart = Date.now();
    const stopWatch = admin.watch(
      options.appId,
      (update) => {
        sequence = Math.max(sequence ?? 0, update.sequence);
        if (update.initial) return;
        const lines = watchLines(update);
        changes.push(...lines);
        changes.splice(0, Math.max(0, changes.length - MAX_CHANGES));
        view.change(update);
        if (view.mode === 'tty') render();
      },
      { diff: { ignoreFields: ['updated_at'] }, onWaiting: (why) => report(why) },
    );
    closers.push(stopWatch);

    if (options.breaker !== false) {
      const breaker = new CircuitBreaker({
        ...managerConnectionOptions(flags),
        signalBackend: signalBackend(flags),
        apps: [options.appId],
        logger,
      });
      closers.push(() => breaker.stop());
      breaker.on('transition', (t) => {
        const line = `breaker: ${describeTransition(t).replace(/^app \d+ /, '')}`;
        changes.push(line);
        changes.splice(0, Math.max(0, changes.length - MAX_CHANGES));
        view.breaker(line, transitionRecord(t));
        if (view.mode === 'tty') render();
      });
      await breaker.start();
    }

    serviceStart = Date.now();
    svc.start();
    const ticker = setInterval(() => {
      history.push(svc.takeCounts());
      // Piped, a report covers the ticks since the last one.
      if (history.length > (view.mode === 'lines' ? REPORT_EVERY_TICKS : WINDOW_TICKS)) history.shift();
      refreshRedis();
      render();
    }, TICK_MS);
    closers.push(async () => {
      clearInterval(ticker);
      await refreshing;
    });

    let timer: NodeJS.Timeout | undefined;
    const elapsed = new Promise<'timeout'>((resolve) => {
      if (options.durationMs !== undefined) timer = setTimeout(() => resolve('timeout'), options.durationMs);
    });
    reason = await Promise.race([interrupt.done, elapsed]);
    clearTimeout(timer);
  } finally {
    service?.stop();
    interrupt.dispose();
    const signals = manager?.signalStats();
    // Close in reverse order; one failure must not keep the rest (the servers) running.
    const started = closers.reverse();
    for (const close of started) {
      try {
        await close();
      } catch (error) {
        out.warn(`while stopping: ${toError(error).message}`);
      }
    }
    const stopped = [servers?.nats, servers?.redis]
      .filter((s) => s !== undefined)
      .map((s) => ({ name: s.name, pid: s.pid }));
    if (reason !== 'error') {
      const requests = service?.totalRequests ?? 0;
      const written = manager?.signalStats().written ?? signals?.written ?? 0;
      const why = reason === 'timeout' ? 'its --duration' : reason;
      const what =
        stopped.length === 0 ? '' : `; stopped ${stopped.map((s) => `${s.name} (pid ${s.pid})`).join(' and ')}`;
      view.outro(
        [
          `demo stopped after ${duration(Date.now() - startedAt)} (${why}): ${count(requests)} requests, ${count(written)} signals written to Redis${what}`,
        ],
        { event: 'stopped', reason, requests, signalsWritten: written, stoppedServers: stopped },
      );
    } else {
      view.outro([], { event: 'stopped', reason: 'error', stoppedServers: stopped });
    }
  }
}

/** The dashboard on 127.0.0.1:`port`, or on any free port when that one is taken. */
async function startDemoDashboard(flags: NatsFlags & RedisFlags, logger: Logger, port: number): Promise<Dashboard> {
  const options = { ...adminOptions(flags, logger), signals: readerOptions(flags), host: '127.0.0.1' };
  try {
    return await startDashboard({ ...options, port });
  } catch (error) {
    const code = (toError(error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (port === 0 || code !== 'EADDRINUSE') throw error;
    return startDashboard({ ...options, port: 0 });
  }
}
