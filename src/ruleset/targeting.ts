/**
 * The targeting extension of a flag (docs/targeting.md): variations, individual targets, rules on
 * context attributes and weighted splits. All fields are optional; a flag with none of them is a
 * plain boolean flag and has no `targeting` at all.
 *
 * This module validates the wire fields into a frozen `Targeting`, and writes them back. It is pure:
 * no I/O, and a pattern is compiled here only to check that it compiles (the evaluator compiles it
 * once per ruleset for use).
 */
import { describeValue } from '../errors';
import { isRecord } from '../util/guards';

/** Any JSON value a variation can serve. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A value a clause compares with: a JSON scalar. */
export type ClauseValue = string | number | boolean | null;

export const CLAUSE_OPS = [
  'in',
  'contains',
  'starts_with',
  'ends_with',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'before',
  'after',
  'semver_eq',
  'semver_lt',
  'semver_gt',
] as const;
export type ClauseOp = (typeof CLAUSE_OPS)[number];

export interface Clause {
  readonly attribute: string;
  readonly op: ClauseOp;
  readonly values: readonly ClauseValue[];
  readonly negate: boolean;
}

export interface SplitEntry {
  readonly variation: number;
  /** Thousandths of a percent; a split's weights sum to 100000. */
  readonly weight: number;
}

/** What a rule, or the fallthrough, serves: one variation, or a weighted split. */
export type Serve =
  | { readonly variation: number }
  | {
      readonly split: readonly SplitEntry[];
      /** The attribute hashed for the split (default `key`). */ readonly bucketBy: string;
    };

export interface Rule {
  readonly id: string;
  readonly clauses: readonly Clause[];
  readonly serve: Serve;
}

export interface Target {
  readonly variation: number;
  readonly values: readonly string[];
}

/** A flag's targeting, with the implicit values filled in. */
export interface Targeting {
  /** The values the flag serves; `[false, true]` when the flag names none. */
  readonly variations: readonly JsonValue[];
  /** Whether the flag names its own `variations` (a typed flag) or uses the implicit booleans. */
  readonly explicitVariations: boolean;
  readonly offVariation: number;
  readonly targets: readonly Target[];
  readonly rules: readonly Rule[];
  readonly fallthrough: Serve;
}

/** The wire fields of the extension (snake_case), in the order they are written back. */
export const TARGETING_FIELDS = ['variations', 'off_variation', 'targets', 'rules', 'fallthrough'] as const;

export const LIMITS = {
  minVariations: 2,
  maxVariations: 64,
  maxRules: 100,
  maxClauses: 20,
  maxClauseValues: 1000,
  maxPatternLength: 256,
  totalWeight: 100_000,
} as const;

const IMPLICIT_VARIATIONS: readonly JsonValue[] = Object.freeze([false, true]);
const IMPLICIT_OFF = 0;
const IMPLICIT_FALLTHROUGH: Serve = Object.freeze({ variation: 1 });
const OPS = new Set<string>(CLAUSE_OPS);

/** Reports one problem with a wire field (`rules[0].clauses[1].op`, …). */
export type ReportIssue = (field: string, message: string) => void;

/** Whether a raw flag carries any field of the extension. */
export function hasTargeting(raw: Readonly<Record<string, unknown>>): boolean {
  return TARGETING_FIELDS.some((field) => raw[field] !== undefined && raw[field] !== null);
}

/**
 * Validates the extension fields of one raw flag. Returns undefined when the flag has none of them
 * or when any is invalid (each problem is reported; `report` was called at least once then).
 */
