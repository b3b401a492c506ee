/**
 * The demo's output when stdout is not a terminal (piped to a file, `| cat`, a CI log): a legend
 * once, then a short report every few seconds, one line per flag in aligned columns, and each
 * ruleset change and circuit-breaker transition on its own lines as it happens. A line per second
 * of every field (what this replaced) was 300 characters of `on=… err new=…` nobody could read.
 */
import type { RulesetUpdate } from '../../admin/watch';
import { clock, count, duration, ratio, width } from '../format/common';
import { flagState } from '../format/flags';
import type { Frame } from './frame';
import type { PathCounts } from './service';

/** A report every this many ticks (one tick a second), over the requests of those ticks. */
export const REPORT_EVERY_TICKS = 5;

/** Lines are kept to this many characters (a report line is cut, a change is wrapped). */
export const LINE_COLUMNS = 120;

/**
 * Fields left out of a change line: the breaker's timestamps change with every transition and
 * say nothing the line's own time does not.
 */
const TIMESTAMP_FIELDS = new Set(['circuit_changed_at', 'circuit_recovery_changed_at']);

/** What the columns of a report are, printed once. */
export function legendLines(reportEveryMs: number): string[] {
  const every = duration(reportEveryMs);
  return [
    `Every ${every}, one line per flag: its setting, requests per second, and the share of requests that failed`,
    `on its new path (the flag on for that user) and on the old path, over those ${every}.`,
    'Ruleset changes and circuit-breaker transitions print as they happen.',
  ];
}

function failed(failures: number, total: number): string {
  return total === 0 ? '-' : ratio(failures / total);
}

function perSecond(c: PathCounts, windowMs: number): string {
  return `${(((c.on + c.off) * 1000) / Math.max(1, windowMs)).toFixed(0)} req/s`;
}

/** The flag's state, with the recovery percentage while the circuit breaker ramps it back. */
function setting(row: Frame['rows'][number]): string {
  const flag = row.flag;
  if (flag === undefined) return 'not in the ruleset';
  const state = flagState(flag);
  return flag.circuit_status === 'recovery' ? `${state} at ${flag.circuit_recovery_percentage} %` : state;
}

/** One report: a line saying when and over what, then a line per flag. */
export function reportLines(frame: Frame, now: Date | number): string[] {
  const requests = frame.rows.reduce((sum, row) => sum + row.recent.on + row.recent.off, 0);
  const done = duration(Math.round(frame.elapsedMs / 1000) * 1000);
  const of = frame.durationMs === undefined ? '' : ` of ${duration(frame.durationMs)}`;
  const head =
    `${clock(now)} after ${done}${of}: ${count(requests)} requests in the last ${duration(frame.windowMs)}` +
    ` (ruleset #${frame.sequence ?? '?'})`;
  const cells = frame.rows.map((row) => [
    row.title,
    setting(row),
    perSecond(row.recent, frame.windowMs),
    `failed: new ${failed(row.recent.onFailures, row.recent.on)}, old ${failed(row.recent.offFailures, row.recent.off)}`,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...cells.map((c) => width(c[i] ?? ''))));
  const pad = (text: string, i: number): string => text + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(text)));
  const rows = cells.map(
    ([title = '', state = '', rate = '', failures = '']) =>
      `  ${pad(title, 0)}  ${pad(state, 1)}  ${' '.repeat(Math.max(0, (widths[2] ?? 0) - width(rate)))}${rate}  ${failures}`,
  );
  return [head, ...rows].map(cut);
}

/** A ruleset update without the breaker's timestamp fields, for `watchLines`. */
export function quietUpdate(update: RulesetUpdate): RulesetUpdate {
  const changed = update.diff.changed
    .map((change) => ({ ...change, fields: change.fields.filter((f) => !TIMESTAMP_FIELDS.has(f.field)) }))
    .filter((change) => change.fields.length > 0);
  return { ...update, diff: { ...update.diff, changed } };
}

/** A line with the time in front, wrapped after a comma when it is too long, continued indented. */
export function timedLines(text: string, now: Date | number): string[] {
  return wrap(`${clock(now)} ${text}`);
}

/** Wraps a line after ", " to at most `LINE_COLUMNS` characters; continuations are indented. */
export function wrap(line: string): string[] {
  const out: string[] = [];
  let rest = line;
  const indent = '    ';
  while (width(rest) > LINE_COLUMNS) {
    const cutAt = rest.lastIndexOf(', ', LINE_COLUMNS - 1);
    if (cutAt <= indent.length) break; // no comma to break at: left long rather than cut mid-word
    out.push(rest.slice(0, cutAt + 1));
    rest = indent + rest.slice(cutAt + 2);
  }
  out.push(rest);
  return out;
}

function cut(line: string): string {
  if (width(line) <= LINE_COLUMNS) return line;
  return `${[...line].slice(0, LINE_COLUMNS - 1).join('')}…`;
}
