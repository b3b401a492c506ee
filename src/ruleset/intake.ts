/**
 * The first step of every ruleset a source delivers: in sequence order (an older or equal
 * sequence is left out), decoded and validated flag by flag, and its flag problems reported once
 * per (flag, reason) (FlagIssueLog), the first MAX_FLAG_REPORTS one by one. Pure: what to log,
 * emit and apply is the manager's.
 */
import { InvalidFlagError, type TailslideError } from '../errors';
import { FlagIssueLog } from './issues';
import { parseRulesetPayloadLenient } from './parse';
import type { Flag } from './types';

/** Most flags left out of one ruleset that are reported one by one. */
export const MAX_FLAG_REPORTS = 20;

export type Intake =
  /** Not newer than the last one taken (`last`): left out. */
  | { readonly kind: 'old'; readonly last: number }
  /** Not a ruleset at all: the last good one stays. */
  | { readonly kind: 'invalid'; readonly error: TailslideError }
  /**
   * The usable flags; `reports`, the flags left out that were not reported before (at most
   * MAX_FLAG_REPORTS), and `unlisted`, how many more there are.
   */
  | {
      readonly kind: 'ruleset';
      readonly flags: readonly Flag[];
      readonly reports: readonly InvalidFlagError[];
      readonly unlisted: number;
    };

export class RulesetIntake {
  private last: number | undefined;
  private readonly issues = new FlagIssueLog();

  constructor(private readonly appId: number) {}

  /** The source starts over (a recreated stream): the next ruleset is taken whatever its sequence. */
  reset(): void {
    this.last = undefined;
  }

  /** `origin` names the message in errors: `apps.1.update.manual (sequence 7)`. */
  take(payload: unknown, sequence: number, origin: string): Intake {
    if (this.last !== undefined && sequence <= this.last) return { kind: 'old', last: this.last };
    this.last = sequence;
    const result = parseRulesetPayloadLenient(payload, origin, { appId: this.appId });
    if (!result.ok) return { kind: 'invalid', error: result.error };
    const fresh = this.issues.fresh(result.issues);
    return {
      kind: 'ruleset',
      flags: result.flags,
      reports: fresh.slice(0, MAX_FLAG_REPORTS).map((issue) => new InvalidFlagError(origin, issue)),
      unlisted: Math.max(0, fresh.length - MAX_FLAG_REPORTS),
    };
  }
}
