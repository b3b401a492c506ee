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
 */
import { Events, type NatsConnection, type Subscription } from 'nats';
import type { Redis } from 'ioredis';
import { FlagAdmin } from '../admin/flag-admin';
import { StreamNotFoundError } from '../admin/errors';
import type { RulesetEdit } from '../admin/edits';
import type { StopWatch } from '../admin/watch';
import { TypedEmitter } from '../emitter';
import { ConnectionError } from '../errors';
import type { Logger } from '../logger';
import { openNats, type OpenedNats } from '../nats/open';
import { errorMessage } from '../nats/errors';
import { ALL_APPS_SUBJECTS, appIdOfSubject, streamCovers } from '../nats/subjects';
import type { CircuitStatus, WireFlag } from '../ruleset/types';
import { probeTimeSeries } from '../signals/detect';
import { openSignalConnection, type SignalConnection } from '../signals/redis-connection';
import {
  applyDecision,
  decide,
  needsSignals,
  sameCircuitState,
  watchSummary,
  windowStartMs,
  type Counts,
  type Decision,
  type TransitionKind,
  type WatchSummary,
} from './decide';
import {
  BREAKER_CONNECTION_NAME,
  resolveBreakerOptions,
  type BreakerMode,
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
} from './options';
import type { BreakerSignals, FlagWindow } from './signals';
import { NativeSignals } from './signals-native';
import { TimeSeriesSignals } from './signals-timeseries';
import { BadKeyLog, type BadKey } from './bad-keys';
import { SkewGuard } from './skew';
import { TOWER_SUBJECTS, towerMessage } from './tower';

/** One circuit transition the breaker made (standalone: published; tower: sent to Tower). */
export interface CircuitTransition {
  readonly kind: TransitionKind;
  readonly mode: BreakerMode;
  readonly appId: number;
  readonly flagId: number;
  readonly title: string;
  readonly from: CircuitStatus;
  readonly to: CircuitStatus;
  /** `circuit_recovery_percentage` after it. */
  readonly percentage: number;
  readonly isActive: boolean;
  /** For a trip: the window's counts and error rate (percent). */
  readonly success?: number;
  readonly failure?: number;
  readonly errorRate?: number;
  /** The breaker's clock when it was decided. */
  readonly at: Date;
  /** Standalone: stream sequence of the published ruleset. */
  readonly sequence?: number;
}

/** What one poll did (for dashboards and the benchmark). */
export interface PollReport {
  readonly atMs: number;
  readonly durationMs: number;
  readonly apps: number;
  readonly flags: number;
  /** Flags whose signals were read. */
  readonly judged: number;
  readonly transitions: number;
  /** True when Redis could not be read: every circuit was held as it was. */
  readonly held: boolean;
  /** Signal keys that could not be counted (wrong type, not a number, mislabelled): their flags were held. */
  readonly badKeys: number;
}

export interface CircuitBreakerEvents {
  transition: [CircuitTransition];
  poll: [PollReport];
  /** What the breaker watches of an app: at its first ruleset (or none), and whenever that changes. */
  watching: [WatchSummary];
}

interface AppState {
  flags: readonly WireFlag[] | undefined;
  sequence: number;
  stop: StopWatch | undefined;
  /** The last `watching` line, so that it is said again only when it changes. */
  watching?: string;
  /** The app's bad signal keys, each said once. */
  badKeys: BadKeyLog;
}

interface Planned {
  readonly flag: WireFlag;
  readonly decision: Decision;
  readonly counts: Counts | undefined;
  readonly fromMs: number | undefined;
}

interface Pending {
  readonly flag: WireFlag;
  readonly untilMs: number;
}

