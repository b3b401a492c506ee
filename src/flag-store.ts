import { compileFlag, type CompiledFlag } from './evaluation/evaluator';
import { toWire } from './ruleset/parse';
import type { Flag, Ruleset } from './ruleset/types';

/**
 * The current ruleset of one app, compiled for evaluation. Replaced whole on every update;
 * readers always see either the old or the new ruleset, never a mix.
 */
export class FlagStore {
  private byTitle: ReadonlyMap<string, CompiledFlag> = new Map();
  private ruleset: Ruleset = Object.freeze([]);
  private loaded = false;
  private readonly fingerprints = new WeakMap<Flag, string>();

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

  /** Replaces the ruleset; returns the titles of flags added, removed or changed. */
  replace(flags: readonly Flag[]): string[] {
    const previous = this.byTitle;
    const next = new Map<string, CompiledFlag>();
    for (const flag of flags) next.set(flag.title, compileFlag(flag));
    const changed: string[] = [];
    if (!this.loaded) {
      changed.push(...next.keys());
    } else {
      for (const [title, compiled] of next) {
        const before = previous.get(title);
        if (!before || this.fingerprint(before.flag) !== this.fingerprint(compiled.flag)) changed.push(title);
      }
      for (const title of previous.keys()) if (!next.has(title)) changed.push(title);
    }
    this.byTitle = next;
    this.ruleset = Object.freeze([...flags]);
    this.loaded = true;
    return changed;
  }

  private fingerprint(flag: Flag): string {
    let value = this.fingerprints.get(flag);
    if (value === undefined) {
      value = JSON.stringify(toWire(flag));
      this.fingerprints.set(flag, value);
    }
    return value;
  }
}
