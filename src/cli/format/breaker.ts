/** How the command line shows circuit-breaker transitions: a line of text, or a JSON record. Pure. */
import { describeTransition, type CircuitTransition } from '../../breaker/breaker';

/** `2026-05-01T12:00:03.412Z  app 1 flag #3 "checkout-v2": close → open, tripped: …`. */
export function transitionLine(t: CircuitTransition): string {
  return `${t.at.toISOString()}  ${describeTransition(t)}`;
}

/** The JSON line of a transition (`--json`). */
export function transitionRecord(t: CircuitTransition): Record<string, unknown> {
  return { event: 'transition', ...t, at: t.at.toISOString() };
}
