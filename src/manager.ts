import { TypedEmitter } from './emitter';
import { InvalidOptionError, TailslideError, toError } from './errors';
import type { EvaluationContext } from './evaluation/context';
import { convertToText } from './evaluation/user-context';
import { FlagStore } from './flag-store';
import { HealthTracker, type ManagerHealth } from './health';
import type { Logger } from './logger';
import { resolveOptions, type FlagManagerOptions, type ResolvedOptions } from './options';
import { RulesetIntake } from './ruleset/intake';
import { parseRuleset } from './ruleset/parse';
import type { JsonValue } from './ruleset/targeting';
import type { Flag, Ruleset } from './ruleset/types';
import { createSignalSink } from './signals';
import type { SignalSink, SignalStats } from './signals/types';
import { loadBootstrap } from './sources/bootstrap';
import { CacheFileWriter, readCacheFile } from './sources/cache-file';
import { createSource, deliveryKind } from './sources/create';
import type { OfflineSource } from './sources/offline';
import type { DeliveryKind, FlagSource, MessageMeta, RulesetOrigin, RulesetPayload, SourceSink } from './sources/types';
import { Toggler, type EvaluationDetail, type TogglerHost, type VariationDetail } from './toggler';
import { createTogglerHost } from './toggler-host';
import { within } from './util/timeout';

import type { FlagManagerEvents, ManagerState } from './manager-events';

export type { FlagManagerEvents, ManagerState, UpdateEvent } from './manager-events';

type InitOutcome =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly error: TailslideError }
  | { readonly kind: 'closed' };

/**
 * Serves the flags of one app: keeps the newest ruleset from JetStream (or a bootstrap, offline),
 * hands out Togglers that evaluate locally, and sends their success/failure signals to Redis.
 *
 * The constructor only validates options; `initialize()` starts the work.
 *
 * Past 450 lines on purpose: this is the public facade, two dozen methods whose doc comments are
 * the API reference. The work lives below it: health.ts, ruleset/intake.ts, toggler-host.ts,
 * sources/ and signals/.
 */
export class FlagManager extends TypedEmitter<FlagManagerEvents> {
  private readonly options: ResolvedOptions;
  private readonly store = new FlagStore();
  private readonly signals: SignalSink;
  private readonly host: TogglerHost;
  private source: FlagSource | undefined;
  /** What the source's messages are when they do not say (`stream` for JetStream). */
  private sourceOrigin: RulesetOrigin = 'custom';
  /** The source `setRuleset` pushes to: the offline one this manager made. */
  private offlineSource: OfflineSource | undefined;
  /** Where the ruleset in the store came from. */
  private origin: RulesetOrigin | undefined;
  /** A valid ruleset from the source has been applied (the bootstrap and cache file do not count). */
  private sourceLoaded = false;
  private cacheWriter: CacheFileWriter | undefined;
  private userContext: EvaluationContext;
  private currentState: ManagerState = 'idle';
  private connectionLost = false;
  private waitReason: string | undefined;
  /** Why the connection is lost, while it is. */
  private staleReason: string | undefined;
  private readonly reportedWaits = new Set<string>();
  private readonly intake: RulesetIntake;
  private initPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private settleInit: ((outcome: InitOutcome) => void) | undefined;
  private readonly initOutcome: Promise<InitOutcome>;
  private readonly healthTracker: HealthTracker;
  private wasHealthy = false;

  constructor(options: FlagManagerOptions) {
    const resolved = resolveOptions(options);
    super(resolved.logger);
    this.options = resolved;
    this.intake = new RulesetIntake(resolved.appId);
    this.userContext = resolved.userContext;
    this.initOutcome = new Promise<InitOutcome>((resolve) => {
      this.settleInit = resolve;
    });
    const signalOptions = resolved.offline ? { ...resolved.signals, backend: 'off' as const } : resolved.signals;
    this.signals = createSignalSink(signalOptions, resolved.logger);
    this.host = createTogglerHost({
      store: this.store,
      signals: this.signals,
      options: resolved,
      rulesetOrigin: () => this.origin,
      defaultUserContext: () => this.userContext,
    });
    this.healthTracker = new HealthTracker(deliveryKind(resolved), (health) => this.onHealth(health));
  }

  /** The app this manager serves. */
  get appId(): number {
    return this.options.appId;
  }

  /** True once initialization is over with a ruleset to serve (see the `ready` event). */
  get initialized(): boolean {
    return this.store.hasRuleset && this.currentState !== 'initializing' && this.currentState !== 'idle';
  }

  get state(): ManagerState {
    return this.currentState;
  }

