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

/** A logger that keeps every line, for asserting what the SDK said. */
export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string }[] = [];
  debug = (message: string): void => void this.lines.push({ level: 'debug', message });
  info = (message: string): void => void this.lines.push({ level: 'info', message });
  warn = (message: string): void => void this.lines.push({ level: 'warn', message });
  error = (message: string): void => void this.lines.push({ level: 'error', message });

  matching(level: string, pattern: RegExp): string[] {
    return this.lines.filter((l) => l.level === level && pattern.test(l.message)).map((l) => l.message);
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
