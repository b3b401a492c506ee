/**
 * Which apps the breaker watches, and their rulesets as followed from JetStream: the listed
 * apps, or with `apps: 'all'` every app in the stream, new ones found as they publish (a
 * subscription on every app's subjects) and by listing the stream every `appsRefreshMs`. Each
 * app's ruleset is followed through the admin library's watch; nothing else of the circuit
 * state is kept in memory.
 */
import type { NatsConnection, Subscription } from 'nats';
import { StreamNotFoundError } from '../admin/errors';
import type { FlagAdmin } from '../admin/flag-admin';
import type { StopWatch } from '../admin/watch';
import type { Logger } from '../logger';
import { errorMessage } from '../nats/errors';
import { ALL_APPS_SUBJECTS, appIdOfSubject } from '../nats/subjects';
import type { WireFlag } from '../ruleset/types';
import { BadKeyLog, type BadKey } from './bad-keys';
import { watchSummary, type WatchSummary } from './decide';
import type { ResolvedBreakerOptions } from './options';
import type { NatsTrouble } from './trouble';

export interface AppState {
  flags: readonly WireFlag[] | undefined;
  sequence: number;
  stop: StopWatch | undefined;
  /** The last `watching` line, so that it is said again only when it changes. */
  watching?: string;
  /** The app's bad signal keys, each said once. */
  badKeys: BadKeyLog;
}

/** An app whose ruleset has been read: the only ones a poll judges. */
export type AppWithRuleset = [number, AppState & { flags: readonly WireFlag[] }];

export interface WatchedAppsHooks {
  readonly logger: Logger;
  readonly nats: NatsTrouble;
  /** True once the breaker stops: no app is watched from then on. */
  readonly isStopped: () => boolean;
  /** A newer ruleset of the app arrived (the tower writer settles its pending changes). */
  readonly onRuleset: (appId: number, flags: readonly WireFlag[]) => void;
  /** What is watched of an app changed (the `watching` event). */
  readonly onWatching: (summary: WatchSummary) => void;
}

export class WatchedApps {
  private readonly apps = new Map<number, AppState>();
  private discovery: Subscription | undefined;
  private lastRefreshMs = 0;

  constructor(
    private readonly admin: FlagAdmin,
    private readonly options: Pick<ResolvedBreakerOptions, 'apps' | 'appsRefreshMs'>,
    private readonly hooks: WatchedAppsHooks,
  ) {}

  /** The apps watched now (for 'all': every app found so far). */
  ids(): number[] {
    return [...this.apps.keys()].sort((a, b) => a - b);
  }

  /** Starts watching: the listed apps, or every app of the stream and each new one. */
  async start(nc: NatsConnection): Promise<void> {
    if (this.options.apps !== 'all') {
      for (const appId of this.options.apps) this.watch(appId);
      return;
    }
    this.discovery = nc.subscribe(ALL_APPS_SUBJECTS, {
      callback: (_err, msg) => {
        const appId = msg === undefined ? undefined : appIdOfSubject(msg.subject);
        if (appId !== undefined && !this.apps.has(appId)) this.watch(appId);
      },
    });
    await this.refresh();
  }

  /** For 'all': lists the stream's apps again once `appsRefreshMs` has passed. */
  async refreshIfDue(): Promise<void> {
    if (this.options.apps === 'all' && Date.now() - this.lastRefreshMs >= this.options.appsRefreshMs)
      await this.refresh();
  }

  withRulesets(): AppWithRuleset[] {
    return [...this.apps.entries()].filter((entry): entry is AppWithRuleset => entry[1].flags !== undefined);
  }

  /** Our own publish: taken at once when newer than the ruleset followed so far. */
  adopt(appId: number, flags: readonly WireFlag[], sequence: number): void {
    const state = this.apps.get(appId);
    if (state !== undefined && sequence > state.sequence) {
      state.flags = flags;
      state.sequence = sequence;
    }
  }

  /** Stops the discovery and every watch. Safe to call twice. */
  async stop(): Promise<void> {
    this.discovery?.unsubscribe();
    this.discovery = undefined;
    await Promise.all(
      [...this.apps.values()].map(async (app) => {
        await app.stop?.().catch(() => undefined);
      }),
    );
    this.apps.clear();
  }

  private async refresh(): Promise<void> {
    const admin = this.admin;
    this.lastRefreshMs = Date.now();
    try {
      for (const appId of await admin.listApps()) if (!this.apps.has(appId)) this.watch(appId);
    } catch (err) {
      if (err instanceof StreamNotFoundError) {
        this.hooks.logger.info(`CircuitBreaker: stream "${admin.stream}" does not exist yet; waiting for apps`);
      } else this.hooks.nats.problem(`could not list the apps: ${errorMessage(err)}`);
    }
  }

  private watch(appId: number): void {
    const { admin, hooks } = this;
    if (hooks.isStopped() || this.apps.has(appId)) return;
    const state: AppState = { flags: undefined, sequence: 0, stop: undefined, badKeys: this.badKeyLog(appId) };
    this.apps.set(appId, state);
    state.stop = admin.watch(
      appId,
      (update) => {
        if (update.flags === undefined || update.sequence <= state.sequence) return;
        state.flags = update.flags;
        state.sequence = update.sequence;
        hooks.onRuleset(appId, update.flags);
        this.reportWatching(appId, state);
      },
      { onWaiting: (reason) => hooks.logger.info(`CircuitBreaker: app ${appId}: ${reason}`) },
    );
    // An app without a ruleset sends no update: ask once, so that "no ruleset" is said too.
    admin.readRuleset(appId).then(
      (snapshot) => {
        if (snapshot === undefined && state.flags === undefined && this.apps.get(appId) === state)
          this.reportWatching(appId, state);
      },
      (err: unknown) =>
        hooks.logger.debug(`CircuitBreaker: app ${appId}: cannot read its ruleset: ${errorMessage(err)}`),
    );
    if (this.options.apps === 'all') hooks.logger.info(`CircuitBreaker: watching app ${appId}`);
  }

  private reportWatching(appId: number, state: AppState): void {
    const summary = watchSummary(appId, state.flags);
    if (summary.text === state.watching) return;
    state.watching = summary.text;
    this.hooks.logger.info(`CircuitBreaker: app ${appId}: ${summary.text}`);
    this.hooks.onWatching(summary);
  }

  /** Says each bad signal key of the app once (warn), and once more when it is fixed (info). */
  private badKeyLog(appId: number): BadKeyLog {
    const { logger } = this.hooks;
    return new BadKeyLog(
      (bad: BadKey) =>
        logger.warn(
          `CircuitBreaker: app ${appId}: signal key ${JSON.stringify(bad.key)}: ${bad.reason}; ${
            bad.flagId === undefined
              ? 'not counted'
              : `holding flag #${bad.flagId} as it is (its circuit unchanged) until the key is fixed; the other flags are judged as usual`
          }`,
        ),
      (key, flagId, stillHeld) =>
        logger.info(
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
}