  /**
   * Whether this instance follows its app live, for readiness probes and alerts: synchronous and
   * cheap (no I/O). Unhealthy until ready, while NATS is lost, and while delivery of updates has
   * been interrupted for half a second or more (a consumer that ended or stalled, a stream that went);
   * `reason` says which. The `health` event fires when the verdict changes. docs/operations.md.
   */
  health(): ManagerHealth {
    return this.healthTracker.health();
  }

  private get closed(): boolean {
    return this.currentState === 'closed';
  }

  /** What the manager is waiting for while not ready (stream missing, no ruleset yet, …), if anything. */
  get waitingFor(): string | undefined {
    return this.waitReason;
  }

  /**
   * Where the ruleset served now came from: `stream`, `bootstrap`, `cache`, `test`, `custom`;
   * undefined before the first. Also in every evaluation's `source`.
   */
  get rulesetSource(): RulesetOrigin | undefined {
    return this.origin;
  }

  /** The logger the manager writes to (yours, or the default), for code that wraps the manager. */
  get logger(): Logger {
    return this.options.logger;
  }

  /**
   * Connects, loads the app's newest ruleset and keeps watching. A `bootstrap` is served from the
   * start until the stream's first ruleset replaces it. Resolves when the source's first ruleset
   * is in or when `initTimeoutMs` passes; then the `cacheFile` is read, and the manager serves it
   * (or the bootstrap) and is initialized, or, with neither, is not (flags evaluate to false with
   * reason NOT_READY). Either way it keeps trying in the background. Rejects only for what
   * retrying cannot fix: refused credentials, an offline bootstrap that is unreadable or invalid,
   * a `source` factory that throws. Idempotent.
   */
  initialize(): Promise<void> {
    this.initPromise ??= this.start();
    return this.initPromise;
  }

  /**
   * Resolves true as soon as the manager is ready, false if `timeoutMs` passes first or the manager
   * fails or is disconnected. Without a timeout it waits as long as it takes.
   */
  async waitForInitialization(timeoutMs?: number): Promise<boolean> {
    if (this.initialized) return true;
    if (this.currentState === 'failed' || this.currentState === 'closed') return false;
    const outcome = await withTimeout(this.initOutcome, timeoutMs);
    return outcome?.kind === 'ready';
  }

  /** A handle on one flag. Never throws for an unknown flag: it evaluates to false (FLAG_NOT_FOUND). */
  newToggler({ flagName }: { flagName: string }): Toggler {
    if (typeof flagName !== 'string' || flagName === '') {
      throw new InvalidOptionError('flagName', flagName, 'a non-empty flag title');
    }
    return new Toggler(this.host, flagName);
  }

  /**
   * Sets the default context of evaluations that pass none: a key, or an object with a `key` and
   * attributes for targeting rules (docs/targeting.md).
   */
  setUserContext(userContext: EvaluationContext): void {
    const valid =
      typeof userContext === 'string' ||
      (typeof userContext === 'object' && userContext !== null && !Array.isArray(userContext));
    if (!valid) throw new InvalidOptionError('userContext', userContext, 'a string, or an object with a key');
    this.userContext = userContext;
  }

  getUserContext(): EvaluationContext {
    return this.userContext;
  }

  /** Evaluates one flag (same as `newToggler({ flagName }).evaluate(userContext)`). Never throws. */
  evaluate(flagName: string, userContext?: EvaluationContext): EvaluationDetail {
    // A name that is no string or number (from JavaScript) names no flag: FLAG_NOT_FOUND.
    const name = typeof flagName === 'string' ? flagName : convertToText(flagName).text;
    return new Toggler(this.host, name).evaluate(userContext);
  }

  /**
   * Every flag's result for one user context, keyed by flag title. The object has no prototype,
   * so that a flag titled `__proto__` (or `constructor`) is a key like any other.
   */
  evaluateAll(userContext?: EvaluationContext): Record<string, EvaluationDetail> {
    const results = Object.create(null) as Record<string, EvaluationDetail>;
    for (const flag of this.store.all()) results[flag.title] = this.evaluate(flag.title, userContext);
    return results;
  }

  /**
   * The value a flag serves a context (docs/targeting.md), or `defaultValue` when the flag is unknown
   * or no ruleset has arrived. Same as `newToggler({ flagName }).variation(context, defaultValue)`.
   */
  variation(flagName: string, context: EvaluationContext | undefined, defaultValue: JsonValue): JsonValue {
    return this.variationDetail(flagName, context, defaultValue).value;
  }

