/**
 * What the breaker says about a transition it made: the `transition` event's payload and its
 * one log line. Shared by both writers (writers/), which make transitions, and the CLI, which
 * prints them.
 */
import type { WireFlag } from '../ruleset/types';
import type { Decision } from './decide';
import type { BreakerMode } from './options';
import { TOWER_SUBJECTS } from './tower';

/** One circuit transition the breaker made (standalone: published; tower: sent to Tower). */
export interface CircuitTransition extends Decision {
  readonly mode: BreakerMode;
  readonly appId: number;
  readonly title: string;
  /** The breaker's clock when it was decided. */
  readonly at: Date;
  /** Standalone: stream sequence of the published ruleset. */
  readonly sequence?: number;
}

export function toTransition(
  mode: BreakerMode,
  appId: number,
  flag: WireFlag,
  decision: Decision,
  atMs: number,
  sequence: number | undefined,
): CircuitTransition {
  return {
    kind: decision.kind,
    mode,
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

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
