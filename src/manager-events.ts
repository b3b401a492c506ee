/** The FlagManager's events and states, apart so that the modules below it can name them. */
import type { TailslideError } from './errors';
import type { DeliveryKind, RulesetOrigin } from './sources/types';

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
  /** Where the new ruleset came from (as in `EvaluationDetail.source`). */
  readonly source: RulesetOrigin;
}

/** Events of a FlagManager and their payloads. */
export interface FlagManagerEvents {
  /**
   * Initialization is over with a ruleset to serve: the source's first one, or, when none came
   * within `initTimeoutMs`, the cache file's or the bootstrap (see `rulesetSource`).
   */
  ready: [];
  /** A new ruleset replaced the previous one (only after `ready`). */
  update: [UpdateEvent];
  /** Something went wrong and was survived: a bad message (the last good ruleset stays), a lost connection… */
  error: [TailslideError];
  /** The NATS connection is lost; the ruleset in place (if any) is served while it retries. */
  stale: [{ readonly reason: string }];
  /** The NATS connection is back after `stale`; the newest ruleset is re-read. */
  reconnected: [];
  /** Something retrying cannot fix (authorization refused): the manager stopped trying. */
  failed: [TailslideError];
  /** `health()` changed verdict (healthy, stale or reason): see docs/operations.md. */
  health: [ManagerHealth];
}

/** Where a manager is in its life. */
export type ManagerState = 'idle' | 'initializing' | 'ready' | 'stale' | 'failed' | 'closed';

/** What `manager.health()` answers (src/health.ts decides it). */
export interface ManagerHealth {
  /** Ready, connected and following its app live: safe to take traffic. */
  readonly healthy: boolean;
  /** Serving a ruleset that may be out of date (NATS lost, delivery interrupted). */
  readonly stale: boolean;
  readonly state: ManagerState;
  /** The source's connection is up (always true for the offline source). */
  readonly connected: boolean;
  /** When the last ruleset was applied (ms since the epoch), if any. */
  readonly lastUpdateAt: number | undefined;
  /** How rulesets arrive (`consumer`: a JetStream consumer per instance; `offline`; `custom`). */
  readonly delivery: DeliveryKind;
  /** Why not healthy (absent when healthy). */
  readonly reason?: string;
}
