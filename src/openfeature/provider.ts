/**
 * The OpenFeature server provider: OpenFeature's API (`getBooleanValue`, events, `track`) over a
 * FlagManager. This directory is the only place that loads `@openfeature/server-sdk`, an optional
 * peer dependency: the main entry of the package never imports it.
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderFatalError,
  ProviderNotReadyError,
  type EvaluationContext,
  type JsonValue,
  type Logger as OpenFeatureLogger,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { InvalidOptionError, describeValue, toError } from '../errors';
import { contextKey, type EvaluationContext as TailslideContext } from '../evaluation/context';
import type { Logger } from '../logger';
import { resolveLogger } from '../validate';
import { FlagManager, type ManagerState } from '../manager';
import type { FlagManagerOptions } from '../options';
import type { Toggler, VariationDetail } from '../toggler';
import { ManagerEventBridge } from './events';
import { tailslideContextOf, trackedFlagKeysOf, trackedValueOf } from './context';
import { errorResolution, resolutionOf } from './resolution';

/** `new TailslideProvider({ manager })`: wrap a FlagManager of yours. */
export interface TailslideProviderManagerOptions {
  /** The manager to serve flags from. The provider never disconnects it. */
  manager: FlagManager;
  /** Where the provider writes what it has to say (events, track problems). Default: warnings and errors to stderr. */
  logger?: Logger;
}

/**
 * Either the options of a FlagManager the provider creates, owns and disconnects on close, or
 * `{ manager }` to wrap one of yours.
 */
export type TailslideProviderOptions = FlagManagerOptions | TailslideProviderManagerOptions;

/** Warn-once memory stays bounded however many distinct names a host throws at it. */
const MAX_WARNED = 1_000;

export class TailslideProvider implements Provider {
  readonly metadata = { name: 'tailslide' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** The manager flags are served from (created by the provider, or the one passed in). */
  readonly manager: FlagManager;

  private readonly ownsManager: boolean;
  private readonly logger: Logger;
  private readonly bridge: ManagerEventBridge;
  private closePromise: Promise<void> | undefined;
  private readonly warned = new Set<string>();

  /** Validates the options; starts nothing (`initialize()`, called by OpenFeature, does). */
  constructor(options: TailslideProviderOptions) {
    if (isManagerOptions(options)) {
      for (const [key, value] of Object.entries(options)) {
        if (key !== 'manager' && key !== 'logger' && value !== undefined) {
          throw new InvalidOptionError(
            key,
            value,
            'no other option next to "manager" than "logger" (the manager has its own options)',
          );
        }
      }
      if (!(options.manager instanceof FlagManager)) {
        throw new InvalidOptionError('manager', options.manager, 'a FlagManager from "tailslide"');
      }
      this.manager = options.manager;
      this.ownsManager = false;
      this.logger = resolveLogger(options.logger, 'logger', this.manager.logger);
    } else {
      this.manager = new FlagManager(options);
      this.ownsManager = true;
      this.logger = this.manager.logger;
    }
    this.bridge = new ManagerEventBridge(this.manager, this.events, this.logger);
  }

  /**
   * Waits for the manager's first ruleset (bounded by its `initTimeoutMs`). Resolves at once for a
   * manager that is already initialized. Rejects with PROVIDER_FATAL when the manager failed (refused
   * credentials, invalid bootstrap) and with PROVIDER_NOT_READY when no ruleset arrived in time;
   * in the latter case the manager keeps trying and the provider emits PROVIDER_READY when one arrives.
   */
  async initialize(): Promise<void> {
    if (this.closePromise !== undefined) {
      throw new ProviderFatalError('tailslide: this provider was closed; create a new TailslideProvider');
    }
    const appId = this.manager.appId;
    if (this.manager.state === 'closed') {
      throw new ProviderFatalError(
        `tailslide: the FlagManager of app ${appId} was disconnected; it gets no more updates`,
      );
    }
    this.bridge.attach();
    try {
      if (!this.manager.initialized) await this.manager.initialize();
    } catch (err) {
      throw new ProviderFatalError(`tailslide: the FlagManager of app ${appId} cannot start: ${toError(err).message}`, {
        cause: err,
      });
    } finally {
      if (this.closePromise === undefined) this.bridge.initializeSettled();
    }
    if (!this.manager.initialized) throw this.notReadyError(this.manager.state);
  }

  /**
   * Removes the provider's listeners from the manager, and disconnects the manager if the provider
   * created it (a manager passed in is left running). Idempotent; never rejects.
   */
  onClose(): Promise<void> {
    this.closePromise ??= this.close();
    return this.closePromise;
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
    logger: OpenFeatureLogger,
  ): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(
      this.resolve(flagKey, defaultValue, context, logger, (t, ctx) => t.booleanVariationDetail(ctx, defaultValue)),
    );
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
    logger: OpenFeatureLogger,
  ): Promise<ResolutionDetails<string>> {
    return Promise.resolve(
      this.resolve(flagKey, defaultValue, context, logger, (t, ctx) => t.stringVariationDetail(ctx, defaultValue)),
    );
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
    logger: OpenFeatureLogger,
  ): Promise<ResolutionDetails<number>> {
    return Promise.resolve(
      this.resolve(flagKey, defaultValue, context, logger, (t, ctx) => t.numberVariationDetail(ctx, defaultValue)),
    );
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: OpenFeatureLogger,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(
      this.resolve(flagKey, defaultValue, context, logger, (t, ctx) => {
        // OpenFeature's JsonValue and ours are the same JSON; a served object is returned as the flag holds it.
        const detail = t.jsonVariationDetail(ctx, defaultValue);
        return detail as VariationDetail<unknown> as VariationDetail<T>;
      }),
    );
  }

