import type { RulesetIssue } from '../errors';

/**
 * Remembers the per-flag issues of the ruleset in force, so that each (flag, reason) is reported
 * once: when it first appears, not again with every later message that still carries it (Tower
 * republishes the whole app on every change). An issue that goes away and comes back is new again.
 */
export class FlagIssueLog {
  private current = new Set<string>();

  /** The issues of a newly applied ruleset that the previous one did not have, in order. */
  fresh(issues: readonly RulesetIssue[]): RulesetIssue[] {
    const next = new Set<string>();
    const fresh: RulesetIssue[] = [];
    for (const issue of issues) {
      const key = issueKey(issue);
      if (next.has(key)) continue;
      next.add(key);
      if (!this.current.has(key)) fresh.push(issue);
    }
    this.current = next;
    return fresh;
  }
}

/**
 * The flag (its id when it has a usable one, else its position) and the reason (field and message).
 * The id comes first because positions shift when flags are added in front.
 */
function issueKey(issue: RulesetIssue): string {
  const flag = issue.id !== undefined ? `id ${issue.id}` : `#${issue.index ?? '-'}`;
  return `${flag}\u0000${issue.field ?? ''}\u0000${issue.message}`;
}