export function parseTargeting(raw: Readonly<Record<string, unknown>>, report: ReportIssue): Targeting | undefined {
  if (!hasTargeting(raw)) return undefined;
  let ok = true;
  const issue: ReportIssue = (field, message) => {
    ok = false;
    report(field, message);
  };

  const explicitVariations = raw.variations !== undefined && raw.variations !== null;
  const variations = explicitVariations ? readVariations(raw.variations, issue) : IMPLICIT_VARIATIONS;
  const count = variations.length;
  const index = (field: string, value: unknown): number => readIndex(field, value, count, issue);

  let offVariation = IMPLICIT_OFF;
  if (raw.off_variation !== undefined && raw.off_variation !== null)
    offVariation = index('off_variation', raw.off_variation);
  else if (explicitVariations) issue('off_variation', 'is required with "variations"');

  let fallthrough = IMPLICIT_FALLTHROUGH;
  if (raw.fallthrough !== undefined && raw.fallthrough !== null)
    fallthrough = readServe('fallthrough', raw.fallthrough, index, issue);
  else if (explicitVariations) issue('fallthrough', 'is required with "variations"');

  const targets = raw.targets === undefined || raw.targets === null ? [] : readTargets(raw.targets, index, issue);
  const rules = raw.rules === undefined || raw.rules === null ? [] : readRules(raw.rules, index, issue);
  if (!ok) return undefined;
  return Object.freeze({
    variations,
    explicitVariations,
    offVariation,
    targets: Object.freeze(targets),
    rules: Object.freeze(rules),
    fallthrough,
  });
}

/** The extension back on the wire (snake_case), for `toWire`: only the fields the flag names. */
export function targetingToWire(targeting: Targeting): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  if (targeting.explicitVariations) {
    wire.variations = targeting.variations;
    wire.off_variation = targeting.offVariation;
  } else if (targeting.offVariation !== IMPLICIT_OFF) {
    wire.off_variation = targeting.offVariation;
  }
  if (targeting.targets.length > 0)
    wire.targets = targeting.targets.map((t) => ({ variation: t.variation, values: t.values }));
  if (targeting.rules.length > 0) {
    wire.rules = targeting.rules.map((rule) => ({
      id: rule.id,
      clauses: rule.clauses.map((c) => ({
        attribute: c.attribute,
        op: c.op,
        values: c.values,
        ...(c.negate ? { negate: true } : {}),
      })),
      serve: serveToWire(rule.serve),
    }));
  }
  if (targeting.explicitVariations || targeting.fallthrough !== IMPLICIT_FALLTHROUGH) {
    wire.fallthrough = serveToWire(targeting.fallthrough);
  }
  return wire;
}

function serveToWire(serve: Serve): Record<string, unknown> {
  if ('variation' in serve) return { variation: serve.variation };
  return {
    split: serve.split.map((entry) => ({ variation: entry.variation, weight: entry.weight })),
    ...(serve.bucketBy === 'key' ? {} : { bucket_by: serve.bucketBy }),
  };
}

/**
 * Why a pattern is outside the subset common to ECMAScript and RE2, or undefined when it is inside:
 * no backreferences, no lookaround, at most 256 characters, and it compiles.
 */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > LIMITS.maxPatternLength) {
    return `is ${pattern.length} characters long; a pattern has at most ${LIMITS.maxPatternLength}`;
  }
  if (/\\[1-9]|\\k</.test(stripEscapedBackslashes(pattern))) return 'uses a backreference, which RE2 does not support';
  if (/\(\?<?[=!]/.test(stripEscapedBackslashes(pattern))) return 'uses lookaround, which RE2 does not support';
  try {
    new RegExp(pattern);
  } catch (err) {
    return `does not compile: ${(err as Error).message}`;
  }
  return undefined;
}

/** `\\` (an escaped backslash) removed, so that `\\1` is not taken for a backreference. */
function stripEscapedBackslashes(pattern: string): string {
  return pattern.replace(/\\\\/g, '');
}

function readVariations(value: unknown, issue: ReportIssue): readonly JsonValue[] {
  if (!Array.isArray(value)) {
    issue(
      'variations',
      `must be an array of ${LIMITS.minVariations}–${LIMITS.maxVariations} JSON values, got ${describeValue(value)}`,
    );
    return IMPLICIT_VARIATIONS;
  }
  if (value.length < LIMITS.minVariations || value.length > LIMITS.maxVariations) {
    issue('variations', `must hold ${LIMITS.minVariations}–${LIMITS.maxVariations} values, got ${value.length}`);
  }
  value.forEach((variation: unknown, i) => {
    const problem = jsonProblem(variation, 0);
    if (problem !== undefined) issue(`variations[${i}]`, problem);
  });
  // A frozen copy: the caller's objects are neither frozen nor shared with what the flag serves.
  return Object.freeze(value.map((v: unknown) => deepFreeze(JSON.parse(JSON.stringify(v) ?? 'null') as JsonValue)));
}

