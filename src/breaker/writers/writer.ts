/**
 * How the breaker's decisions reach the rulesets. Two writers, one per mode:
 *
 * - standalone.ts: the breaker publishes the app's whole updated ruleset itself, through the admin
 *   library's guarded read-modify-write (a decision taken on a state that changed meanwhile is
 *   taken again on the fresh ruleset);
 * - tower.ts: the breaker sends Tailslide's control messages, as Aerobat does, and Tower applies
 *   them and republishes the app.
 *
 * The poll loop (poll.ts) plans transitions without knowing which writer applies them.
 */
import type { Logger } from '../../logger';
import type { WireFlag } from '../../ruleset/types';
import type { Counts, Decision } from '../decide';
import type { ResolvedBreakerOptions } from '../options';
import type { SkewGuard } from '../skew';
import type { NatsTrouble } from '../trouble';

/** One transition a poll decided, with what it was decided on (for deciding again). */
export interface Planned {
  readonly flag: WireFlag;
  readonly decision: Decision;
  readonly counts: Counts | undefined;
  /** Where the flag's window started, when its signals were read. */
  readonly fromMs: number | undefined;
}

export interface CircuitWriter {
  /**
   * Applies one app's planned transitions; resolves with how many were made (each one reported).
   * Never rejects: a failed write is logged and simply decided again at the next poll.
   */
  publish(appId: number, planned: readonly Planned[], nowMs: number): Promise<number>;
  /** True while a transition sent for this flag has not shown in its ruleset yet: it is not decided again meanwhile. */
  awaits(appId: number, flag: WireFlag, nowMs: number): boolean;
  /** A newer ruleset of the app arrived. */
  observe(appId: number, flags: readonly WireFlag[]): void;
  /** Resolves once no write is in flight. */
  settled(): Promise<void>;
}

/** Reports a transition made: its log line and the `transition` event. */
export type ReportTransition = (
  appId: number,
  flag: WireFlag,
  decision: Decision,
  atMs: number,
  sequence: number | undefined,
) => void;

/** What both writers share with the breaker. */
export interface WriterContext {
  readonly options: ResolvedBreakerOptions;
  readonly logger: Logger;
  readonly nats: NatsTrouble;
  readonly skew: SkewGuard;
  readonly report: ReportTransition;
}