export class CircuitBreaker extends TypedEmitter<CircuitBreakerEvents> {
  private readonly options: ResolvedBreakerOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly apps = new Map<number, AppState>();
  private readonly pending = new Map<string, Pending>();
  private readonly towerSubjectsReady = new Set<string>();
  private nc: NatsConnection | undefined;
  /** The NATS connection as opened: closed at stop when it is ours. */
  private natsHandle: OpenedNats | undefined;
  private admin: FlagAdmin | undefined;
  private redis: Redis | undefined;
  /** The Redis connection as opened (ours, or the host's client adopted): closed at stop. */
  private redisConnection: SignalConnection | undefined;
  private signals: BreakerSignals | undefined;
  private discovery: Subscription | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<PollReport> = Promise.resolve(emptyReport(0));
  private writes: Promise<void> = Promise.resolve();
  private redisTrouble: string | undefined;
  private redisReady: Promise<boolean> = Promise.resolve(false);
  private natsTrouble: string | undefined;
  /** Circuit times in the future, counted from their first sighting (src/breaker/skew.ts). */
  private readonly skew = new SkewGuard((message) => this.logger.warn(message));
  private lastAppsRefreshMs = 0;

  /** Inert: validates options (throws `InvalidOptionError`) and opens nothing. */
  constructor(options: CircuitBreakerOptions) {
    const resolved = resolveBreakerOptions(options);
    super(resolved.logger);
    this.options = resolved;
    this.logger = resolved.logger;
    this.now = resolved.now;
  }

  get mode(): BreakerMode {
    return this.options.mode;
  }

  /** The apps watched now (for 'all': every app found so far). */
  get watchedApps(): number[] {
    return [...this.apps.keys()].sort((a, b) => a - b);
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
    this.nc = nc;
    this.followStatus(nc);
    const admin = new FlagAdmin({
      nats: nc,
      stream: nats.stream,
      logger: this.logger,
      now: () => new Date(this.now()),
    });
    this.admin = admin;
    await admin.connect();

    this.connectRedis();
    // Redis may be down: then the first polls hold every circuit (and say so) until it answers.
    await this.redisReady;
    if (this.stopped) return;

    if (this.options.apps === 'all') {
      this.discovery = nc.subscribe(ALL_APPS_SUBJECTS, {
        callback: (_err, msg) => {
          const appId = msg === undefined ? undefined : appIdOfSubject(msg.subject);
          if (appId !== undefined && !this.apps.has(appId)) this.watchApp(appId);
        },
      });
      await this.refreshApps();
    } else {
      for (const appId of this.options.apps) this.watchApp(appId);
    }
    this.logger.info(
      `CircuitBreaker: ${this.options.mode} mode, watching ${this.options.apps === 'all' ? 'every app' : `app(s) ${this.options.apps.join(', ')}`} in stream "${nats.stream}", window ${this.options.windowMs} ms, poll ${this.options.pollIntervalMs} ms, min ${this.options.minRequests} requests`,
    );
    if (this.options.autoPoll && !this.stopped) this.schedule(0);
  }

  private async close(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.starting?.catch(() => undefined);
    await this.polling.catch(() => undefined);
    await this.writes.catch(() => undefined);
    await this.release();
  }

  /** Closes everything opened so far (also after a failed start). Safe to call twice. */
  private async release(): Promise<void> {
    this.discovery?.unsubscribe();
    this.discovery = undefined;
    await Promise.all(
      [...this.apps.values()].map(async (app) => {
        await app.stop?.().catch(() => undefined);
      }),
    );
    this.apps.clear();
    await this.admin?.close().catch(() => undefined);
    await this.redisConnection?.close();
    this.redisConnection = undefined;
    this.redis = undefined;
    await this.natsHandle?.close();
    this.natsHandle = undefined;
    this.nc = undefined;
  }

