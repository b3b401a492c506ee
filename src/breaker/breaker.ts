/**
 * `CircuitBreaker`: turns failure signals into flags switched off, and ramps them back.
 *
 * Every `pollIntervalMs` it reads, per watched app, the success and failure counts of each flag's
 * window from Redis (one query per app), decides with the pure rules of decide.ts, and applies
 * the transitions: in standalone mode by publishing the app's whole updated ruleset on
 * `apps.<id>.update.circuit` through the admin library's guarded read-modify-write (a decision
 * taken on a state that changed meanwhile is taken again on the fresh ruleset, so a human edit is
 * never lost and two breakers never double-step); in tower mode by sending Tailslide's control
 * messages for Tower to apply. All circuit state lives in the rulesets, none in memory: a restarted
 * breaker carries on where the last one stopped.
 *
 * This class is the lifecycle only. Its parts: which apps are watched (apps.ts), Redis and the
 * signal reader (signal-backend.ts), one poll (poll.ts), and the writer of the mode
 * (writers/standalone.ts, writers/tower.ts).
 */
import { Events, type NatsConnection } from 'nats';
import { FlagAdmin } from '../admin/flag-admin';
import { TypedEmitter } from '../emitter';
import { ConnectionError } from '../errors';
import type { Logger } from '../logger';
import { openNats, type OpenedNats } from '../nats/open';
import { errorMessage } from '../nats/errors';
import type { WireFlag } from '../ruleset/types';
import { WatchedApps } from './apps';
import type { Decision, WatchSummary } from './decide';
import {
  BREAKER_CONNECTION_NAME,
  resolveBreakerOptions,
  type BreakerMode,
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
} from './options';
import { emptyReport, runPoll, type PollContext, type PollReport } from './poll';
import { SignalBackend } from './signal-backend';
import { SkewGuard } from './skew';
import { describeTransition, toTransition, type CircuitTransition } from './transition';
import { NatsTrouble, RedisTrouble } from './trouble';
import { StandaloneWriter } from './writers/standalone';
import { TowerWriter } from './writers/tower';
import type { CircuitWriter, WriterContext } from './writers/writer';

// Where they were declared before the split: the CLI and the demo import them from here.
export { describeTransition, type CircuitTransition } from './transition';
export type { PollReport } from './poll';

export interface CircuitBreakerEvents {
  transition: [CircuitTransition];
  poll: [PollReport];
  /** What the breaker watches of an app: at its first ruleset (or none), and whenever that changes. */
  watching: [WatchSummary];
}

export class CircuitBreaker extends TypedEmitter<CircuitBreakerEvents> {
  private readonly options: ResolvedBreakerOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly nats: NatsTrouble;
  private readonly redis: RedisTrouble;
  private readonly signals: SignalBackend;
  /** Circuit times in the future, counted from their first sighting (src/breaker/skew.ts). */
  private readonly skew = new SkewGuard((message) => this.logger.warn(message));
  /** The NATS connection as opened: closed at stop when it is ours. */
  private natsHandle: OpenedNats | undefined;
  private admin: FlagAdmin | undefined;
  private apps: WatchedApps | undefined;
  private writer: CircuitWriter | undefined;
  /** Set once NATS is open and the admin library made: from then on a poll can run. */
  private context: PollContext | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<PollReport> = Promise.resolve(emptyReport(0));

  /** Inert: validates options (throws `InvalidOptionError`) and opens nothing. */
  constructor(options: CircuitBreakerOptions) {
    const resolved = resolveBreakerOptions(options);
    super(resolved.logger);
    this.options = resolved;
    this.logger = resolved.logger;
    this.now = resolved.now;
    this.nats = new NatsTrouble(resolved.logger);
    this.redis = new RedisTrouble(resolved.logger);
    this.signals = new SignalBackend(resolved, resolved.logger);
  }

  get mode(): BreakerMode {
    return this.options.mode;
  }

  /** The apps watched now (for 'all': every app found so far). */
  get watchedApps(): number[] {
    return this.apps?.ids() ?? [];
  }

  /**
   * Connects to NATS (fails with `ConnectionError` / `AuthorizationError` within
   * `connectTimeoutMs`), starts following the apps' rulesets and starts polling. Redis may be down:
   * circuits are then held until it answers. Idempotent.
   */
  start(): Promise<void> {
    if (this.stopped) return Promise.reject(new ConnectionError('CircuitBreaker: stopped'));
    this.starting ??= this.open().catch(async (err: unknown) => {
      this.stopped = true;
      await this.release();
      throw err;
    });
    return this.starting;
  }