  /** `variation` with the variation index, the reason, and the rule and split bucket that chose it. Never throws. */
  variationDetail(
    flagName: string,
    context: EvaluationContext | undefined,
    defaultValue: JsonValue,
  ): VariationDetail<JsonValue> {
    const name = typeof flagName === 'string' ? flagName : convertToText(flagName).text;
    return new Toggler(this.host, name).variationDetail(context, defaultValue);
  }

  /** The current ruleset: frozen camelCase flags in the order they arrived. */
  getFlags(): Ruleset {
    return this.store.all();
  }

  /** One flag of the current ruleset, or undefined. */
  getFlag(flagName: string): Flag | undefined {
    return this.store.get(flagName)?.flag;
  }

  /** Counters of the signal pipeline: backend, written, pending, dropped, unknown (docs/signals.md). */
  signalStats(): SignalStats {
    return this.signals.stats();
  }

  /** Writes pending signals now; resolves when written or after `timeoutMs`. Never rejects. */
  flushSignals(timeoutMs?: number): Promise<void> {
    return this.signals.flush(timeoutMs);
  }

  /**
   * Offline mode only: replaces the ruleset as a JetStream update would (same `update` event).
   * For tests (a `TestData` source does the same for any manager). Throws InvalidRulesetError
   * (naming flag and field) if the ruleset is invalid.
   */
  setRuleset(ruleset: readonly unknown[]): void {
    if (this.offlineSource === undefined) {
      throw new InvalidOptionError(
        'offline',
        this.options.offline,
        'true (setRuleset works on an initialized offline manager; with other sources, use TestData)',
      );
    }
    const result = parseRuleset(ruleset, 'setRuleset', { appId: this.options.appId });
    if (!result.ok) throw result.error;
    this.offlineSource.push(ruleset);
  }

  /**
   * Stops watching, flushes pending signals (bounded by `signalFlushTimeoutMs`) and closes the
   * connections the SDK opened. Idempotent. Flags keep evaluating from the last ruleset.
   */
  disconnect(): Promise<void> {
    this.closePromise ??= this.close();
    return this.closePromise;
  }

  private async start(): Promise<void> {
    if (this.currentState === 'closed')
      throw new TailslideError('CLOSED', 'initialize() was called after disconnect()');
    const { logger, initTimeoutMs } = this.options;
    // initTimeoutMs bounds initialize() as a whole: reading a bootstrap file counts against it.
    const deadline = Date.now() + initTimeoutMs;
    for (const warning of this.options.warnings) logger.warn(warning);
    this.setState('initializing');
    const created = createSource(this.options);
    if (!created.ok) {
      this.onFatal(created.error);
      throw created.error;
    }
    const { source } = created;
    this.source = source;
    this.sourceOrigin = created.origin;
    this.offlineSource = created.offline;
    await this.serveBootstrap();
    if (this.options.cacheFile !== undefined) {
      this.cacheWriter = new CacheFileWriter(this.options.cacheFile, logger, (error) => this.report(error));
    }
    await this.signals.start();
    if (this.closed) throw new TailslideError('CLOSED', 'disconnected while initializing');
    await this.startSource(source);
    const outcome = await withTimeout(this.initOutcome, Math.max(0, deadline - Date.now()));
    if (outcome === undefined) {
      await this.fallBack();
      return;
    }
    if (outcome.kind === 'failed') throw outcome.error;
  }

  /** Starts the source; a rejection (which the contract forbids) is a fatal error. */
  private async startSource(source: FlagSource): Promise<void> {
    try {
      await source.start(this.createSink());
    } catch (err) {
      this.onFatal(
        new TailslideError('CONNECTION', `the flag source failed to start: ${toError(err).message}`, { cause: err }),
      );
    }
  }

  /** Online `bootstrap`: served until the source's first ruleset. A bad one is reported, not fatal. */
  private async serveBootstrap(): Promise<void> {
    const { bootstrap, appId, logger, cacheFileMaxBytes } = this.options;
    if (bootstrap === undefined || this.offlineSource !== undefined) return;
    const loaded = await loadBootstrap(bootstrap, appId, cacheFileMaxBytes);
    if (!loaded.ok) {
      this.report(loaded.error);
      return;
    }
    if (this.sourceLoaded || this.currentState !== 'initializing') return;
    this.apply(loaded.flags, 'bootstrap');
    logger.info(`serving the bootstrap ruleset (${loaded.flags.length} flags) until the stream's first ruleset`);
  }