  private followStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === Events.Disconnect) this.natsProblem('NATS disconnected; reconnecting');
        else if (status.type === Events.Reconnect) this.natsResolved('NATS reconnected');
      }
    })().catch(() => undefined);
  }

  private connectRedis(): void {
    // The signal pipeline's own connection: same fail-fast policy, an `error` listener on our client,
    // the host's client adopted as it is (used, never closed).
    const connection = openSignalConnection(
      this.options.redis,
      (err) => this.logger.debug(`CircuitBreaker: Redis ${err.message}`),
      (message) => this.logger.debug(`CircuitBreaker: ${message}`),
    );
    this.redisConnection = connection;
    connection.connect();
    const client = connection.client;
    this.redis = client;
    this.redisReady = connection.waitReady(this.options.connectTimeoutMs).then((outcome) => outcome.ready);
    if (this.options.signalBackend === 'native') this.useNative(client);
    else if (this.options.signalBackend === 'timeseries') this.signals = new TimeSeriesSignals(client);
  }

  private useNative(client: Redis): void {
    this.signals = new NativeSignals(client, (reason) =>
      this.logger.info(`CircuitBreaker: Redis refused the summing script (${reason}); reading with HMGET instead`),
    );
  }

  /** The signal backend; 'auto' asks Redis once it answers. Rejects while Redis cannot be read. */
  private async backend(): Promise<BreakerSignals> {
    const client = this.redis;
    if (client === undefined) throw new Error('not started');
    if (client.status !== 'ready') throw new Error(`Redis is not reachable (connection ${client.status})`);
    if (this.signals !== undefined) return this.signals;
    const probe = await probeTimeSeries(client);
    if (probe.outcome === 'unknown') throw new Error(`could not ask Redis for the TimeSeries module (${probe.detail})`);
    if (probe.outcome === 'present') this.signals = new TimeSeriesSignals(client);
    else this.useNative(client);
    this.logger.info(`CircuitBreaker: reading the ${this.signals?.backend ?? '?'} signal backend`);
    if (this.signals === undefined) throw new Error('no signal backend');
    return this.signals;
  }

  private async refreshApps(): Promise<void> {
    const admin = this.admin;
    if (admin === undefined) return;
    this.lastAppsRefreshMs = Date.now();
    try {
      for (const appId of await admin.listApps()) if (!this.apps.has(appId)) this.watchApp(appId);
    } catch (err) {
      if (err instanceof StreamNotFoundError) {
        this.logger.info(`CircuitBreaker: stream "${admin.stream}" does not exist yet; waiting for apps`);
      } else this.natsProblem(`could not list the apps: ${errorMessage(err)}`);
    }
  }

  private watchApp(appId: number): void {
    const admin = this.admin;
    if (admin === undefined || this.stopped || this.apps.has(appId)) return;
    const state: AppState = { flags: undefined, sequence: 0, stop: undefined, badKeys: this.badKeyLog(appId) };
    this.apps.set(appId, state);
    state.stop = admin.watch(
      appId,
      (update) => {
        if (update.flags === undefined || update.sequence <= state.sequence) return;
        state.flags = update.flags;
        state.sequence = update.sequence;
        this.settlePending(appId, update.flags);
        this.reportWatching(appId, state);
      },
      { onWaiting: (reason) => this.logger.info(`CircuitBreaker: app ${appId}: ${reason}`) },
    );
    // An app without a ruleset sends no update: ask once, so that "no ruleset" is said too.
    admin.readRuleset(appId).then(
      (snapshot) => {
        if (snapshot === undefined && state.flags === undefined && this.apps.get(appId) === state)
          this.reportWatching(appId, state);
      },
      (err: unknown) =>
        this.logger.debug(`CircuitBreaker: app ${appId}: cannot read its ruleset: ${errorMessage(err)}`),
    );
    if (this.options.apps === 'all') this.logger.info(`CircuitBreaker: watching app ${appId}`);
  }

  private reportWatching(appId: number, state: AppState): void {
    const summary = watchSummary(appId, state.flags);
    if (summary.text === state.watching) return;
    state.watching = summary.text;
    this.logger.info(`CircuitBreaker: app ${appId}: ${summary.text}`);
    this.emit('watching', summary);
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
    if (this.stopped || this.admin === undefined) return emptyReport(nowMs);
    if (this.options.apps === 'all' && Date.now() - this.lastAppsRefreshMs >= this.options.appsRefreshMs)
      await this.refreshApps();

    const apps = [...this.apps.entries()].filter(
      (entry): entry is [number, AppState & { flags: readonly WireFlag[] }] => entry[1].flags !== undefined,
    );
    let flagCount = 0;
    let judged = 0;
    let badKeys = 0;
    const plans = new Map<number, Planned[]>();
    let held = false;
    try {
      const signals = await this.backend();
      await Promise.all(
        apps.map(async ([appId, state]) => {
          const flags = state.flags.map((flag) => this.skew.view(appId, flag, nowMs));
          flagCount += flags.length;
          const windows: FlagWindow[] = [];
          for (const flag of flags)
            if (needsSignals(flag))
              windows.push({ flagId: flag.id, fromMs: windowStartMs(flag, nowMs, this.options.windowMs) });
          judged += windows.length;
          const { counts, bad } = await signals.counts(appId, windows, nowMs);
          badKeys += bad.length;
          // A flag with a bad key is held: no trip, and no time-driven step either, since whether
          // it should trip instead cannot be told.
          const heldFlags = state.badKeys.update(bad);
          const fromOf = new Map(windows.map((w) => [w.flagId, w.fromMs]));
          const planned: Planned[] = [];
          for (const flag of flags) {
            if (heldFlags.has(flag.id) || this.isPending(appId, flag, nowMs)) continue;
            const flagCounts = counts.get(flag.id);
            const decision = decide(flag, flagCounts, nowMs, this.options);
            if (decision) planned.push({ flag, decision, counts: flagCounts, fromMs: fromOf.get(flag.id) });
          }
          if (planned.length > 0) plans.set(appId, planned);
        }),
      );
      // Nothing needed signals (every watched circuit open, say): Redis must still answer, or
      // those circuits are held too.
      if (judged === 0 && this.redis !== undefined) await this.redis.ping();
      this.redisResolved();
    } catch (err) {
      // No decision on missing data: every circuit stays as it is until Redis answers again.
      held = true;
      plans.clear();
      this.redisProblem(errorMessage(err));
    }

    let transitions = 0;
    for (const [appId, planned] of plans) {
      if (this.stopped) break;
      transitions +=
        this.options.mode === 'tower'
          ? await this.sendToTower(appId, planned, nowMs)
          : await this.enqueueWrite(() => this.publishCircuit(appId, planned));
    }
    const report: PollReport = {
      atMs: nowMs,
      durationMs: performance.now() - started,
      apps: apps.length,
      flags: flagCount,
      judged,
      transitions,
      held,
      badKeys,
    };
    this.emit('poll', report);
    return report;
  }

  /** Writes go one at a time: the stream-wide guard would make our own writes conflict. */
  private enqueueWrite(write: () => Promise<number>): Promise<number> {
    const result = this.writes.then(write, write);
    this.writes = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async publishCircuit(appId: number, planned: readonly Planned[]): Promise<number> {
    const admin = this.admin;
    if (admin === undefined) return 0;
    const byId = new Map(planned.map((p) => [p.flag.id, p]));
    let applied: Array<{ flag: WireFlag; decision: Decision; at: number }> = [];
    const edit: RulesetEdit = (current, ctx) => {
      applied = [];
      if (current === undefined) return { flags: [], changed: false };
      const at = Date.parse(ctx.nowIso);
      const flags = current.map((fresh) => {
        const plan = byId.get(fresh.id);
        if (plan === undefined) return fresh;
        let decision: Decision | undefined = plan.decision;
        const freshView = this.skew.view(appId, fresh, at);
        if (!sameCircuitState(plan.flag, freshView)) {
          // Someone else changed this circuit since we looked: decide again on what is there now,
          // with our counts only if they still cover this flag's window.
          const sameWindow =
            plan.fromMs !== undefined && windowStartMs(freshView, at, this.options.windowMs) === plan.fromMs;
          decision = decide(freshView, sameWindow ? plan.counts : undefined, at, this.options);
          if (decision?.kind === 'open' && !sameWindow) decision = undefined;
        }
        if (decision === undefined) return fresh;
        applied.push({ flag: fresh, decision, at });
        return applyDecision(fresh, decision, ctx.nowIso);
      });
      return { flags, changed: applied.length > 0 };
    };
    const what = `circuit ${planned.map((p) => `${p.decision.kind} #${p.flag.id}`).join(', ')}`;
    try {
      const outcome = await admin.applyCircuitEdit(appId, edit, what);
      this.natsResolved('NATS writes succeed again');
      if (!outcome.published) return 0;
      const state = this.apps.get(appId);
      if (state !== undefined && outcome.sequence !== undefined && outcome.sequence > state.sequence) {
        state.flags = outcome.flags;
        state.sequence = outcome.sequence;
      }
      for (const { flag, decision, at } of applied) this.report(appId, flag, decision, at, outcome.sequence);
      return applied.length;
    } catch (err) {
      this.natsProblem(`app ${appId}: could not publish (${what}): ${errorMessage(err)}; retrying next poll`);
      return 0;
    }
  }

  private async sendToTower(appId: number, planned: readonly Planned[], nowMs: number): Promise<number> {
    const nc = this.nc;
    const admin = this.admin;
    if (nc === undefined || admin === undefined) return 0;
    let sent = 0;
    for (const { flag, decision } of planned) {
      const message = towerMessage(decision, flag);
      try {
        await this.ensureTowerSubject(message.subject);
        await nc.jetstream().publish(message.subject, new TextEncoder().encode(message.payload));
        this.natsResolved('NATS writes succeed again');
      } catch (err) {
        this.natsProblem(`app ${appId}: could not send ${message.subject} for flag #${flag.id}: ${errorMessage(err)}`);
        continue;
      }
      this.pending.set(pendingKey(appId, flag.id), { flag, untilMs: nowMs + this.options.towerAckTimeoutMs });
      this.report(appId, flag, decision, nowMs, undefined);
      sent += 1;
    }
    return sent;
  }

  /** As Tailslide's breaker does: the control subjects are added to the ruleset stream if missing. */
  private async ensureTowerSubject(subject: string): Promise<void> {
    if (this.towerSubjectsReady.has(subject)) return;
    const nc = this.nc;
    if (nc === undefined) return;
    const jsm = await nc.jetstreamManager();
    const stream = this.options.nats.stream;
    const info = await jsm.streams.info(stream);
    const subjects = info.config.subjects ?? [];
    if (!streamCovers(subjects, subject)) {
      await jsm.streams.update(stream, { subjects: [...subjects, subject] });
      this.logger.info(`CircuitBreaker: added subject ${subject} to stream "${stream}"`);
    }
    this.towerSubjectsReady.add(subject);
  }

  private isPending(appId: number, flag: WireFlag, nowMs: number): boolean {
    const key = pendingKey(appId, flag.id);
    const pending = this.pending.get(key);
    if (pending === undefined) return false;
    if (!sameCircuitState(pending.flag, flag)) {
      this.pending.delete(key);
      return false;
    }
    if (nowMs < pending.untilMs) return true;
    this.pending.delete(key);
    this.logger.warn(
      `CircuitBreaker: app ${appId}: Tower did not apply the change of flag #${flag.id} within ${this.options.towerAckTimeoutMs} ms; deciding again`,
    );
    return false;
  }

  private settlePending(appId: number, flags: readonly WireFlag[]): void {
    for (const flag of flags) {
      const key = pendingKey(appId, flag.id);
      const pending = this.pending.get(key);
      if (pending !== undefined && !sameCircuitState(pending.flag, flag)) this.pending.delete(key);
    }
  }

  private report(appId: number, flag: WireFlag, decision: Decision, atMs: number, sequence: number | undefined): void {
    const transition: CircuitTransition = {
      kind: decision.kind,
      mode: this.options.mode,
      appId,
      flagId: flag.id,
      title: flag.title,
      from: decision.from,
      to: decision.to,
      percentage: decision.percentage,
      isActive: decision.isActive,
      ...(decision.errorRate !== undefined
        ? { success: decision.success, failure: decision.failure, errorRate: decision.errorRate }
        : {}),
      at: new Date(atMs),
      ...(sequence !== undefined ? { sequence } : {}),
    };
    this.logger.info(`CircuitBreaker: ${describeTransition(transition)}`);
    this.emit('transition', transition);
  }

  /** Says each bad signal key of the app once (warn), and once more when it is fixed (info). */
  private badKeyLog(appId: number): BadKeyLog {
    return new BadKeyLog(
      (bad: BadKey) =>
        this.logger.warn(
          `CircuitBreaker: app ${appId}: signal key ${JSON.stringify(bad.key)}: ${bad.reason}; ${
            bad.flagId === undefined
              ? 'not counted'
              : `holding flag #${bad.flagId} as it is (its circuit unchanged) until the key is fixed; the other flags are judged as usual`
          }`,
        ),
      (key, flagId, stillHeld) =>
        this.logger.info(
          `CircuitBreaker: app ${appId}: signal key ${JSON.stringify(key)} is no longer bad${
            flagId === undefined
              ? ''
              : stillHeld
                ? `; flag #${flagId} still has another`
                : `; judging flag #${flagId} again`
          }`,
        ),
    );
  }

  private redisProblem(message: string): void {
    if (this.redisTrouble !== undefined) return;
    this.redisTrouble = message;
    this.logger.warn(
      `CircuitBreaker: cannot read signals (${message}); holding every circuit as it is until Redis answers`,
    );
  }

  private redisResolved(): void {
    if (this.redisTrouble === undefined) return;
    this.redisTrouble = undefined;
    this.logger.info('CircuitBreaker: Redis answers again; deciding on signals again');
  }

  private natsProblem(message: string): void {
    if (this.natsTrouble === message) return;
    this.natsTrouble = message;
    this.logger.warn(`CircuitBreaker: ${message}`);
  }

  private natsResolved(message: string): void {
    if (this.natsTrouble === undefined) return;
    this.natsTrouble = undefined;
    this.logger.info(`CircuitBreaker: ${message}`);
  }
}

/** `app 1 flag #3 "checkout-v2": close → open (error rate 62.5 % of 40 requests)`. */
export function describeTransition(t: CircuitTransition): string {
  const what =
    t.kind === 'open'
      ? `tripped: switched off (error rate ${round1(t.errorRate ?? 0)} % of ${(t.success ?? 0) + (t.failure ?? 0)} requests)`
      : t.kind === 'recovery_start'
        ? `recovery started at ${t.percentage} %`
        : t.kind === 'recovery_update'
          ? `recovery at ${t.percentage} %`
          : 'closed: recovered (100 %)';
  return `app ${t.appId} flag #${t.flagId} ${JSON.stringify(t.title)}: ${t.from} → ${t.to}, ${what}${t.mode === 'tower' ? ` (sent ${TOWER_SUBJECTS[t.kind]} to Tower)` : ''}`;
}

/** Resolves true once the client is ready, false after `timeoutMs`. */

function pendingKey(appId: number, flagId: number): string {
  return `${appId}:${flagId}`;
}

function emptyReport(atMs: number): PollReport {
  return { atMs, durationMs: 0, apps: 0, flags: 0, judged: 0, transitions: 0, held: false, badKeys: 0 };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
