/**
 * Log lines said once per key (a distinct bad input, a kind of refusal, refused credentials), so
 * a cause repeated by every event or batch is one line. At most `limit` distinct keys are kept:
 * past that nothing more is said, so a stream of distinct bad inputs cannot grow the set forever.
 */
import type { Logger } from '../logger';

/** Distinct keys said, at most. */
export const ONCE_LIMIT = 100;

export class OnceLog {
  private readonly said = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly limit: number = ONCE_LIMIT,
  ) {}

  warn(key: string, message: string): void {
    if (this.first(key)) this.logger.warn(message);
  }

  error(key: string, message: string): void {
    if (this.first(key)) this.logger.error(message);
  }

  /** Lets `key` be said again (the cause went away, e.g. credentials accepted after a refusal). */
  forget(key: string): void {
    this.said.delete(key);
  }

  private first(key: string): boolean {
    if (this.said.has(key) || this.said.size >= this.limit) return false;
    this.said.add(key);
    return true;
  }
}
