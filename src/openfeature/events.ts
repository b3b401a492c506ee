/**
 * Manager events → OpenFeature provider events. Before the provider's initialize() has settled,
 * OpenFeature announces the outcome itself (PROVIDER_READY when it resolves, PROVIDER_ERROR when it
 * rejects), so the bridge stays quiet about readiness until then.
 */
import { ErrorCode, ProviderEvents, type EventContext, type OpenFeatureEventEmitter } from '@openfeature/server-sdk';
import { toError, type TailslideError } from '../errors';
import type { Logger } from '../logger';
import type { ManagerHealth } from '../health';
import type { FlagManager, UpdateEvent } from '../manager';

export class ManagerEventBridge {
  private attached = false;
  /** The provider's initialize() has finished (either way): readiness is ours to announce. */
  private announcing = false;
  /** PROVIDER_STALE was emitted and no PROVIDER_READY since. */
  private staleAnnounced = false;

  constructor(
    private readonly manager: FlagManager,
    private readonly events: OpenFeatureEventEmitter,
    private readonly logger: Logger,
  ) {}

  /** Starts listening to the manager. Idempotent. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.manager.on('ready', this.onReady);
    this.manager.on('health', this.onHealth);
    this.manager.on('update', this.onUpdate);
    this.manager.on('failed', this.onFailed);
  }

  /** From now on, a late `ready`, a change of health or a `failed` is announced by the bridge. */
  initializeSettled(): void {
    this.announcing = true;
  }

  /** Removes every listener the bridge put on the manager and stops forwarding. Idempotent. */
  detach(): void {
    this.announcing = false;
    if (!this.attached) return;
    this.attached = false;
    this.manager.off('ready', this.onReady);
    this.manager.off('health', this.onHealth);
    this.manager.off('update', this.onUpdate);
    this.manager.off('failed', this.onFailed);
  }

  private readonly onReady = (): void => {
    if (!this.announcing) return;
    this.emit(ProviderEvents.Ready, { message: `the first ruleset of app ${this.manager.appId} arrived` });
  };

  /**
   * Stale (NATS lost, delivery interrupted: manager.health()) → PROVIDER_STALE; following again
   * → PROVIDER_READY. Before the first ruleset there is nothing to be stale: simply not ready.
   */
  private readonly onHealth = (health: ManagerHealth): void => {
    if (!this.announcing || !this.manager.initialized) return;
    if (health.stale && !this.staleAnnounced) {
      this.staleAnnounced = true;
      this.emit(ProviderEvents.Stale, { message: `${health.reason ?? 'stale'}; serving the last ruleset` });
    } else if (health.healthy && this.staleAnnounced) {
      this.staleAnnounced = false;
      this.emit(ProviderEvents.Ready, { message: 'following app updates again; the newest ruleset is in place' });
    }
  };

  private readonly onUpdate = (update: UpdateEvent): void => {
    this.emit(ProviderEvents.ConfigurationChanged, {
      flagsChanged: [...update.changed],
      message: `ruleset from ${update.subject} (sequence ${update.sequence}): ${update.changed.length} flags changed`,
      metadata: { sequence: update.sequence, subject: update.subject, flagCount: update.flagCount },
    });
  };

  private readonly onFailed = (error: TailslideError): void => {
    if (!this.announcing) return;
    // With a ruleset the manager still serves its flags, so the provider is in ERROR and evaluations
    // go on; without one nothing can ever be served, so it is FATAL.
    if (this.manager.initialized) {
      this.emit(ProviderEvents.Error, {
        message: `${error.message}; the manager stopped trying and serves the last ruleset it has`,
      });
    } else {
      this.emit(ProviderEvents.Error, { message: error.message, errorCode: ErrorCode.PROVIDER_FATAL });
    }
  };

  private emit(event: ProviderEvents, context: EventContext): void {
    try {
      this.events.emit(event, context);
    } catch (err) {
      this.logger.error(`emitting ${event} failed: ${toError(err).message}`);
    }
  }
}
