import { TypedEmitter } from './emitter';
import { InvalidOptionError, TailslideError, describeValue, toError } from './errors';
import type { CompiledFlag } from './evaluation/evaluator';
import { FlagStore } from './flag-store';
import type { Logger } from './logger';
import { resolveOptions, type FlagManagerOptions, type ResolvedOptions } from './options';
import { parseRuleset, parseRulesetPayload } from './ruleset/parse';
import type { Flag, Ruleset } from './ruleset/types';
import { createSignalSink } from './signals';
import type { SignalSink, SignalStats } from './signals/types';
import { JetStreamSource } from './sources/jetstream';
import { OfflineSource } from './sources/offline';
import type { FlagSource, MessageMeta, SourceSink } from './sources/types';
import { Toggler, type EvaluationDetail, type TogglerHost } from './toggler';
import { within } from './util/timeout';

/** Payload of the `update` event. */
export interface UpdateEvent {
  /** Titles of the flags added, removed or changed by this ruleset. */
  readonly changed: readonly string[];
  /** Number of flags in the new ruleset. */
  readonly flagCount: number;
  /** Stream sequence of the message (a counter offline). */
  readonly sequence: number;
  /** Subject it came on (`apps.1.update.manual`, `apps.1.update.circuit`, `test-data`). */
  readonly subject: string;
}

/** Events of a FlagManager and their payloads. */
export interface FlagManagerEvents {
  /** The first ruleset is in: evaluations are real from now on. */
  ready: [];
  /** A new ruleset replaced the previous one (only after `ready`). */
  update: [UpdateEvent];
  /** Something went wrong and was survived: a bad message (the last good ruleset stays), a lost connection… */
  error: [TailslideError];
  /** The NATS connection is lost; flags are served from the last ruleset while it retries. */
  stale: [{ readonly reason: string }];
  /** The NATS connection is back after `stale`; the newest ruleset is re-read. */
  reconnected: [];
  /** Something retrying cannot fix (authorization refused): the manager stopped trying. */
  failed: [TailslideError];
}

/** Where a manager is in its life. */
export type ManagerState = 'idle' | 'initializing' | 'ready' | 'stale' | 'failed' | 'closed';

type InitOutcome =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly error: TailslideError }
  | { readonly kind: 'closed' };

/**
 * Serves the flags of one app: keeps the newest ruleset from JetStream (or a bootstrap, offline),
 * hands out Togglers that evaluate locally, and sends their success/failure signals to Redis.
 *
 * The constructor only validates options; `initialize()` starts the work.
 */
export class FlagManager extends TypedEmitter<FlagManagerEvents> {
  private readonly options: ResolvedOptions;
  private readonly store = new FlagStore();
  private readonly signals: SignalSink;
  private readonly host: TogglerHost;
  private source: FlagSource | undefined;
  private userContext: string;
  private currentState: ManagerState = 'idle';
  private lastSequence: number | undefined;
  private connectionLost = false;
  private waitReason: string | undefined;
  private readonly reportedWaits = new Set<string>();
  private readonly warnedUnknown = new Set<string>();
  private initPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private settleInit: ((outcome: InitOutcome) => void) | undefined;
  private readonly initOutcome: Promise<InitOutcome>;

  constructor(options: FlagManagerOptions) {
    const resolved = resolveOptions(options);
    super(resolved.logger);
    this.options = resolved;
    this.userContext = resolved.userContext;
    this.initOutcome = new Promise<InitOutcome>((resolve) => {
      this.settleInit = resolve;
    });
    const signalOptions = resolved.offline ? { ...resolved.signals, backend: 'off' as const } : resolved.signals;
    this.signals = createSignalSink(signalOptions, resolved.logger);
    this.host = this.createHost();
  }

  /** The app this manager serves. */
  get appId(): number {
    return this.options.appId;
  }

  /** True once the first ruleset is in. */
  get initialized(): boolean {
    return this.store.hasRuleset && this.currentState !== 'initializing' && this.currentState !== 'idle';
  }

