/** Pure comparison of two rulesets of one app: flags added, removed and changed (with the fields). */
import type { WireFlag } from '../ruleset/types';
import { WIRE_FIELD_ORDER } from './fields';

export interface FieldChange {
  /** The wire field (snake_case). */
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface FlagChange {
  readonly id: number;
  /** The title after the change (a rename shows as a change of `title`). */
  readonly title: string;
  readonly before: WireFlag;
  readonly after: WireFlag;
  /** Fields whose values differ, in wire order, then unknown fields by name. */
  readonly fields: readonly FieldChange[];
}

export interface RulesetDiff {
  /** Flags whose id is only in the new ruleset, in its order. */
  readonly added: readonly WireFlag[];
  /** Flags whose id is only in the old ruleset, in its order. */
  readonly removed: readonly WireFlag[];
  /** Flags in both whose fields differ, in the new ruleset's order. */
  readonly changed: readonly FlagChange[];
}

export interface DiffOptions {
  /** Fields not compared, e.g. `['updated_at']` to hide timestamp-only changes. */
  readonly ignoreFields?: readonly string[];
}

/**
 * Compares two rulesets of one app. Flags are matched by id, which never changes (a title can);
 * values are compared deeply, so unknown extra fields holding objects compare by content.
 */
export function diffRulesets(
  before: readonly WireFlag[],
  after: readonly WireFlag[],
  options: DiffOptions = {},
): RulesetDiff {
  const ignore = new Set(options.ignoreFields ?? []);
  const oldById = new Map<number, WireFlag>();
  for (const flag of before) if (!oldById.has(flag.id)) oldById.set(flag.id, flag);
  const newIds = new Set(after.map((flag) => flag.id));

  const added: WireFlag[] = [];
  const changed: FlagChange[] = [];
  const seen = new Set<number>();
  for (const flag of after) {
    if (seen.has(flag.id)) continue;
    seen.add(flag.id);
    const old = oldById.get(flag.id);
    if (old === undefined) {
      added.push(flag);
      continue;
    }
    const fields = diffFlag(old, flag, ignore);
    if (fields.length > 0) changed.push({ id: flag.id, title: flag.title, before: old, after: flag, fields });
  }
  const removedIds = new Set<number>();
  const removed = before.filter((flag) => {
    if (newIds.has(flag.id) || removedIds.has(flag.id)) return false;
    removedIds.add(flag.id);
    return true;
  });
  return { added, removed, changed };
}

/** Whether a diff holds no change at all. */
export function isEmptyDiff(diff: RulesetDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/** The fields of two versions of one flag that differ. */
export function diffFlag(before: WireFlag, after: WireFlag, ignore: ReadonlySet<string> = new Set()): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of orderedFields(before, after)) {
    if (ignore.has(field)) continue;
    const a = before[field];
    const b = after[field];
    if (!deepEqual(a, b)) changes.push({ field, before: a, after: b });
  }
  return changes;
}

/** Structural equality of JSON-like values (key order of objects does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const otherKeys = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return (
    keys.length === otherKeys.length &&
    keys.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k]))
  );
}

function orderedFields(a: WireFlag, b: WireFlag): string[] {
  const known = new Set(WIRE_FIELD_ORDER);
  const extras = new Set<string>();
  for (const key of [...Object.keys(a), ...Object.keys(b)]) if (!known.has(key)) extras.add(key);
  return [...WIRE_FIELD_ORDER, ...[...extras].sort()];
}
