/**
 * Tower mode: the control messages Tailslide's breaker (Aerobat) sends and Tower applies, byte for
 * byte. Tower then republishes the app's ruleset on `apps.<id>.update.circuit`.
 *
 * - `circuit_open`: the flag id as plain text (`42`), not JSON;
 * - `circuit_recovery_start`: `{"flagId":42,"circuitInitialRecoveryPercentage":10}`;
 * - `circuit_recovery_update`: `{"flagId":42,"circuitRecoveryPercentage":20}`;
 * - `circuit_close`: the flag id as plain text.
 */
import type { WireFlag } from '../ruleset/types';
import type { Decision, TransitionKind } from './decide';

export const TOWER_SUBJECTS: Readonly<Record<TransitionKind, string>> = Object.freeze({
  open: 'circuit_open',
  recovery_start: 'circuit_recovery_start',
  recovery_update: 'circuit_recovery_update',
  close: 'circuit_close',
});

export interface TowerMessage {
  readonly subject: string;
  readonly payload: string;
}

export function towerMessage(decision: Decision, flag: WireFlag): TowerMessage {
  const subject = TOWER_SUBJECTS[decision.kind];
  switch (decision.kind) {
    case 'open':
    case 'close':
      return { subject, payload: String(decision.flagId) };
    case 'recovery_start':
      return {
        subject,
        payload: JSON.stringify({
          flagId: decision.flagId,
          circuitInitialRecoveryPercentage: flag.circuit_initial_recovery_percentage,
        }),
      };
    case 'recovery_update':
      return {
        subject,
        payload: JSON.stringify({ flagId: decision.flagId, circuitRecoveryPercentage: decision.percentage }),
      };
  }
}
