/**
 * The demo's tick loop: every second the service's counts of the last ticks, the Redis counts of the
 * last minute and the board (status, ruleset sequence, recent changes) become one frame of the live view.
 */
import { toError } from '../../errors';
import type { Logger } from '../../logger';
import type { FlagManager } from '../../manager';
import { toWire } from '../../ruleset/parse';
import type { FlagCounts, SignalReader } from '../../signals/reader';
import { redactUrl } from '../format/common';
import type { LiveView, FlagRow } from './live-view';
import { REPORT_EVERY_TICKS } from './log-lines';
import type { DemoServers } from './servers';
import { addCounts, emptyCounts, type PathCounts, type SimulatedService } from './service';
import { DEMO_FLAGS } from './setup';

const TICK_MS = 1_000;
/** Ticks averaged for share, rate and error rates (on a terminal and with --json). */
const WINDOW_TICKS = 3;
const REDIS_WINDOW_MS = 60_000;
const MAX_CHANGES = 6;

/** What the frames show besides counts, written to by the manager, the watch and the breaker. */
export class DemoBoard {
  /** The last warning, or that a lost connection is back. */
  status: string | undefined;
  /** The newest ruleset sequence seen (by the manager or the watch). */
  sequence: number | undefined;
  /** The last few changes (ruleset diffs, breaker transitions), oldest first. */
  readonly changes: string[] = [];

  constructor(readonly view: LiveView) {}

  /** A warning: shown at once, and kept as the status line. */
  readonly report = (message: string): void => {
    this.status = message;
    this.view.warn(message);
  };

  /** The library's logger for the demo: warnings and errors only, onto the board. */
  logger(): Logger {
    return { debug: () => undefined, info: () => undefined, warn: this.report, error: this.report };
  }

  seen(sequence: number): void {
    this.sequence = Math.max(this.sequence ?? 0, sequence);
  }

  addChanges(lines: readonly string[]): void {
    this.changes.push(...lines);
    this.changes.splice(0, Math.max(0, this.changes.length - MAX_CHANGES));
  }
}

export interface TickerParts {
  readonly appId: number;
  readonly durationMs: number | undefined;
  readonly board: DemoBoard;
  readonly manager: FlagManager;
  readonly reader: Pick<SignalReader, 'flagCounts'>;
  readonly service: SimulatedService;
  readonly servers: DemoServers;
}

export class DemoTicker {
  private readonly history: Map<string, PathCounts>[] = [];
  private redis = new Map<string, FlagCounts>();
  // The Redis query in flight, if any: stop() waits for it, so the reader it uses is never closed
  // under it (that would print a spurious query failure on Ctrl-C).
  private refreshing: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private serviceStart = Date.now();

  constructor(private readonly parts: TickerParts) {}

  /** Starts the service and a frame every second. */
  start(): void {
    const { service, board } = this.parts;
    this.serviceStart = Date.now();
    service.start();
    this.ticker = setInterval(() => {
      this.history.push(service.takeCounts());
      // Piped, a report covers the ticks since the last one.
      if (this.history.length > (board.view.mode === 'lines' ? REPORT_EVERY_TICKS : WINDOW_TICKS)) {
        this.history.shift();
      }
      this.refreshRedis();
      this.render();
    }, TICK_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    await this.refreshing;
  }

  /** Draws one frame now (also between ticks, when a change arrives on a terminal). */
  render(): void {
    const { manager, board, servers, service } = this.parts;
    const rows: FlagRow[] = DEMO_FLAGS.map((demo) => {
      const flag = manager.getFlag(demo.title);
      const recent = this.history.reduce(
        (sum, tick) => addCounts(sum, tick.get(demo.title) ?? emptyCounts()),
        emptyCounts(),
      );
      return {
        title: demo.title,
        operation: demo.operation,
        flag: flag && toWire(flag),
        recent,
        redis: this.redis.get(demo.title),
      };
    });
    board.view.render({
      appId: this.parts.appId,
      sequence: board.sequence,
      elapsedMs: Date.now() - this.serviceStart,
      durationMs: this.parts.durationMs,
      windowMs: Math.max(1, this.history.length) * TICK_MS,
      nats: servers.natsServer,
      redis: redactUrl(servers.redisUrl),
      signals: manager.signalStats(),
      requests: service.totalRequests,
      rows,
      changes: board.changes,
      status: board.status,
    });
  }

  /** Asks Redis for each demo flag's counts of the last minute, unless a query is still out. */
  private refreshRedis(): void {
    if (this.refreshing !== undefined) return;
    const { manager, reader, board } = this.parts;
    const toMs = Date.now();
    const ids = DEMO_FLAGS.map((demo) => [demo.title, manager.getFlag(demo.title)?.id] as const);
    this.refreshing = Promise.all(
      ids
        .filter(([, id]) => id !== undefined)
        .map(
          async ([title, id]) =>
            [title, await reader.flagCounts(id ?? 0, { fromMs: toMs - REDIS_WINDOW_MS, toMs })] as const,
        ),
    )
      .then((entries) => {
        this.redis = new Map(entries);
      })
      .catch((error: unknown) => board.report(`Redis: ${toError(error).message}`))
      .finally(() => {
        this.refreshing = undefined;
      });
  }
}
