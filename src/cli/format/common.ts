/** Text building blocks of the command's output: tables, numbers, durations, sparklines. Pure. */

export interface Column {
  readonly header: string;
  /** Numbers read better right-aligned. Default left. */
  readonly align?: 'left' | 'right';
}

/** Aligned columns separated by two spaces; the last column is not padded (no trailing blanks). */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const all = [columns.map((c) => c.header), ...rows];
  const widths = columns.map((_, i) => Math.max(...all.map((row) => width(row[i] ?? ''))));
  return all.map((row) =>
    columns
      .map((column, i) => {
        const cell = row[i] ?? '';
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell)));
        if (column.align === 'right') return pad + cell;
        return i === columns.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** Display width of a string, counting each code point as one column. */
export function width(text: string): number {
  return [...text].length;
}

/** A ratio (0..1) as a percentage: `0.123` → `12.3 %`. */
export function ratio(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)} %`;
}

/** A percentage field (0..100) without needless decimals: `50` → `50 %`, `12.5` → `12.5 %`. */
export function percentage(value: number): string {
  return `${Number(value.toFixed(3))} %`;
}

/** A value in a `before → after` line: strings quoted (so `""` is visible), the rest as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return JSON.stringify(value);
  // JSON has no functions or symbols: name their type instead.
  const json: string | undefined = JSON.stringify(value);
  return json ?? `(${typeof value})`;
}

/** `90000` → `1m30s`, `500` → `500ms`, `3600000` → `1h`. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** Local wall-clock time `HH:MM:SS`. */
export function clock(time: Date | number): string {
  const d = typeof time === 'number' ? new Date(time) : time;
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Thousands separated by a thin space-free comma: `12345` → `12,345`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline, one character per value, scaled to `max` (default: the largest value). Zero is the
 * lowest block, any value above zero at least the second; `undefined` (no data) is `·`.
 */
export function sparkline(values: readonly (number | undefined)[], max?: number): string {
  const top = max ?? Math.max(0, ...values.map((v) => v ?? 0));
  return values
    .map((value) => {
      if (value === undefined) return '·';
      if (value <= 0 || top <= 0) return BLOCKS[0];
      const level = Math.min(BLOCKS.length - 1, Math.max(1, Math.ceil((value / top) * (BLOCKS.length - 1))));
      return BLOCKS[level];
    })
    .join('');
}

/** Moved to src/util/redact.ts (the library redacts its messages too); kept here for the commands. */
export { redactUrl } from '../../util/redact';
