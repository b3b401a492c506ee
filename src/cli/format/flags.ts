/** How flags, edits and ruleset changes are printed. Pure. */
import type { FieldChange, FlagChange, RulesetDiff } from '../../admin/diff';
import { WIRE_FIELD_ORDER } from '../../admin/fields';
import { splitWhitelist } from '../../ruleset/parse';
import type { WireFlag } from '../../ruleset/types';
import type { InvalidFlag } from '../../admin/read';
import { formatValue, percentage, table } from './common';
import { TARGETING_FIELD_SET, invalidReason, targetingLines, targetingSummary } from './targeting';

/** `on, 50 %`, `off`, `on, 20 % + 3 listed`, with the circuit when it is not closed. */
export function flagState(flag: WireFlag): string {
  const listed = splitWhitelist(flag.white_listed_users).length;
  const parts = [flag.is_active ? `on, ${percentage(flag.rollout_percentage)}` : 'off'];
  if (flag.is_active && listed > 0) parts[0] += ` + ${listed} listed`;
  // An active flag with an "open" circuit is served (is_active decides, as in Tailslide's SDKs):
  // say that the field says open rather than that the circuit is.
  if (flag.circuit_status === 'open' && flag.is_active) return `${parts.join(', ')}; circuit field says open`;
  if (flag.circuit_status !== 'close') parts.push(`circuit ${flag.circuit_status}`);
  return parts.join(', ');
}

/**
 * The flags as a table; `invalid` flags (kept verbatim, see FlagAdmin.readRuleset) appear in their
 * positions with why they are invalid. A TARGETING column appears when a flag uses targeting.
 */
export function flagsTable(flags: readonly WireFlag[], invalid: readonly InvalidFlag[] = []): string[] {
  const withTargeting = flags.some((flag) => targetingSummary(flag) !== '');
  const validRows = flags.map((flag) => [
    String(flag.id),
    flag.title,
    flag.is_active ? 'on' : 'off',
    percentage(flag.rollout_percentage),
    String(splitWhitelist(flag.white_listed_users).length),
    flag.circuit_status,
    flag.error_threshold_percentage > 0 ? percentage(flag.error_threshold_percentage) : '-',
    flag.updated_at,
    ...(withTargeting ? [targetingSummary(flag) || '-'] : []),
  ]);
  const rows: string[][] = [];
  const byIndex = new Map(invalid.map((flag) => [flag.index, flag]));
  for (let i = 0, v = 0; i < flags.length + invalid.length; i++) {
    const bad = byIndex.get(i);
    if (bad === undefined) {
      const row = validRows[v++];
      if (row !== undefined) rows.push(row);
      continue;
    }
    rows.push([
      bad.id === undefined ? '-' : String(bad.id),
      `${bad.title === undefined || bad.title.trim() === '' ? JSON.stringify(bad.title ?? null) : bad.title} (${invalidReason(bad)})`,
      '-',
      '-',
      '-',
      '-',
      '-',
      typeof (bad.raw as { updated_at?: unknown } | null)?.updated_at === 'string'
        ? String((bad.raw as { updated_at: string }).updated_at)
        : '-',
      ...(withTargeting ? ['-'] : []),
    ]);
  }
  return table(
    [
      { header: 'ID', align: 'right' },
      { header: 'TITLE' },
      { header: 'ACTIVE' },
      { header: 'ROLLOUT', align: 'right' },
      { header: 'WHITELIST', align: 'right' },
      { header: 'CIRCUIT' },
      { header: 'THRESHOLD', align: 'right' },
      { header: 'UPDATED' },
      ...(withTargeting ? [{ header: 'TARGETING' }] : []),
    ],
    rows,
  );
}

/**
 * Every field of a flag, one per line, in wire order, then unknown fields by name; then the
 * targeting fields, readably (variations, targets, rules in order, fallthrough).
 */
export function flagDetail(flag: WireFlag): string[] {
  const known = new Set(WIRE_FIELD_ORDER);
  const fields = [
    ...WIRE_FIELD_ORDER,
    ...Object.keys(flag)
      .filter((k) => !known.has(k) && !TARGETING_FIELD_SET.has(k))
      .sort(),
  ];
  const rows = fields
    .filter((field) => flag[field] !== undefined)
    .map((field) => [`${field}:`, formatValue(flag[field])]);
  return [...table([{ header: '' }, { header: '' }], rows).slice(1), ...targetingLines(flag)];
}

/** `rollout_percentage: 50 → 20` */
export function fieldChange(change: FieldChange): string {
  return `${change.field}: ${formatValue(change.before)} → ${formatValue(change.after)}`;
}

/** `"checkout-v2" (id 1)` */
export function flagName(flag: { readonly title: string; readonly id: number }): string {
  return `${JSON.stringify(flag.title)} (id ${flag.id})`;
}

/** One line per flag added, removed or changed: `+ "x" (id 4)`, `- "y" (id 2)`, `~ "z" (id 1): a: 1 → 2, b: …`. */
export function diffLines(diff: RulesetDiff): string[] {
  return [
    ...diff.added.map((flag) => `+ ${flagName(flag)} added: ${flagState(flag)}`),
    ...diff.removed.map((flag) => `- ${flagName(flag)} removed`),
    ...diff.changed.map((change: FlagChange) => `~ ${flagName(change)}: ${change.fields.map(fieldChange).join(', ')}`),
  ];
}

/** A diff as JSON-friendly data (titles and field changes, not whole flags for changes). */
export function diffData(diff: RulesetDiff): {
  added: WireFlag[];
  removed: WireFlag[];
  changed: { id: number; title: string; fields: FieldChange[] }[];
} {
  return {
    added: [...diff.added],
    removed: [...diff.removed],
    changed: diff.changed.map((c) => ({ id: c.id, title: c.title, fields: [...c.fields] })),
  };
}
