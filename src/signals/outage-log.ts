/** One warning when Redis becomes unreachable, one info line when it is back: per outage, not per event. */
import type { Logger } from '../logger';

export class OutageLog {
  private current: { readonly sinceMs: number; readonly droppedBefore: number } | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly bufferLimit: number,
  ) {}

  get active(): boolean {
    return this.current !== undefined;
  }

  /**
   * Starts an outage (and warns) unless one is going on.
   * @param quiet the caller reported the cause itself (refused credentials, at error level)
   */
  enter(reason: string, droppedNow: number, quiet = false): void {
    if (this.current) return;
    this.current = { sinceMs: Date.now(), droppedBefore: droppedNow };
    if (quiet) return;
    this.logger.warn(
      `Signals: Redis unreachable (${reason}); buffering up to ${this.bufferLimit} events, dropping the oldest beyond that`,
    );
  }

  /** Ends the outage going on, if any, with one info line. */
  exit(pendingNow: number, droppedNow: number): void {
    const outage = this.current;
    if (!outage) return;
    this.current = undefined;
    const seconds = ((Date.now() - outage.sinceMs) / 1000).toFixed(1);
    const dropped = droppedNow - outage.droppedBefore;
    this.logger.info(
      `Signals: Redis reachable again after ${seconds} s; writing ${pendingNow} buffered events` +
        (dropped > 0 ? ` (${dropped} dropped during the outage)` : ''),
    );
  }
}
