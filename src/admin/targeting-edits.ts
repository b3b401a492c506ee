/**
 * Edits of a flag's targeting (docs/targeting.md): variations with the off variation and the
 * fallthrough, individual targets, rules. Each is a pure `RulesetEdit` run through the guarded
 * read-modify-write; the flag is validated whole before anything is published, so an error names
 * the field down to the rule and clause (`rules[1].clauses[0].op`). Every other field is kept.
 */
import { describeValue } from '../errors';
import { TARGETING_FIELDS, type JsonValue } from '../ruleset/targeting';
import type { WireFlag } from '../ruleset/types';
import { modifyFlag, type RulesetEdit } from './edits';
import { InvalidFlagValueError, type FlagRef } from './errors';
import type { WireServe, WireTarget } from './fields';

/** What `setVariations` changes; a field left out stays as it is. */
export interface VariationsPatch {
  /** The values the flag serves (2–64 JSON values). */
  readonly variations?: readonly JsonValue[];
  /** Served when the flag is off or the user is outside the rollout. */
  readonly off_variation?: number;
  /** Served when no rule matches: a variation, or a weighted split. */
  readonly fallthrough?: WireServe;
}

export function setVariationsEdit(ref: FlagRef, patch: VariationsPatch): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => {
    const out: Record<string, unknown> = {};
    for (const field of ['variations', 'off_variation', 'fallthrough'] as const) {
      if (patch[field] !== undefined) out[field] = patch[field];
    }
    if (Object.keys(out).length === 0) {
      throw new InvalidFlagValueError(
        ctx.appId,
        flag.title,
        'variations',
        patch,
        'nothing to set: give variations, off_variation or fallthrough',
      );
    }
    return out;
  });
}

/** Removes every targeting field: the flag is a plain boolean flag again. */
export function clearTargetingEdit(ref: FlagRef): RulesetEdit {
  return modifyFlag(ref, () => Object.fromEntries(TARGETING_FIELDS.map((field) => [field, undefined])));
}

/** Changes to a flag's targets: keys to unpin, then keys to pin to a variation (in order). */
export interface TargetsChange {
  readonly remove?: readonly string[];
  readonly add?: readonly { readonly variation: number; readonly keys: readonly string[] }[];
}

/**
 * Unpins and pins context keys, as one edit. A key is in one target only: a key pinned elsewhere
 * moves. The target of a variation is extended (or added at the end); an emptied one is removed.
 */
export function changeTargetsEdit(ref: FlagRef, change: TargetsChange): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => {
    const remove = change.remove ?? [];
    const add = change.add ?? [];
    if (remove.length === 0 && add.length === 0) {
      throw new InvalidFlagValueError(
        ctx.appId,
        flag.title,
        'targets',
        change,
        'nothing to change: give keys to add or remove',
      );
    }
    let targets = currentTargets(flag);
    if (remove.length > 0) {
      const gone = new Set(checkKeys(ctx.appId, flag.title, remove));
      targets = targets.map((t) => ({ ...t, values: t.values.filter((key) => !gone.has(key)) }));
    }
    for (const { variation, keys } of add) {
      const pinned = checkKeys(ctx.appId, flag.title, keys);
      const moved = new Set(pinned);
      targets = targets.map((t) => ({ ...t, values: t.values.filter((key) => !moved.has(key)) }));
      const same = targets.find((t) => t.variation === variation);
      if (same) same.values = [...same.values, ...pinned];
      else targets.push({ variation, values: [...pinned] });
    }
    targets = targets.filter((t) => t.values.length > 0);
    return { targets: targets.length > 0 ? targets : undefined };
  });
}

/** Pins context keys to a variation (see changeTargetsEdit). */
export function addTargetsEdit(ref: FlagRef, variation: number, keys: readonly string[]): RulesetEdit {
  return changeTargetsEdit(ref, { add: [{ variation, keys }] });
}

/** Unpins context keys from whatever target holds them. */
export function removeTargetsEdit(ref: FlagRef, keys: readonly string[]): RulesetEdit {
  return changeTargetsEdit(ref, { remove: keys });
}

/** Replaces the flag's rules (a JSON array of rules); an empty array removes them. */
export function setRulesEdit(ref: FlagRef, rules: unknown): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => {
    if (!Array.isArray(rules)) {
      throw new InvalidFlagValueError(
        ctx.appId,
        flag.title,
        'rules',
        rules,
        `must be a JSON array of rules, got ${describeValue(rules)}`,
      );
    }
    return { rules: rules.length > 0 ? (JSON.parse(JSON.stringify(rules)) as unknown[]) : undefined };
  });
}

interface MutableTarget {
  variation: number;
  values: string[];
}

function currentTargets(flag: WireFlag): MutableTarget[] {
  const targets = flag.targets;
  if (!Array.isArray(targets)) return [];
  return (targets as WireTarget[]).map((t) => ({ ...t, values: [...t.values] }));
}

function checkKeys(appId: number, flag: string, keys: readonly string[]): string[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new InvalidFlagValueError(
      appId,
      flag,
      'targets',
      keys,
      `needs at least one context key, got ${describeValue(keys)}`,
    );
  }
  const out: string[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'string' || key === '') {
      throw new InvalidFlagValueError(
        appId,
        flag,
        'targets',
        key,
        `takes context keys (non-empty strings), got ${describeValue(key)}`,
      );
    }
    if (!out.includes(key)) out.push(key);
  }
  return out;
}