  /**
   * `initTimeoutMs` passed without a ruleset from the source: serve the cache file if it holds
   * one, else the bootstrap if there is one, and call initialization done; else not ready.
   */
  private async fallBack(): Promise<void> {
    const { logger, initTimeoutMs, cacheFile, cacheFileMaxBytes, appId } = this.options;
    const why = this.waitReason ?? this.staleReason ?? 'no ruleset received yet';
    let served: string | undefined;
    if (cacheFile !== undefined) {
      const cached = await readCacheFile(cacheFile, appId, cacheFileMaxBytes);
      if (this.sourceLoaded || this.currentState !== 'initializing') return;
      if (cached.kind === 'loaded') {
        this.apply(cached.flags, 'cache');
        served = `the cache file ${cacheFile} (${cached.flags.length} flags, written ${cached.writtenAt.toISOString()})`;
      } else if (cached.kind === 'invalid') {
        this.report(cached.error);
      } else {
        logger.info(`no cache file ${cacheFile} yet: nothing cached to serve`);
      }
    }
    if (this.currentState !== 'initializing') return;
    if (served === undefined && this.origin === 'bootstrap')
      served = `the bootstrap (${this.store.all().length} flags)`;
    if (served === undefined) {
      logger.warn(
        `not ready after ${initTimeoutMs} ms (initTimeoutMs): ${why}. ` +
          'Flags evaluate to false (reason NOT_READY) until the first ruleset arrives; still trying.',
      );
      return;
    }
    logger.warn(
      `no ruleset after ${initTimeoutMs} ms (initTimeoutMs): ${why}. ` +
        `Serving ${served} until the source's first ruleset arrives; still trying.`,
    );
    this.becomeReady();
  }

  private async close(): Promise<void> {
    const wasState = this.currentState;
    this.setState('closed');
    this.healthTracker.dispose();
    this.settleInit?.({ kind: 'closed' });
    const results = await Promise.allSettled([this.source?.close(), this.signals.close(), this.cacheWriter?.close()]);
    for (const result of results) {
      if (result.status === 'rejected')
        this.options.logger.warn(`while disconnecting: ${toError(result.reason).message}`);
    }
    this.options.logger.debug(`disconnected (was ${wasState})`);
  }

