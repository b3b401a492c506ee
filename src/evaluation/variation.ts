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
  /** The matching rule, when reason is RULE_MATCH (else undefined). */
  readonly ruleIndex: number | undefined;
  readonly ruleId: string | undefined;
  /** The split bucket (0–99999), when a weighted split chose the variation (else undefined). */
  readonly splitBucket: number | undefined;
}

/** Decides a flag for a context. Total: every input gives a decision, all of one shape. */
export function decideVariation(
  compiled: CompiledFlag,
  context: EvaluationContext,
  hashing: HashingMode,
): VariationDecision {
  const key = contextKey(context);
  const gate = decide(compiled, key, hashing);
  const targeting = compiled.targeting;
  if (targeting === undefined) {
    const on = isOnReason(gate);
    return plain(on ? 1 : 0, on, gate);
  }
  const variations = targeting.variations;
  const off = targeting.offVariation;
  if (compiled.offReason !== undefined) return plain(off, variations[off] as JsonValue, gate);
  const pinned = targetFor(targeting, key);
  if (pinned >= 0) return plain(pinned, variations[pinned] as JsonValue, 'TARGET_MATCH');
  if (!isOnReason(gate)) return plain(off, variations[off] as JsonValue, gate);
  const o = serveAfterGate(targeting, context);
  return {
    variation: o.variation,
    value: variations[o.variation] as JsonValue,
    reason: o.reason,
    ruleIndex: o.ruleIndex,
    ruleId: o.ruleId,
    splitBucket: o.splitBucket,
  };
}

function plain(variation: number, value: JsonValue, reason: VariationReason): VariationDecision {
  return { variation, value, reason, ruleIndex: undefined, ruleId: undefined, splitBucket: undefined };
}
