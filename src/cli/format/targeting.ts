/** How the targeting of a flag (variations, targets, rules, splits) and invalid flags are printed. Pure. */
import type { InvalidFlag } from '../../admin/read';
import { TARGETING_FIELDS } from '../../ruleset/targeting';
import { isRecord } from '../../util/guards';

/** `invalid: field "title": must be a non-empty string, got ""` (every issue of the flag). */
export function invalidReason(flag: InvalidFlag): string {
  const issues = flag.issues.map((issue) =>
    issue.field === undefined ? issue.message : `field "${issue.field}": ${issue.message}`,
  );
  return `invalid: ${issues.join('; ') || 'fails validation'}`;
}

/** `flag #2 "" (id 3): invalid: …`, for warnings. */
export function invalidLine(flag: InvalidFlag): string {
  const title = flag.title === undefined ? '(no title)' : JSON.stringify(flag.title);
  return `flag #${flag.index} ${title}${flag.id === undefined ? '' : ` (id ${flag.id})`}: ${invalidReason(flag)}`;
}

/** Whether a flag carries any field of the targeting extension. */
export function hasTargetingFields(flag: Readonly<Record<string, unknown>>): boolean {
  return TARGETING_FIELDS.some((field) => flag[field] !== undefined && flag[field] !== null);
}

/** The variations a flag serves: its own, or the implicit `[false, true]`. */
export function variationsOf(flag: Readonly<Record<string, unknown>>): unknown[] {
  return Array.isArray(flag.variations) ? (flag.variations as unknown[]) : [false, true];
}

/** `1 ("annual-first")`: an index with the value it stands for. */
export function variationLabel(flag: Readonly<Record<string, unknown>>, index: unknown): string {
  const values = variationsOf(flag);
  if (typeof index !== 'number' || index < 0 || index >= values.length) return JSON.stringify(index);
  return `${index} (${JSON.stringify(values[index])})`;
}

/** A serve in words: `1 ("annual-first")` or `split by key: 0 ("control") 50 %, 1 (…) 50 %`. */
export function serveText(flag: Readonly<Record<string, unknown>>, serve: unknown): string {
  if (!isRecord(serve)) return JSON.stringify(serve);
  if (serve.variation !== undefined) return variationLabel(flag, serve.variation);
  if (Array.isArray(serve.split)) {
    const by = typeof serve.bucket_by === 'string' ? serve.bucket_by : 'key';
    const parts = serve.split.map((entry: unknown) =>
      isRecord(entry)
        ? `${variationLabel(flag, entry.variation)} ${typeof entry.weight === 'number' ? `${entry.weight / 1000} %` : JSON.stringify(entry.weight)}`
        : JSON.stringify(entry),
    );
    return `split by ${by}: ${parts.join(', ')}`;
  }
  return JSON.stringify(serve);
}

/** `country in ["NL","BE"]`, `email not ends_with ["@example.com"]`. */
export function clauseText(clause: unknown): string {
  if (!isRecord(clause)) return JSON.stringify(clause);
  const not = clause.negate === true ? 'not ' : '';
  return `${String(clause.attribute)} ${not}${String(clause.op)} ${JSON.stringify(clause.values)}`;
}

/** The targeting of a flag, readably, one item a line; [] for a plain boolean flag. */
export function targetingLines(flag: Readonly<Record<string, unknown>>): string[] {
  if (!hasTargetingFields(flag)) return [];
  const lines: string[] = ['targeting:'];
  const values = variationsOf(flag);
  lines.push(`  variations:${Array.isArray(flag.variations) ? '' : ' (implicit booleans)'}`);
  values.forEach((value, i) => lines.push(`    ${i}: ${JSON.stringify(value)}`));
  lines.push(`  off variation: ${variationLabel(flag, flag.off_variation ?? 0)}`);
  const targets = Array.isArray(flag.targets) ? (flag.targets as unknown[]) : [];
  if (targets.length > 0) {
    lines.push('  targets:');
    for (const target of targets) {
      if (!isRecord(target)) lines.push(`    ${JSON.stringify(target)}`);
      else {
        const keys = Array.isArray(target.values)
          ? target.values.map(String).join(', ')
          : JSON.stringify(target.values);
        lines.push(`    ${variationLabel(flag, target.variation)} ← ${keys}`);
      }
    }
  }
  const rules = Array.isArray(flag.rules) ? (flag.rules as unknown[]) : [];
  if (rules.length > 0) {
    lines.push('  rules (first match serves):');
    rules.forEach((rule, i) => {
      if (!isRecord(rule)) {
        lines.push(`    [${i}] ${JSON.stringify(rule)}`);
        return;
      }
      const clauses = Array.isArray(rule.clauses) ? rule.clauses.map(clauseText).join(' and ') : '';
      lines.push(`    [${i}] ${JSON.stringify(rule.id)}: if ${clauses}`);
      lines.push(`        serve ${serveText(flag, rule.serve)}`);
    });
  }
  lines.push(`  fallthrough: ${serveText(flag, flag.fallthrough ?? { variation: 1 })}`);
  return lines;
}

/** A compact summary for tables: `3 variations, 1 target, 2 rules, split`; '' for a boolean flag. */
export function targetingSummary(flag: Readonly<Record<string, unknown>>): string {
  if (!hasTargetingFields(flag)) return '';
  const parts: string[] = [];
  if (Array.isArray(flag.variations)) parts.push(`${flag.variations.length} variations`);
  const targets = Array.isArray(flag.targets) ? flag.targets.length : 0;
  if (targets > 0) parts.push(`${targets} target${targets === 1 ? '' : 's'}`);
  const rules = Array.isArray(flag.rules) ? flag.rules.length : 0;
  if (rules > 0) parts.push(`${rules} rule${rules === 1 ? '' : 's'}`);
  if (isRecord(flag.fallthrough) && flag.fallthrough.split !== undefined) parts.push('split');
  return parts.join(', ');
}

/** The wire fields `flags show` prints as targeting rather than as raw values. */
export const TARGETING_FIELD_SET: ReadonlySet<string> = new Set(TARGETING_FIELDS);