function readIndex(field: string, value: unknown, count: number, issue: ReportIssue): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value >= count) {
    issue(field, `must be a variation index from 0 to ${count - 1}, got ${describeValue(value)}`);
    return 0;
  }
  return value;
}

function readServe(
  field: string,
  value: unknown,
  index: (field: string, value: unknown) => number,
  issue: ReportIssue,
): Serve {
  if (!isRecord(value)) {
    issue(field, `must be {"variation": i} or {"split": [...]}, got ${describeValue(value)}`);
    return IMPLICIT_FALLTHROUGH;
  }
  const hasVariation = value.variation !== undefined;
  const hasSplit = value.split !== undefined;
  if (hasVariation === hasSplit) {
    issue(field, 'must have exactly one of "variation" and "split"');
    return IMPLICIT_FALLTHROUGH;
  }
  if (hasVariation) return Object.freeze({ variation: index(`${field}.variation`, value.variation) });

  let bucketBy = 'key';
  if (value.bucket_by !== undefined && value.bucket_by !== null) {
    if (typeof value.bucket_by !== 'string' || value.bucket_by === '') {
      issue(`${field}.bucket_by`, `must be a non-empty attribute name, got ${describeValue(value.bucket_by)}`);
    } else bucketBy = value.bucket_by;
  }
  if (!Array.isArray(value.split) || value.split.length === 0) {
    issue(`${field}.split`, `must be a non-empty array of {"variation", "weight"}, got ${describeValue(value.split)}`);
    return IMPLICIT_FALLTHROUGH;
  }
  let total = 0;
  const split = value.split.map((entry: unknown, i): SplitEntry => {
    const at = `${field}.split[${i}]`;
    if (!isRecord(entry)) {
      issue(at, `must be {"variation": i, "weight": w}, got ${describeValue(entry)}`);
      return { variation: 0, weight: 0 };
    }
    const variation = index(`${at}.variation`, entry.variation);
    const weight = entry.weight;
    if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight < 0) {
      issue(`${at}.weight`, `must be a non-negative integer (thousandths of a percent), got ${describeValue(weight)}`);
      return { variation, weight: 0 };
    }
    total += weight;
    return Object.freeze({ variation, weight });
  });
  if (total !== LIMITS.totalWeight) {
    issue(`${field}.split`, `weights must sum to ${LIMITS.totalWeight} (100 %), got ${total}`);
  }
  return Object.freeze({ split: Object.freeze(split), bucketBy });
}

function readTargets(value: unknown, index: (field: string, value: unknown) => number, issue: ReportIssue): Target[] {
  if (!Array.isArray(value)) {
    issue('targets', `must be an array of {"variation", "values"}, got ${describeValue(value)}`);
    return [];
  }
  const seen = new Map<string, number>();
  return value.map((target: unknown, i): Target => {
    const at = `targets[${i}]`;
    if (!isRecord(target)) {
      issue(at, `must be {"variation": i, "values": [...]}, got ${describeValue(target)}`);
      return { variation: 0, values: [] };
    }
    const variation = index(`${at}.variation`, target.variation);
    if (!Array.isArray(target.values) || !target.values.every((v) => typeof v === 'string')) {
      issue(`${at}.values`, `must be an array of context keys (strings), got ${describeValue(target.values)}`);
      return { variation, values: [] };
    }
    const values = target.values;
    for (const key of values) {
      const other = seen.get(key);
      if (other !== undefined && other !== i)
        issue(`${at}.values`, `key ${JSON.stringify(key)} is also in targets[${other}]`);
      seen.set(key, i);
    }
    return Object.freeze({ variation, values: Object.freeze([...values]) });
  });
}

