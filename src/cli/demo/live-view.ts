/**
 * The demo's live view: one frame per second. On a terminal the frame is redrawn in place; when
 * stdout is not a terminal, a short report every few seconds (log-lines.ts); with --json each tick
 * is one JSON record.
 */
import type { RulesetUpdate } from '../../admin/watch';
import { count, duration, percentage, ratio, table, width } from '../format/common';
import { flagState } from '../format/flags';
import { watchLines, watchRecord } from '../format/watch';
import type { Output } from '../format/output';
import { legendLines, quietUpdate, REPORT_EVERY_TICKS, reportLines, timedLines, wrap } from './log-lines';
import type { Frame } from './frame';
import type { PathCounts } from './service';
import type { WireFlag } from '../../ruleset/types';
import type { FlagCounts } from '../../signals/reader';

export type { FlagRow, Frame } from './frame';

function rate(failures: number, total: number): number | undefined {
  return total === 0 ? undefined : failures / total;
}

function pct(value: number | undefined): string {
  return value === undefined ? '-' : ratio(value);
}

function onShare(c: PathCounts): number | undefined {
  return rate(c.on, c.on + c.off);
}

function perSecond(c: PathCounts, windowMs: number): number {
  return ((c.on + c.off) * 1000) / Math.max(1, windowMs);
}

/** The flag's state, with the recovery percentage while the circuit breaker ramps it back. */
function setting(flag: WireFlag): string {
  const state = flagState(flag);
  return flag.circuit_status === 'recovery' ? `${state} at ${percentage(flag.circuit_recovery_percentage)}` : state;
}

function redisCell(r: FlagCounts | undefined): string {
  if (r === undefined) return '-';
  if (r.total === 0) return 'no signals yet';
  return `${count(r.success)} ok, ${count(r.failure)} failed (${ratio(r.errorRate)})`;
}

function elapsed(frame: Frame): string {
  const done = duration(Math.floor(frame.elapsedMs / 1000) * 1000 || 0);
  return frame.durationMs === undefined ? done : `${done} of ${duration(frame.durationMs)}`;
}

/** The frame drawn on a terminal, each line cut to `columns`. */
export function frameLines(frame: Frame, columns = 120): string[] {
  const lines = [
    `tailslide demo · app ${frame.appId} · ruleset #${frame.sequence ?? '?'} · ${elapsed(frame)} · Ctrl-C to stop`,
    `NATS ${frame.nats} · Redis ${frame.redis} · signals ${frame.signals.backend}: ${count(frame.signals.written)} written, ${count(frame.signals.pending)} pending${frame.signals.dropped > 0 ? `, ${count(frame.signals.dropped)} dropped` : ''}`,
    '',
    ...table(
      [
        { header: 'FLAG' },
        { header: 'GUARDS' },
        { header: 'SETTING' },
        { header: 'ON SHARE', align: 'right' },
        { header: 'REQ/S', align: 'right' },
        { header: 'ERR NEW', align: 'right' },
        { header: 'ERR OLD', align: 'right' },
        { header: 'REDIS, LAST MINUTE, NEW PATH' },
      ],
      frame.rows.map((row) => [
        row.title,
        row.operation,
        row.flag === undefined ? 'not in the ruleset' : setting(row.flag),
        pct(onShare(row.recent)),
        perSecond(row.recent, frame.windowMs).toFixed(0),
        pct(rate(row.recent.onFailures, row.recent.on)),
        pct(rate(row.recent.offFailures, row.recent.off)),
        redisCell(row.redis),
      ]),
    ),
    '',
    `share, req/s and error rates over the last ${duration(frame.windowMs)}; ${count(frame.requests)} requests in all`,
  ];
  if (frame.status !== undefined) lines.push(`! ${frame.status}`);
  if (frame.changes.length > 0) lines.push('recent changes:', ...frame.changes.map((c) => `  ${c}`));
  return lines.map((line) => cut(line, columns));
}

/** One tick as a JSON record (`--json`). */
export function frameRecord(frame: Frame): Record<string, unknown> {
  return {
    event: 'tick',
    elapsedMs: frame.elapsedMs,
    sequence: frame.sequence ?? null,
    requests: frame.requests,
    signals: frame.signals,
    flags: frame.rows.map((row) => ({
      title: row.title,
      id: row.flag?.id ?? null,
      active: row.flag?.is_active ?? null,
      rollout: row.flag?.rollout_percentage ?? null,
      circuit: row.flag?.circuit_status ?? null,
      circuitRecovery: row.flag?.circuit_recovery_percentage ?? null,
      requests: row.recent.on + row.recent.off,
      onShare: onShare(row.recent) ?? null,
      errorRateOn: rate(row.recent.onFailures, row.recent.on) ?? null,
      errorRateOff: rate(row.recent.offFailures, row.recent.off) ?? null,
      redis: row.redis ?? null,
    })),
    status: frame.status ?? null,
  };
}

function cut(line: string, columns: number): string {
  if (width(line) <= columns) return line;
  return `${[...line].slice(0, Math.max(1, columns - 1)).join('')}…`;
}

export type ViewMode = 'tty' | 'lines' | 'json';

/** Writes frames and events in the chosen mode. */
export class LiveView {
  private drawn = 0;
  /** Frames rendered in lines mode: the legend before the first, a report every few. */
  private ticks = 0;

  constructor(
    private readonly out: Output,
    readonly mode: ViewMode,
  ) {}

  /** Lines printed before the live view starts (servers, flags, commands to try). */
  intro(lines: readonly string[], record: Record<string, unknown>): void {
    if (this.mode === 'json') this.out.record(record);
    else this.out.lines(lines);
  }

  render(frame: Frame): void {
    if (this.mode === 'json') {
      this.out.record(frameRecord(frame));
      return;
    }
    if (this.mode === 'lines') {
      if (this.ticks === 0) this.out.lines(legendLines(REPORT_EVERY_TICKS * 1000));
      this.ticks += 1;
      if (this.ticks % REPORT_EVERY_TICKS === 0) this.out.lines(reportLines(frame, Date.now()));
      return;
    }
    const lines = frameLines(frame, Math.max(40, this.out.columns - 1));
    // Back to the first line of the previous frame, clear to the end of the screen, draw.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '\x1b[?25l';
    this.out.raw(`${up}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  /**
   * A ruleset change: its own lines, without the breaker's timestamps (lines mode), a record
   * (json); a terminal shows it in the frame.
   */
  change(update: RulesetUpdate): void {
    if (this.mode === 'json') this.out.record({ event: 'change', ...watchRecord(update) });
    else if (this.mode === 'lines') this.out.lines(watchLines(quietUpdate(update)).flatMap(wrap));
  }

  /** A circuit-breaker transition: its own line (lines mode), a record (json); a terminal shows it in the frame. */
  breaker(line: string, record: Record<string, unknown>): void {
    if (this.mode === 'json') this.out.record(record);
    else if (this.mode === 'lines') this.out.lines(timedLines(line, Date.now()));
  }

  /** A warning: stderr, except on a terminal where the frame shows it. */
  warn(message: string): void {
    if (this.mode !== 'tty') this.out.warn(message);
  }

  /** Lines after the live view (what was stopped). */
  outro(lines: readonly string[], record: Record<string, unknown>): void {
    if (this.mode === 'tty' && this.drawn > 0) this.out.raw('\x1b[?25h');
    this.drawn = 0;
    if (this.mode === 'json') this.out.record(record);
    else this.out.lines(lines);
  }
}
