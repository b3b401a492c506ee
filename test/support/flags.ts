import type { Logger } from '../../src/logger';

/** A wire-format flag with Tower's defaults, for tests. */
export function wireFlag(fields: Record<string, unknown> & { id: number; title: string }): Record<string, unknown> {
  return {
    app_id: 1,
    description: '',
    is_active: true,
    rollout_percentage: 100,
    white_listed_users: '',
    error_threshold_percentage: 40,
    circuit_status: 'close',
    is_recoverable: false,
    circuit_recovery_percentage: 100,
    circuit_recovery_delay: 8000,
    circuit_initial_recovery_percentage: 10,
    circuit_recovery_rate: 400,
    circuit_recovery_increment_percentage: 10,
    circuit_recovery_profile: 'linear',
    webhooks: '',
    created_at: '2022-08-11T18:51:52.882Z',
    updated_at: '2022-08-11T18:56:12.441Z',
    ...fields,
  };
}

/** A logged line, as {@link RecordingLogger} keeps it. */
export interface LoggedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/** A logger that keeps every line, for asserting what the SDK said. The test suite's only one. */
export class RecordingLogger implements Logger {
  readonly lines: LoggedLine[] = [];
  debug = (message: string): void => void this.lines.push({ level: 'debug', message });
  info = (message: string): void => void this.lines.push({ level: 'info', message });
  warn = (message: string): void => void this.lines.push({ level: 'warn', message });
  error = (message: string): void => void this.lines.push({ level: 'error', message });

  /** The messages at `level` that match `pattern`. */
  matching(level: LoggedLine['level'], pattern: RegExp): string[] {
    return this.lines.filter((l) => l.level === level && pattern.test(l.message)).map((l) => l.message);
  }

  /** How many lines at `level` match `pattern`. */
  count(level: LoggedLine['level'], pattern: RegExp): number {
    return this.matching(level, pattern).length;
  }
}

/** How long {@link waitFor} waits, and what it adds to its timeout error. */
export interface WaitOptions {
  /** 10 s unless given. */
  timeoutMs?: number;
  /** What the test saw so far (events, lines), appended to the timeout error. */
  details?: () => string;
}

/**
 * Polls `condition` every 20 ms until it holds, or throws after the timeout naming `what`.
 * The test suite's only polling helper: `waitFor(condition, what)`, `waitFor(condition, what, 5_000)`
 * or `waitFor(condition, what, { timeoutMs, details })`.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: number | WaitOptions = {},
): Promise<void> {
  const { timeoutMs = 10_000, details } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const seen = details === undefined ? '' : `\n${details()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