  /** The sink the source reports to. Nothing in it throws back into the source. */
  private createSink(): SourceSink {
    const guard =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          if (this.currentState !== 'closed') fn(...args);
        } catch (err) {
          this.options.logger.error(`internal error handling a source event: ${toError(err).message}`);
        }
      };
    return {
      ruleset: guard((payload: RulesetPayload, meta: MessageMeta) => this.onRuleset(payload, meta)),
      resetSequence: guard(() => this.intake.reset()),
      connection: guard((state: 'connected' | 'stale', detail?: { reason?: string; error?: unknown }) =>
        this.onConnection(
          state,
          detail?.reason ?? (detail?.error === undefined ? undefined : toError(detail.error).message),
        ),
      ),
      waiting: guard((reason: string) => this.onWaiting(reason)),
      delivery: guard((state: 'live' | 'interrupted', detail?: { reason?: string; via?: DeliveryKind }) => {
        if (detail?.via !== undefined) this.healthTracker.set({ delivery: detail.via });
        if (state === 'live') this.healthTracker.resumed();
        else this.healthTracker.interrupted(detail?.reason ?? 'the source stopped delivering updates');
      }),
      error: guard((error: TailslideError) => this.report(error)),
      fatal: guard((error: TailslideError) => this.onFatal(error)),
    };
  }

  private onRuleset(payload: RulesetPayload, meta: MessageMeta): void {
    const { logger } = this.options;
    const origin = `${meta.subject} (sequence ${meta.sequence})`;
    const intake = this.intake.take(payload, meta.sequence, origin);
    if (intake.kind === 'old') logger.debug(`ignoring ${origin}: already at ${intake.last}`);
    if (intake.kind === 'invalid') this.report(intake.error);
    if (intake.kind !== 'ruleset') return this.markReadyIfDrained(meta);
    for (const error of intake.reports) this.report(error);
    if (intake.unlisted > 0)
      logger.warn(`${intake.unlisted} more problems with flags left out of the ruleset from ${origin} (not listed)`);
    const wasReady = this.initialized;
    const before = this.origin;
    const source = meta.origin ?? this.sourceOrigin;
    const { flags } = intake;
    const changed = this.apply(flags, source);
    const firstFromSource = !this.sourceLoaded;
    this.sourceLoaded = true;
    logger.debug(`ruleset from ${origin}: ${flags.length} flags, ${changed.length} changed`);
    if (before !== undefined && before !== source && (before === 'bootstrap' || before === 'cache')) {
      logger.info(
        `the ${source} ruleset replaces the ${before === 'cache' ? 'cache file' : 'bootstrap'} (${changed.length} flags changed)`,
      );
    }
    if (firstFromSource || changed.length > 0) this.cacheWriter?.write(flags);
    if (wasReady && changed.length > 0) {
      const { sequence, subject } = meta;
      this.emit('update', { changed, flagCount: flags.length, sequence, subject, source });
    }
    this.markReadyIfDrained(meta);
  }

  /** Puts a validated ruleset in place; returns the titles of the flags it changed. */
  private apply(flags: readonly Flag[], origin: RulesetOrigin): string[] {
    const changed = this.store.replace(flags);
    this.origin = origin;
    this.healthTracker.set({ lastUpdateAt: Date.now() });
    return changed;
  }

  private markReadyIfDrained(meta: MessageMeta): void {
    if (this.currentState !== 'initializing' || !this.sourceLoaded || (meta.pending ?? 0) > 0) return;
    this.becomeReady();
  }

  private becomeReady(): void {
    this.setState(this.connectionLost ? 'stale' : 'ready');
    this.waitReason = undefined;
    const origin =
      this.origin === 'stream' || this.origin === undefined
        ? ''
        : ` (from the ${this.origin === 'cache' ? 'cache file' : this.origin})`;
    this.options.logger.info(`ready: ${this.store.all().length} flags of app ${this.options.appId}${origin}`);
    this.settleInit?.({ kind: 'ready' });
    this.emit('ready');
  }

  private onConnection(state: 'connected' | 'stale', reason: string | undefined): void {
    if (state === 'stale') {
      if (this.connectionLost) return;
      this.connectionLost = true;
      if (this.currentState === 'ready') this.setState('stale');
      const why = reason ?? 'connection to NATS lost';
      this.staleReason = why;
      this.healthTracker.set({ connectionLost: why });
      this.options.logger.warn(`${why}; ${this.servingNow()} while reconnecting`);
      this.emit('stale', { reason: why });
      return;
    }
    if (!this.connectionLost) return;
    this.connectionLost = false;
    this.staleReason = undefined;
    if (this.currentState === 'stale') this.setState('ready');
    this.healthTracker.reconnected();
    this.options.logger.info('reconnected to NATS');
    this.emit('reconnected');
  }

  private setState(state: ManagerState): void {
    this.currentState = state;
    this.healthTracker.set({ state });
  }

  /** A new health verdict: logged (a delivery interruption is said nowhere else) and emitted. */
  private onHealth(health: ManagerHealth): void {
    const { logger } = this.options;
    if (health.healthy) {
      if (this.wasHealthy) logger.info('healthy again: following app updates');
      this.wasHealthy = true;
    } else if (health.reason?.startsWith('not following') === true) logger.warn(`unhealthy: ${health.reason}`);
    else logger.debug(`unhealthy: ${health.reason ?? ''}`);
    this.emit('health', health);
  }

  /** What evaluations get while the source is away, for the `stale` warning. */
  private servingNow(): string {
    const count = this.store.all().length;
    switch (this.origin) {
      case undefined:
        return this.options.cacheFile !== undefined && this.currentState === 'initializing'
          ? 'no ruleset loaded yet (flags evaluate to false, NOT_READY; the cache file is read if none arrives within initTimeoutMs)'
          : 'no ruleset loaded yet: flags evaluate to false (NOT_READY)';
      case 'bootstrap':
        return `serving the bootstrap ruleset (${count} flags)`;
      case 'cache':
        return `serving the cache file's ruleset (${count} flags)`;
      default:
        return 'serving the last ruleset';
    }
  }

  private onWaiting(reason: string): void {
    this.waitReason = reason;
    this.healthTracker.set({ waiting: reason });
    if (this.reportedWaits.has(reason)) return;
    this.reportedWaits.add(reason);
    this.options.logger.warn(`waiting: ${reason}`);
  }

  private onFatal(error: TailslideError): void {
    if (this.currentState === 'failed') return;
    this.healthTracker.set({ failure: error.message });
    this.setState('failed');
    this.options.logger.error(error.message);
    this.settleInit?.({ kind: 'failed', error });
    this.emit('failed', error);
  }

  /** Logs a survived problem and emits `error` (an `error` event with no listener is harmless here). */
  private report(error: TailslideError): void {
    this.options.logger.warn(error.message);
    this.emit('error', error);
  }
}

/**
 * Resolves with the promise's value, or undefined when `timeoutMs` passes first. The timer keeps
 * the process alive while someone awaits it (as every awaited timeout should) and is always cleared.
 */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T | undefined> {
  return within(promise, timeoutMs, 'holds-process');
}