  /**
   * Records a custom metric: `trackingEventName` with `trackingEventDetails.value` (default 1) against
   * the flag(s) named by `trackingEventDetails.flagKey`, with the variant `context.targetingKey` gets
   * from each. Never throws: problems are logged once per kind.
   */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void {
    try {
      // A blank or overlong event name is the signal layer's to reject (and warn about once).
      const event = String(trackingEventName);
      const flagKeys = trackedFlagKeysOf(trackingEventDetails);
      const value = trackedValueOf(trackingEventDetails);
      const user = tailslideContextOf(context, () => contextKey(this.manager.getUserContext()));
      if (!flagKeys.ok || !value.ok || !user.ok) {
        const problem = [flagKeys, value, user]
          .map((read) => (read.ok ? '' : read.message))
          .filter(Boolean)
          .join('; ');
        this.warnOnce(`details:${event}:${problem}`, `track(${JSON.stringify(event)}) ignored: ${problem}`);
        return;
      }
      for (const flagKey of flagKeys.value) {
        if (this.manager.getFlag(flagKey) === undefined) {
          const why = this.manager.initialized
            ? `flag ${JSON.stringify(flagKey)} is not in the ruleset of app ${this.manager.appId}`
            : 'no ruleset has arrived yet';
          this.warnOnce(
            `flag:${flagKey}:${this.manager.initialized}`,
            `track(${JSON.stringify(event)}) not recorded for ${JSON.stringify(flagKey)}: ${why}`,
          );
          continue;
        }
        this.manager.newToggler({ flagName: flagKey }).trackMetric(event, value.value, user.value);
      }
    } catch (err) {
      this.logger.warn(`track(${JSON.stringify(String(trackingEventName))}) failed: ${toError(err).message}`);
    }
  }

  private resolve<T>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: OpenFeatureLogger,
    evaluate: (toggler: Toggler, context: TailslideContext | undefined) => VariationDetail<T>,
  ): ResolutionDetails<T> {
    try {
      const tailslideContext = tailslideContextOf(context, () => contextKey(this.manager.getUserContext()));
      if (!tailslideContext.ok)
        return errorResolution(defaultValue, ErrorCode.INVALID_CONTEXT, tailslideContext.message);
      if (typeof flagKey !== 'string' || flagKey === '') {
        return errorResolution(defaultValue, ErrorCode.FLAG_NOT_FOUND, `flag ${describeValue(flagKey)} names no flag`);
      }
      return resolutionOf(
        evaluate(this.manager.newToggler({ flagName: flagKey }), tailslideContext.value),
        defaultValue,
        this.manager.health().stale,
      );
    } catch (err) {
      const message = `evaluating flag ${JSON.stringify(String(flagKey))} failed: ${toError(err).message}`;
      logger.error(`tailslide: ${message}`);
      return errorResolution(defaultValue, ErrorCode.GENERAL, message);
    }
  }

  private async close(): Promise<void> {
    this.bridge.detach();
    if (!this.ownsManager) return;
    try {
      await this.manager.disconnect();
    } catch (err) {
      this.logger.warn(`while closing the OpenFeature provider: ${toError(err).message}`);
    }
  }

  /** Why initialize() gives up on a manager that resolved its own initialize() without a ruleset. */
  private notReadyError(state: ManagerState): ProviderFatalError | ProviderNotReadyError {
    const appId = this.manager.appId;
    if (this.closePromise !== undefined || state === 'closed') {
      return new ProviderFatalError(
        `tailslide: the FlagManager of app ${appId} was disconnected before its first ruleset arrived`,
      );
    }
    if (state === 'failed') {
      return new ProviderFatalError(
        `tailslide: the FlagManager of app ${appId} failed and stopped trying (see its "failed" event)`,
      );
    }
    return new ProviderNotReadyError(
      `tailslide: no ruleset of app ${appId} arrived within initTimeoutMs` +
        `${this.manager.waitingFor === undefined ? '' : ` (waiting: ${this.manager.waitingFor})`}. Flags resolve to their default value ` +
        '(error PROVIDER_NOT_READY) meanwhile; the manager keeps trying and PROVIDER_READY is emitted when the first ruleset arrives',
    );
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_WARNED) this.warned.clear();
    this.warned.add(key);
    this.logger.warn(message);
  }
}

function isManagerOptions(options: TailslideProviderOptions): options is TailslideProviderManagerOptions {
  return typeof options === 'object' && options !== null && 'manager' in options && options.manager !== undefined;
}
