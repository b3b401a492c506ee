/**
 * Evaluation of the targeting extension (docs/targeting.md): individual targets, the rollout gate
 * (unchanged), rules on context attributes, and weighted splits hashed with seed 1. Pure, total and
 * synchronous; everything that can be prepared (patterns, dates, versions, split thresholds, the
 * split's hash prefix) is prepared once per ruleset by `compileTargeting`.
 */
import type { Clause, ClauseValue, JsonValue, Serve, Targeting } from '../ruleset/targeting';
import { BUCKETS, bucketAfter, SPLIT_SEED } from './bucket';
import { contextAttribute, contextKey, type EvaluationContext } from './context';
import { prefixState, type PrefixState } from './murmur3';
import { compareSemver, parseSemver, type SemVer } from './semver';

/** Reasons a targeting evaluation adds to the boolean ones. */
export type TargetingReason = 'TARGET_MATCH' | 'RULE_MATCH' | 'FALLTHROUGH';

/** A serve ready to evaluate: one variation, or cumulative split thresholds. */
export type CompiledServe =
  | { readonly kind: 'fixed'; readonly variation: number }
  | {
      readonly kind: 'split';
      readonly bucketBy: string;
      /** Running sums of the weights, in entry order. */
      readonly thresholds: readonly number[];
      readonly variations: readonly number[];
    };

export interface CompiledRule {
  readonly id: string;
  readonly clauses: readonly CompiledClause[];
  readonly serve: CompiledServe;
}

export interface CompiledClause {
  readonly attribute: string;
  readonly negate: boolean;
  /** Whether one scalar attribute value matches any of the clause's values (before `negate`). */
  readonly test: (value: string | number | boolean | null) => boolean;
}

export interface CompiledTargeting {
  readonly variations: readonly JsonValue[];
  readonly explicitVariations: boolean;
  readonly offVariation: number;
  /** Target key → variation index. */
  readonly targets: ReadonlyMap<string, number>;
  readonly rules: readonly CompiledRule[];
  readonly fallthrough: CompiledServe;
  /** Hash state after `title + ":"` with the split seed. */
  readonly splitPrefix: PrefixState;
}

/**
 * Where a served variation came from. Every field is always present (undefined when it does not
 * apply), so all outcomes share one shape and stay cheap to build and read.
 */
export interface TargetingOutcome {
  readonly variation: number;
  readonly reason: TargetingReason;
  /** The matching rule's index and id, when reason is RULE_MATCH. */
  readonly ruleIndex: number | undefined;
  readonly ruleId: string | undefined;
  /** The split bucket (0–99999), when a split served. */
  readonly splitBucket: number | undefined;
}

export function compileTargeting(title: string, targeting: Targeting): CompiledTargeting {
  const targets = new Map<string, number>();
  for (const target of targeting.targets) for (const key of target.values) targets.set(key, target.variation);
  return {
    variations: targeting.variations,
    explicitVariations: targeting.explicitVariations,
    offVariation: targeting.offVariation,
    targets,
    rules: targeting.rules.map((rule) => ({
      id: rule.id,
      clauses: rule.clauses.map(compileClause),
      serve: compileServe(rule.serve),
    })),
    fallthrough: compileServe(targeting.fallthrough),
    splitPrefix: prefixState(`${title}:`, SPLIT_SEED),
  };
}

/** The variation a context's key is pinned to by a target, or -1. */
export function targetFor(compiled: CompiledTargeting, key: string): number {
  if (compiled.targets.size === 0 || key === '') return -1;
  return compiled.targets.get(key) ?? -1;
}

/** Rules in order, then the fallthrough: what a context that passed the rollout gate is served. */
export function serveAfterGate(compiled: CompiledTargeting, context: EvaluationContext): TargetingOutcome {
  const rules = compiled.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule;
    if (ruleMatches(rule, context)) return serve(compiled, rule.serve, context, 'RULE_MATCH', i, rule.id);
  }
  return serve(compiled, compiled.fallthrough, context, 'FALLTHROUGH', undefined, undefined);
}

function ruleMatches(rule: CompiledRule, context: EvaluationContext): boolean {
  const clauses = rule.clauses;
  for (let i = 0; i < clauses.length; i++) {
    if (!clauseMatches(clauses[i] as CompiledClause, context)) return false;
  }
  return true;
}

/** A missing attribute never matches, negated or not; an array matches when any element does. */
export function clauseMatches(clause: CompiledClause, context: EvaluationContext): boolean {
  const value = contextAttribute(context, clause.attribute);
  if (value === undefined) return false;
  let matched = false;
  if (Array.isArray(value)) {
    for (const element of value as readonly (string | number | boolean | null)[]) {
      if (clause.test(element)) {
        matched = true;
        break;
      }
    }
  } else {
    matched = clause.test(value as string | number | boolean | null);
  }
  return clause.negate ? !matched : matched;
}

