/** How `tailslide watch` prints an update of a ruleset. Pure. */
import type { RulesetUpdate } from '../../admin/watch';
import type { WireFlag } from '../../ruleset/types';
import { formatFlagIssue } from '../../errors';
import { clock } from './common';
import { diffData, diffLines } from './flags';

const MAX_TITLES = 10;

/** One line per change, each prefixed with the time, the sequence and the subject's kind. */
export function watchLines(update: RulesetUpdate): string[] {
  const kind = update.subject.split('.').pop() ?? update.subject;
  const prefix = `${clock(update.time)} #${update.sequence} ${kind}`;
  if (update.flags === undefined) {
    return [`${prefix}  invalid ruleset, SDKs keep the previous one: ${update.error?.message ?? 'unknown problem'}`];
  }
  const left = update.invalidFlags.map((issue) => `${prefix}  ! left out by SDKs: ${formatFlagIssue(issue)}`);
  return [...rulesetLines(update, update.flags, prefix), ...left];
}

function rulesetLines(update: RulesetUpdate, flags: readonly WireFlag[], prefix: string): string[] {
  if (update.initial) {
    const titles = flags.map((f) => f.title);
    const shown = titles
      .slice(0, MAX_TITLES)
      .map((t) => JSON.stringify(t))
      .join(', ');
    const more = titles.length > MAX_TITLES ? `, … ${titles.length - MAX_TITLES} more` : '';
    return [
      `${prefix}  current ruleset: ${titles.length} flag${titles.length === 1 ? '' : 's'}${titles.length > 0 ? `: ${shown}${more}` : ''}`,
    ];
  }
  const lines = diffLines(update.diff);
  if (lines.length === 0) return [`${prefix}  republished, no flag changed (${flags.length} flags)`];
  return lines.map((line) => `${prefix}  ${line}`);
}

/** An update as one JSON record (`--json`). */
export function watchRecord(update: RulesetUpdate): Record<string, unknown> {
  return {
    appId: update.appId,
    sequence: update.sequence,
    subject: update.subject,
    time: update.time.toISOString(),
    initial: update.initial,
    valid: update.flags !== undefined,
    flags: update.flags?.length ?? null,
    diff: diffData(update.diff),
    error: update.error?.message ?? null,
    invalidFlags: update.invalidFlags.map(formatFlagIssue),
  };
}