  /** Stops polling, waits for a poll and writes in flight, and releases every handle. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  /** Runs one poll now (after any poll in progress) and reports what it did. */
  poll(): Promise<PollReport> {
    const next = this.polling.catch(() => emptyReport(0)).then(() => this.runPoll());
    this.polling = next;
    return next;
  }

  private async open(): Promise<void> {
    const { nats } = this.options;
    const opened = await openNats(nats, {
      name: BREAKER_CONNECTION_NAME,
      connectTimeoutMs: this.options.connectTimeoutMs,
      messagePrefix: 'CircuitBreaker: ',
    });
    this.natsHandle = opened;
    const nc = opened.client;
    this.followStatus(nc);
    const admin = new FlagAdmin({
      nats: nc,
      stream: nats.stream,
      logger: this.logger,
      now: () => new Date(this.now()),
    });
    this.admin = admin;
    const apps = this.makeParts(nc, admin);
    await admin.connect();

    this.signals.connect();
    // Redis may be down: then the first polls hold every circuit (and say so) until it answers.
    await this.signals.ready;
    if (this.stopped) return;

    await apps.start(nc);
    this.logger.info(
      `CircuitBreaker: ${this.options.mode} mode, watching ${this.options.apps === 'all' ? 'every app' : `app(s) ${this.options.apps.join(', ')}`} in stream "${nats.stream}", window ${this.options.windowMs} ms, poll ${this.options.pollIntervalMs} ms, min ${this.options.minRequests} requests`,
    );
    if (this.options.autoPoll && !this.stopped) this.schedule(0);
  }

  /** The watched apps, the mode's writer and what a poll needs of them (all inert until used). */
  private makeParts(nc: NatsConnection, admin: FlagAdmin): WatchedApps {
    const writerContext: WriterContext = {
      options: this.options,
      logger: this.logger,
      nats: this.nats,
      skew: this.skew,
      report: (appId, flag, decision, atMs, sequence) => this.report(appId, flag, decision, atMs, sequence),
    };
    const writer: CircuitWriter =
      this.options.mode === 'tower'
        ? new TowerWriter(nc, writerContext)
        : new StandaloneWriter(admin, writerContext, (appId, flags, sequence) =>
            this.apps?.adopt(appId, flags, sequence),
          );
    const apps = new WatchedApps(admin, this.options, {
      logger: this.logger,
      nats: this.nats,
      isStopped: () => this.stopped,
      onRuleset: (appId, flags) => writer.observe(appId, flags),
      onWatching: (summary) => this.emit('watching', summary),
    });
    this.writer = writer;
    this.apps = apps;
    this.context = {
      options: this.options,
      apps,
      signals: this.signals,
      writer,
      skew: this.skew,
      redis: this.redis,
      isStopped: () => this.stopped,
    };
    return apps;
  }

  private async close(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.starting?.catch(() => undefined);
    await this.polling.catch(() => undefined);
    await this.writer?.settled();
    await this.release();
  }

  /** Closes everything opened so far (also after a failed start). Safe to call twice. */
  private async release(): Promise<void> {
    await this.apps?.stop();
    await this.admin?.close().catch(() => undefined);
    await this.signals.close();
    await this.natsHandle?.close();
    this.natsHandle = undefined;
  }

  private followStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === Events.Disconnect) this.nats.problem('NATS disconnected; reconnecting');
        else if (status.type === Events.Reconnect) this.nats.resolved('NATS reconnected');
      }
    })().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const startedAt = Date.now();
      this.poll()
        .catch((err: unknown) => this.logger.error(`CircuitBreaker: poll failed: ${errorMessage(err)}`))
        .finally(() => this.schedule(Math.max(0, this.options.pollIntervalMs - (Date.now() - startedAt))));
    }, delayMs);
  }

  private async runPoll(): Promise<PollReport> {
    const started = performance.now();
    const nowMs = this.now();
    const context = this.context;
    if (this.stopped || context === undefined) return emptyReport(nowMs);
    const report = await runPoll(context, nowMs, started);
    this.emit('poll', report);
    return report;
  }

  private report(appId: number, flag: WireFlag, decision: Decision, atMs: number, sequence: number | undefined): void {
    const transition = toTransition(this.options.mode, appId, flag, decision, atMs, sequence);
    this.logger.info(`CircuitBreaker: ${describeTransition(transition)}`);
    this.emit('transition', transition);
  }
}
