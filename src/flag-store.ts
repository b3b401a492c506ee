import { compileFlag, type CompiledFlag } from './evaluation/evaluator';
import type { Flag, Ruleset } from './ruleset/types';

/**
 * The current ruleset of one app, compiled for evaluation. Replaced whole on every update;
 * readers always see either the old or the new ruleset, never a mix.
 */
export class FlagStore {
  private byTitle: ReadonlyMap<string, CompiledFlag> = new Map();
  private ruleset: Ruleset = Object.freeze([]);
  private loaded = false;

  /** Whether any ruleset has been loaded. */
  get hasRuleset(): boolean {
    return this.loaded;
  }

  get(title: string): CompiledFlag | undefined {
    return this.byTitle.get(title);
  }

  /** The current flags, frozen, in the order they arrived. */
  all(): Ruleset {
    return this.ruleset;
  }

  /**
   * Replaces the ruleset; returns the titles of flags added, removed or changed. Flags that did not
   * change keep their compiled form (and object), so an update costs only what it changed.
   */
  replace(flags: readonly Flag[]): string[] {
    const previous = this.byTitle;
    const next = new Map<string, CompiledFlag>();
    const changed: string[] = [];
    for (const flag of flags) {
      const before = previous.get(flag.title);
      if (before !== undefined && sameFlag(before.flag, flag)) {
        next.set(flag.title, before);
      } else {
        next.set(flag.title, compileFlag(flag));
        changed.push(flag.title);
      }
    }
    for (const title of previous.keys()) if (!next.has(title)) changed.push(title);
    this.byTitle = next;
    this.ruleset = Object.freeze([...next.values()].map((compiled) => compiled.flag));
    this.loaded = true;
    return changed;
  }
}

/** Every field of a flag compared with `===` (the whitelist and unknown fields are compared apart). */
const SCALAR_FIELDS = [
  'id',
  'appId',
  'title',
  'description',
  'isActive',
  'rolloutPercentage',
  'errorThresholdPercentage',
  'circuitStatus',
  'isRecoverable',
  'circuitRecoveryPercentage',
  'circuitRecoveryDelay',
  'circuitInitialRecoveryPercentage',
  'circuitRecoveryRate',
  'circuitRecoveryIncrementPercentage',
  'circuitRecoveryProfile',
  'webhooks',
  'createdAt',
  'updatedAt',
] as const satisfies readonly Exclude<keyof Flag, 'whiteListedUsers' | 'extra'>[];

/** Whether two validated flags are the same in every wire field. Allocates nothing in the common case. */
export function sameFlag(a: Flag, b: Flag): boolean {
  for (const field of SCALAR_FIELDS) if (a[field] !== b[field]) return false;
  const wa = a.whiteListedUsers;
  const wb = b.whiteListedUsers;
  if (wa.length !== wb.length) return false;
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  const extraA = Object.keys(a.extra).length;
  if (extraA === 0 && Object.keys(b.extra).length === 0) return true;
  return JSON.stringify(a.extra) === JSON.stringify(b.extra);
}