function serve(
  compiled: CompiledTargeting,
  target: CompiledServe,
  context: EvaluationContext,
  reason: TargetingReason,
  ruleIndex: number | undefined,
  ruleId: string | undefined,
): TargetingOutcome {
  if (target.kind === 'fixed') {
    return { variation: target.variation, reason, ruleIndex, ruleId, splitBucket: undefined };
  }
  const splitBucket = splitBucketOf(compiled.splitPrefix, context, target.bucketBy);
  const thresholds = target.thresholds;
  const variations = target.variations;
  // A valid split's weights sum to 100000, above any bucket; the last entry is the guard.
  let i = 0;
  while (i < thresholds.length - 1 && (thresholds[i] as number) <= splitBucket) i++;
  return { variation: variations[i] as number, reason, ruleIndex, ruleId, splitBucket };
}

/**
 * The split bucket of a context: its `bucketBy` attribute as a string (numbers in their shortest
 * JSON form), hashed after the flag's title; 0 when the attribute is missing or not a scalar.
 */
export function splitBucketOf(prefix: PrefixState, context: EvaluationContext, bucketBy: string): number {
  const value = bucketBy === 'key' ? contextKey(context) : contextAttribute(context, bucketBy);
  if (value === undefined || value === null || value === '' || Array.isArray(value)) return 0;
  return bucketAfter(prefix, typeof value === 'string' ? value : String(value));
}

function compileServe(serve: Serve): CompiledServe {
  if ('variation' in serve) return { kind: 'fixed', variation: serve.variation };
  const thresholds: number[] = [];
  const variations: number[] = [];
  let sum = 0;
  for (const entry of serve.split) {
    sum += entry.weight;
    thresholds.push(Math.min(sum, BUCKETS));
    variations.push(entry.variation);
  }
  return { kind: 'split', bucketBy: serve.bucketBy, thresholds, variations };
}

const NEVER = (): boolean => false;

/** A clause's values prepared for its operator; values of the wrong type can never match and are dropped. */
export function compileClause(clause: Clause): CompiledClause {
  return { attribute: clause.attribute, negate: clause.negate, test: compileTest(clause) };
}

function compileTest(clause: Clause): CompiledClause['test'] {
  const values = clause.values;
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.filter((v): v is number => typeof v === 'number');
  switch (clause.op) {
    case 'in': {
      const set = new Set<ClauseValue>(values);
      return (a) => set.has(a);
    }
    case 'contains':
      return (a) => typeof a === 'string' && strings.some((v) => a.includes(v));
    case 'starts_with':
      return (a) => typeof a === 'string' && strings.some((v) => a.startsWith(v));
    case 'ends_with':
      return (a) => typeof a === 'string' && strings.some((v) => a.endsWith(v));
    case 'matches': {
      const patterns = strings.map((v) => new RegExp(v));
      return (a) => typeof a === 'string' && patterns.some((p) => p.test(a));
    }
    case 'lt':
      return (a) => typeof a === 'number' && numbers.some((v) => a < v);
    case 'lte':
      return (a) => typeof a === 'number' && numbers.some((v) => a <= v);
    case 'gt':
      return (a) => typeof a === 'number' && numbers.some((v) => a > v);
    case 'gte':
      return (a) => typeof a === 'number' && numbers.some((v) => a >= v);
    case 'before':
    case 'after': {
      const dates = values.map(toDateMs).filter((v): v is number => v !== undefined);
      if (dates.length === 0) return NEVER;
      const before = clause.op === 'before';
      return (a) => {
        const ms = toDateMs(a);
        if (ms === undefined) return false;
        return dates.some((v) => (before ? ms < v : ms > v));
      };
    }
    case 'semver_eq':
    case 'semver_lt':
    case 'semver_gt': {
      const versions = strings.map(parseSemver).filter((v): v is SemVer => v !== undefined);
      if (versions.length === 0) return NEVER;
      const want = clause.op === 'semver_eq' ? 0 : clause.op === 'semver_lt' ? -1 : 1;
      return (a) => {
        if (typeof a !== 'string') return false;
        const version = parseSemver(a);
        if (version === undefined) return false;
        return versions.some((v) => Math.sign(compareSemver(version, v)) === want);
      };
    }
    default:
      return NEVER;
  }
}

/** RFC 3339 date-time (a `T` or space between date and time; `Z` or an offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A date as ms since the epoch: a finite number as is, an RFC 3339 string parsed; otherwise undefined. */
export function toDateMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !RFC3339.test(value)) return undefined;
  const ms = Date.parse(value.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : undefined;
}
