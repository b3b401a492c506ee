/** Why a flag evaluated the way it did, in words, and the evaluate command's table. Pure. */
import { bucket, legacyBucket } from '../../evaluation/bucket';
import { compileWireFlag } from '../../evaluation/explain';
import type { HashingMode } from '../../options';
import type { WireFlag } from '../../ruleset/types';
import type { JsonValue } from '../../ruleset/targeting';
import type { EvaluationDetail, VariationDetail } from '../../toggler';
import { percentage, table } from './common';
import { hasTargetingFields, variationLabel } from './targeting';

/** The rollout evaluation uses (reduced during circuit recovery): the evaluator's own figure. */
function effectiveRollout(flag: WireFlag): number {
  return compileWireFlag(flag)?.effectiveRollout ?? flag.rollout_percentage;
}

/** One sentence saying why `detail` came out as it did for `flag`. */
export function explain(
  detail: EvaluationDetail,
  flag: WireFlag | undefined,
  hashing: HashingMode = 'murmur3',
): string {
  const why = explainReason(detail, flag, hashing);
  // Tower's close-circuit leaves circuit_status "open" on an active flag; is_active decides, as in
  // Tailslide's SDKs, so say what the field says without pretending it changed the answer.
  return flag !== undefined && flag.is_active && flag.circuit_status === 'open'
    ? `${why}; circuit field says open (is_active decides)`
    : why;
}

function explainReason(detail: EvaluationDetail, flag: WireFlag | undefined, hashing: HashingMode): string {
  const user = detail.userContext;
  const rollout = flag === undefined ? 0 : effectiveRollout(flag);
  const recovery =
    flag !== undefined && rollout !== flag.rollout_percentage
      ? ` (${percentage(flag.rollout_percentage)} × circuit recovery ${percentage(flag.circuit_recovery_percentage)})`
      : '';
  switch (detail.reason) {
    case 'NOT_READY':
      return 'no ruleset has been received';
    case 'FLAG_NOT_FOUND':
      return 'the ruleset has no flag of that name';
    case 'FLAG_OFF':
      return 'the flag is off (is_active: false)';
    case 'WHITELISTED':
      return 'the user is in white_listed_users';
    case 'FULL_ROLLOUT':
      return `the rollout is ${percentage(rollout)}${recovery}: everyone gets it`;
    case 'NO_USER_CONTEXT':
      return `the rollout is ${percentage(rollout)}${recovery} and there is no user context to bucket (pass --user)`;
    case 'ROLLOUT_IN':
    case 'ROLLOUT_OUT': {
      if (rollout <= 0) return 'the rollout is 0 %: nobody outside the whitelist gets it';
      const inside = detail.reason === 'ROLLOUT_IN';
      if (hashing === 'tailslide-md5') {
        return `the user's md5 bucket ${legacyBucket(user)} is ${inside ? '≤' : '>'} the rollout of ${percentage(rollout)}${recovery}`;
      }
      const b = flag === undefined ? 0 : bucket(flag.title, user) / 1000;
      return `the user's bucket ${b.toFixed(3)} % is ${inside ? 'below' : 'not below'} the rollout of ${percentage(rollout)}${recovery}`;
    }
    case 'ERROR':
      return `evaluation failed: ${detail.errorMessage ?? 'unknown error'}`;
    default:
      return detail.reason;
  }
}

export interface ExplainedDetail extends EvaluationDetail {
  readonly explanation: string;
  /** The value served (the variation's value; `value` stays on/off for isFlagActive). */
  readonly variationValue?: JsonValue;
  /** The split bucket (0–99999), when a weighted split chose the variation. */
  readonly splitBucket?: number;
}

/**
 * Why a flag with targeting served what it served, or undefined for a plain boolean flag (then
 * `explain` says it). Names the target, the rule (index and id) and the split bucket.
 */
export function explainVariation(
  detail: Pick<
    VariationDetail<JsonValue>,
    'reason' | 'userContext' | 'variationIndex' | 'ruleIndex' | 'ruleId' | 'splitBucket'
  >,
  flag: WireFlag | undefined,
  base: string,
): string | undefined {
  if (flag === undefined || !hasTargetingFields(flag)) return undefined;
  const served = detail.variationIndex === undefined ? '' : variationLabel(flag, detail.variationIndex);
  const split = (what: string, serve: unknown): string => {
    if (detail.splitBucket === undefined) return `${what} serves ${served}`;
    const by =
      typeof serve === 'object' && serve !== null && typeof (serve as { bucket_by?: unknown }).bucket_by === 'string'
        ? (serve as { bucket_by: string }).bucket_by
        : 'key';
    return `${what} split by ${by} puts bucket ${detail.splitBucket} in variation ${served}`;
  };
  switch (detail.reason) {
    case 'TARGET_MATCH':
      return `the key ${JSON.stringify(detail.userContext)} is pinned to variation ${served} (targets)`;
    case 'RULE_MATCH': {
      const rules = Array.isArray(flag.rules) ? (flag.rules as unknown[]) : [];
      const rule = rules[detail.ruleIndex ?? -1] as { serve?: unknown } | undefined;
      return `rule ${detail.ruleIndex ?? '?'} ${JSON.stringify(detail.ruleId)} matched; ${split('its', rule?.serve)}`;
    }
    case 'FALLTHROUGH':
      return `no rule matched; ${split('the fallthrough', flag.fallthrough)}`;
    default:
      return detail.variationIndex === undefined ? base : `${base}; it serves the off variation ${served}`;
  }
}

export function evaluationTable(details: readonly ExplainedDetail[]): string[] {
  return table(
    [
      { header: 'FLAG' },
      { header: 'ID', align: 'right' },
      { header: 'VALUE' },
      { header: 'REASON' },
      { header: 'WHY' },
    ],
    details.map((d) => [
      d.flagName,
      d.flagId === undefined ? '-' : String(d.flagId),
      d.variationValue !== undefined && typeof d.variationValue !== 'boolean'
        ? JSON.stringify(d.variationValue)
        : d.value
          ? 'on'
          : 'off',
      d.reason,
      d.explanation,
    ]),
  );
}