  get state(): ManagerState {
    return this.currentState;
  }

  /** What the manager is waiting for while not ready (stream missing, no ruleset yet, …), if anything. */
  get waitingFor(): string | undefined {
    return this.waitReason;
  }

  /** The logger the manager writes to (yours, or the default), for code that wraps the manager. */
  get logger(): Logger {
    return this.options.logger;
  }

  /**
   * Connects, loads the app's newest ruleset and keeps watching. Resolves when the first ruleset
   * is in or when `initTimeoutMs` passes (then `initialized` is false, flags evaluate to false
   * with reason NOT_READY, and the manager keeps trying in the background). Rejects only for what
   * retrying cannot fix: refused credentials, an unreadable or invalid bootstrap. Idempotent.
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

  /** Sets the default user context of evaluations that pass none. */
  setUserContext(userContext: string): void {
    if (typeof userContext !== 'string') throw new InvalidOptionError('userContext', userContext, 'a string');
    this.userContext = userContext;
  }

  getUserContext(): string {
    return this.userContext;
  }

  /** Evaluates one flag (same as `newToggler({ flagName }).evaluate(userContext)`). */
  evaluate(flagName: string, userContext?: string): EvaluationDetail {
    return new Toggler(this.host, String(flagName)).evaluate(userContext);
  }

  /** Every flag's result for one user context, keyed by flag title. */
  evaluateAll(userContext?: string): Record<string, EvaluationDetail> {
    const results: Record<string, EvaluationDetail> = {};
    for (const flag of this.store.all()) results[flag.title] = this.evaluate(flag.title, userContext);
    return results;
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
   * For tests. Throws InvalidRulesetError (naming flag and field) if the ruleset is invalid.
   */
  setRuleset(ruleset: readonly unknown[]): void {
    if (!(this.source instanceof OfflineSource)) {
      throw new InvalidOptionError(
        'offline',
        this.options.offline,
        'true (setRuleset works on an initialized offline manager)',
      );
    }
    const result = parseRuleset(ruleset, 'setRuleset', { appId: this.options.appId });
    if (!result.ok) throw result.error;
    this.source.push(ruleset);
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
    for (const warning of this.options.warnings) logger.warn(warning);
    this.currentState = 'initializing';
    this.source = this.createSource();
    await this.signals.start();
    await this.source.start(this.createSink());
    const outcome = await withTimeout(this.initOutcome, initTimeoutMs);
    if (outcome === undefined) {
      logger.warn(
        `not ready after ${initTimeoutMs} ms (initTimeoutMs): ${this.waitReason ?? 'no ruleset received yet'}. ` +
          'Flags evaluate to false (reason NOT_READY) until the first ruleset arrives; still trying.',
      );
      return;
    }
    if (outcome.kind === 'failed') throw outcome.error;
  }

  private createSource(): FlagSource {
    const { offline, bootstrap, nats, appId, logger } = this.options;
    if (offline || nats === undefined) return new OfflineSource(bootstrap ?? [], appId);
    return new JetStreamSource({ nats, appId, logger });
  }

  private async close(): Promise<void> {
    const wasState = this.currentState;
    this.currentState = 'closed';
    this.settleInit?.({ kind: 'closed' });
    const results = await Promise.allSettled([this.source?.close(), this.signals.close()]);
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
      ruleset: guard((payload: unknown, meta: MessageMeta) => this.onRuleset(payload, meta)),
      resetSequence: guard(() => {
        this.lastSequence = undefined;
      }),
      connection: guard((state: 'connected' | 'stale', detail?: { reason?: string; error?: unknown }) =>
        this.onConnection(
          state,
          detail?.reason ?? (detail?.error === undefined ? undefined : toError(detail.error).message),
        ),
      ),
      waiting: guard((reason: string) => this.onWaiting(reason)),
      error: guard((error: TailslideError) => this.report(error)),
      fatal: guard((error: TailslideError) => this.onFatal(error)),
    };
  }

