/**
 * Which variation a flag serves a context (docs/targeting.md, "Order of evaluation"): off, then
 * individual targets, then the rollout gate of docs/rollout.md exactly as `decide` has it, then rules
 * and the fallthrough. A plain boolean flag serves index 1 (true) when `decide` says on, else 0, with
 * `decide`'s reason: its results are the same as before the extension.
 */
import type { JsonValue } from '../ruleset/targeting';
import { contextKey, type EvaluationContext } from './context';
import { decide, isOnReason, type CompiledFlag, type EvaluationReason, type HashingMode } from './evaluator';
import { serveAfterGate, targetFor, type TargetingReason } from './targeting';

export type VariationReason = EvaluationReason | TargetingReason;

export interface VariationDecision {
  /** Index into the flag's variations (`[false, true]` for a boolean flag). */
  readonly variation: number;
  readonly value: JsonValue;
  readonly reason: VariationReason;
  /** The matching rule, when reason is RULE_MATCH. */
  readonly ruleIndex?: number;
  readonly ruleId?: string;
  /** The split bucket (0–99999), when a split chose the variation. */
  readonly splitBucket?: number;
}

const BOOLEAN_OFF: VariationDecisionBase = { variation: 0, value: false };
const BOOLEAN_ON: VariationDecisionBase = { variation: 1, value: true };
interface VariationDecisionBase {
  readonly variation: number;
  readonly value: JsonValue;
}

/** Decides a flag for a context. Total: every input gives a decision. */
export function decideVariation(
  compiled: CompiledFlag,
  context: EvaluationContext,
  hashing: HashingMode,
): VariationDecision {
  const key = contextKey(context);
  const gate = decide(compiled, key, hashing);
  const targeting = compiled.targeting;
  if (targeting === undefined) return { ...(isOnReason(gate) ? BOOLEAN_ON : BOOLEAN_OFF), reason: gate };

  const off = targeting.offVariation;
  const valueOf = (index: number): JsonValue => targeting.variations[index] as JsonValue;
  if (compiled.offReason !== undefined) return { variation: off, value: valueOf(off), reason: gate };
  const pinned = targetFor(targeting, key);
  if (pinned >= 0) return { variation: pinned, value: valueOf(pinned), reason: 'TARGET_MATCH' };
  if (!isOnReason(gate)) return { variation: off, value: valueOf(off), reason: gate };
  const outcome = serveAfterGate(targeting, context);
  return { ...outcome, value: valueOf(outcome.variation) };
}