function readRules(value: unknown, index: (field: string, value: unknown) => number, issue: ReportIssue): Rule[] {
  if (!Array.isArray(value)) {
    issue('rules', `must be an array of rules, got ${describeValue(value)}`);
    return [];
  }
  if (value.length > LIMITS.maxRules) issue('rules', `has ${value.length} rules; at most ${LIMITS.maxRules}`);
  const ids = new Map<string, number>();
  return value.map((rule: unknown, i): Rule => {
    const at = `rules[${i}]`;
    if (!isRecord(rule)) {
      issue(at, `must be {"id", "clauses", "serve"}, got ${describeValue(rule)}`);
      return { id: '', clauses: [], serve: IMPLICIT_FALLTHROUGH };
    }
    let id = '';
    if (typeof rule.id !== 'string' || rule.id === '') {
      issue(`${at}.id`, `must be a non-empty string, got ${describeValue(rule.id)}`);
    } else {
      id = rule.id;
      const other = ids.get(id);
      if (other !== undefined) issue(`${at}.id`, `${JSON.stringify(id)} is also the id of rules[${other}]`);
      ids.set(id, i);
    }
    const clauses = readClauses(`${at}.clauses`, rule.clauses, issue);
    const serve =
      rule.serve === undefined
        ? (issue(`${at}.serve`, 'is required'), IMPLICIT_FALLTHROUGH)
        : readServe(`${at}.serve`, rule.serve, index, issue);
    return Object.freeze({ id, clauses: Object.freeze(clauses), serve });
  });
}

function readClauses(field: string, value: unknown, issue: ReportIssue): Clause[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > LIMITS.maxClauses) {
    issue(field, `must be an array of 1–${LIMITS.maxClauses} clauses, got ${describeValue(value)}`);
    return [];
  }
  return value.map((clause: unknown, i): Clause => {
    const at = `${field}[${i}]`;
    const fallback: Clause = { attribute: '', op: 'in', values: [], negate: false };
    if (!isRecord(clause)) {
      issue(at, `must be {"attribute", "op", "values"}, got ${describeValue(clause)}`);
      return fallback;
    }
    const { attribute, op, values, negate } = clause;
    let ok = true;
    const bad = (sub: string, message: string): void => {
      ok = false;
      issue(`${at}.${sub}`, message);
    };
    if (typeof attribute !== 'string' || attribute === '')
      bad('attribute', `must be a non-empty string, got ${describeValue(attribute)}`);
    if (typeof op !== 'string' || !OPS.has(op))
      bad('op', `must be one of ${CLAUSE_OPS.join(', ')}; got ${describeValue(op)}`);
    if (negate !== undefined && negate !== null && typeof negate !== 'boolean')
      bad('negate', `must be true or false, got ${describeValue(negate)}`);
    if (!Array.isArray(values) || values.length < 1 || values.length > LIMITS.maxClauseValues) {
      bad('values', `must be an array of 1–${LIMITS.maxClauseValues} values, got ${describeValue(values)}`);
    } else {
      values.forEach((v: unknown, j) => {
        if (!isClauseValue(v))
          bad(`values[${j}]`, `must be a string, a finite number, true, false or null; got ${describeValue(v)}`);
        else if (op === 'matches') {
          const problem =
            typeof v === 'string' ? patternProblem(v) : `must be a pattern (a string), got ${describeValue(v)}`;
          if (problem !== undefined)
            bad(
              `values[${j}]`,
              `pattern ${typeof v === 'string' ? JSON.stringify(v) : ''} ${problem}`.replace('  ', ' '),
            );
        }
      });
    }
    if (!ok) return fallback;
    return Object.freeze({
      attribute: attribute as string,
      op: op as ClauseOp,
      values: Object.freeze([...(values as ClauseValue[])]),
      negate: negate === true,
    });
  });
}

function isClauseValue(value: unknown): value is ClauseValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** Why a value is not plain JSON (a finite number, string, boolean, null, array, object), or undefined. */
function jsonProblem(value: unknown, depth: number): string | undefined {
  if (depth > 32) return 'is nested more than 32 levels deep';
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `must be a finite number, got ${describeValue(value)}`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (isRecord(value)) {
    for (const key of Object.keys(value)) {
      const problem = jsonProblem(value[key], depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return `must be a JSON value, got ${describeValue(value)}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