  private onRuleset(payload: unknown, meta: MessageMeta): void {
    const { logger, appId } = this.options;
    if (this.lastSequence !== undefined && meta.sequence <= this.lastSequence) {
      logger.debug(`ignoring ${meta.subject} sequence ${meta.sequence}: already at ${this.lastSequence}`);
      this.markReadyIfDrained(meta);
      return;
    }
    this.lastSequence = meta.sequence;
    const result = parseRulesetPayload(payload, `${meta.subject} (sequence ${meta.sequence})`, { appId });
    if (!result.ok) {
      this.report(result.error);
      this.markReadyIfDrained(meta);
      return;
    }
    const wasReady = this.initialized;
    const changed = this.store.replace(result.flags);
    logger.debug(
      `ruleset from ${meta.subject} (sequence ${meta.sequence}): ${result.flags.length} flags, ${changed.length} changed`,
    );
    if (wasReady && changed.length > 0) {
      this.emit('update', { changed, flagCount: result.flags.length, sequence: meta.sequence, subject: meta.subject });
    }
    this.markReadyIfDrained(meta);
  }

  private markReadyIfDrained(meta: MessageMeta): void {
    if (this.currentState !== 'initializing' || !this.store.hasRuleset || (meta.pending ?? 0) > 0) return;
    this.currentState = this.connectionLost ? 'stale' : 'ready';
    this.waitReason = undefined;
    this.options.logger.info(`ready: ${this.store.all().length} flags of app ${this.options.appId}`);
    this.settleInit?.({ kind: 'ready' });
    this.emit('ready');
  }

  private onConnection(state: 'connected' | 'stale', reason: string | undefined): void {
    if (state === 'stale') {
      if (this.connectionLost) return;
      this.connectionLost = true;
      if (this.currentState === 'ready') this.currentState = 'stale';
      const why = reason ?? 'connection to NATS lost';
      this.options.logger.warn(`${why}; serving the last ruleset while reconnecting`);
      this.emit('stale', { reason: why });
      return;
    }
    if (!this.connectionLost) return;
    this.connectionLost = false;
    if (this.currentState === 'stale') this.currentState = 'ready';
    this.options.logger.info('reconnected to NATS');
    this.emit('reconnected');
  }

  private onWaiting(reason: string): void {
    this.waitReason = reason;
    if (this.reportedWaits.has(reason)) return;
    this.reportedWaits.add(reason);
    this.options.logger.warn(`waiting: ${reason}`);
  }

  private onFatal(error: TailslideError): void {
    if (this.currentState === 'failed') return;
    this.currentState = 'failed';
    this.options.logger.error(error.message);
    this.settleInit?.({ kind: 'failed', error });
    this.emit('failed', error);
  }

  /** Logs a survived problem and emits `error` (an `error` event with no listener is harmless here). */
  private report(error: TailslideError): void {
    this.options.logger.warn(error.message);
    this.emit('error', error);
  }

  private createHost(): TogglerHost {
    const store = this.store;
    const options = this.options;
    return {
      appId: options.appId,
      hashing: options.hashing,
      signals: this.signals,
      lookup: (flagName: string): CompiledFlag | undefined => store.get(flagName),
      isReady: () => store.hasRuleset,
      defaultUserContext: () => this.userContext,
      flagNotFound: (flagName: string) => {
        if (!store.hasRuleset || this.warnedUnknown.has(flagName)) return;
        this.warnedUnknown.add(flagName);
        options.logger.warn(
          `unknown flag ${describeValue(flagName)} in app ${options.appId}: it is not in the ruleset (FLAG_NOT_FOUND); ` +
            'togglers treat it as off, OpenFeature clients get their own default value',
        );
      },
    };
  }
}

/**
 * Resolves with the promise's value, or undefined when `timeoutMs` passes first. The timer keeps
 * the process alive while someone awaits it (as every awaited timeout should) and is always cleared.
 */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T | undefined> {
  return within(promise, timeoutMs, 'holds-process');
}
