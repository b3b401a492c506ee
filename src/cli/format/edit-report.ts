/** How the outcome of a flag edit is printed: what changed, before → after, and the new ruleset. */
import { diffFlag, type FieldChange } from '../../admin/diff';
import type { EditOutcome } from '../../admin/writer';
import type { WireFlag } from '../../ruleset/types';
import { fieldChange, flagName, flagState } from './flags';
import type { Output } from './output';

const IGNORED = new Set(['updated_at']);

export interface EditReport {
  appId: number;
  action: string;
  published: boolean;
  sequence: number | null;
  subject: string;
  attempts: number;
  flag: WireFlag | null;
  changes: FieldChange[];
}

/**
 * `before` is the flag as read just before the edit (undefined for a create); the outcome holds
 * it after. `verb` says what was done: `updated`, `deleted`, `created`.
 */
export function editReport(action: string, before: WireFlag | undefined, outcome: EditOutcome): EditReport {
  const after = outcome.flag;
  const changes =
    before !== undefined && after !== undefined && action !== 'deleted' ? diffFlag(before, after, IGNORED) : [];
  return {
    appId: outcome.appId,
    action,
    published: outcome.published,
    sequence: outcome.sequence ?? null,
    subject: outcome.subject,
    attempts: outcome.attempts,
    flag: after ?? before ?? null,
    changes,
  };
}

export function editLines(report: EditReport): string[] {
  const flag = report.flag;
  const name = flag === null ? 'the ruleset' : flagName(flag);
  if (!report.published) {
    return [
      `${name} in app ${report.appId} is already like that: nothing published (ruleset #${report.sequence ?? '?'} stays)`,
    ];
  }
  const where = report.action === 'deleted' ? 'from' : 'in';
  const retried = report.attempts > 1 ? ` after ${report.attempts} attempts (other writers got in first)` : '';
  const lines = [
    `${report.action} ${name} ${where} app ${report.appId}: ruleset #${report.sequence ?? '?'} on ${report.subject}${retried}`,
  ];
  if (report.action === 'created' && flag !== null) lines.push(`  ${flagState(flag)}`);
  for (const change of report.changes) lines.push(`  ${fieldChange(change)}`);
  return lines;
}

export function printEdit(out: Output, report: EditReport): void {
  out.result(report, () => editLines(report));
}
