/**
 * The one evaluation path (docs/evaluation.md): every part that answers "what does this context
 * get from this flag, and why" asks here: the Toggler, the OpenFeature provider, the command line,
 * the dashboard and the relay. Pure and total.
 *
 * Two entries: `isOn`, allocation-free for a plain flag and a string context (the hot path of
 * `isFlagActive`), and `explain`, the whole decision in one shape.
 */
import type { Flag, WireFlag } from '../ruleset/types';
import { parseRulesetLenient } from '../ruleset/parse';
import { contextKey, type EvaluationContext } from './context';
import { compileFlag, decide, isOnReason, type CompiledFlag, type HashingMode } from './evaluator';
import { decideVariation, type VariationDecision } from './variation';

/** A decision with what every caller derives from it. */
export interface Explanation extends VariationDecision {
  /** The flag serves anything but its off variation (`isFlagActive`'s answer). */
  readonly on: boolean;
  /** The name metrics split by: `on`/`off`, or the variation index of a flag with its own variations. */
  readonly variant: string;
  /** The context's key ('' when none). */
  readonly key: string;
  /** The rollout the gate used, in percent (reduced while the circuit recovers). */
  readonly effectiveRollout: number;
}

/** Whether the flag is on for the context. Allocates nothing for a plain flag and a string context. */
export function isOn(compiled: CompiledFlag, context: EvaluationContext, hashing: HashingMode): boolean {
  const targeting = compiled.targeting;
  if (targeting === undefined) {
    const key = typeof context === 'string' ? context : contextKey(context);
    return isOnReason(decide(compiled, key, hashing));
  }
  return decideVariation(compiled, context, hashing).variation !== targeting.offVariation;
}

/** The whole decision for one context: variation, value, reason, rule, split bucket, variant. */
export function explain(compiled: CompiledFlag, context: EvaluationContext, hashing: HashingMode): Explanation {
  const decision = decideVariation(compiled, context, hashing);
  return {
    ...decision,
    on: decision.variation !== (compiled.targeting?.offVariation ?? 0),
    variant: variantOf(compiled, decision.variation),
    key: contextKey(context),
    effectiveRollout: compiled.effectiveRollout,
  };
}

/** The metric variant the context is served, without building an explanation (trackMetric's path). */
export function variantFor(compiled: CompiledFlag, context: EvaluationContext, hashing: HashingMode): string {
  if (compiled.targeting === undefined) return isOn(compiled, context, hashing) ? 'on' : 'off';
  return variantOf(compiled, decideVariation(compiled, context, hashing).variation);
}

/** The metric name of a served variation: `on`/`off`, or the index of a flag's own variations. */
export function variantOf(compiled: CompiledFlag, variation: number): string {
  const targeting = compiled.targeting;
  if (targeting?.explicitVariations === true) return String(variation);
  return variation === (targeting?.offVariation ?? 0) ? 'off' : 'on';
}

/**
 * A wire flag (as the admin library reads it) compiled for evaluation, validated as a manager
 * validates it; undefined when a manager would leave it out of the ruleset.
 */
export function compileWireFlag(flag: WireFlag, appId?: number): CompiledFlag | undefined {
  const parsed = parseRulesetLenient(
    [flag],
    `flag ${JSON.stringify(flag.title)}`,
    appId === undefined ? {} : { appId },
  );
  const valid: Flag | undefined = parsed.ok ? parsed.flags[0] : undefined;
  return valid === undefined ? undefined : compileFlag(valid);
}
