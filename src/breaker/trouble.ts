/**
 * Outages said once: a problem reaching NATS or Redis is one warning, not one per poll, and its
 * end is one info line (docs/breaker.md, "Outages").
 */
import type { Logger } from '../logger';

/** NATS: each distinct problem said once (a new problem during an outage is news too). */
export class NatsTrouble {
  private current: string | undefined;

  constructor(private readonly logger: Logger) {}

  problem(message: string): void {
    if (this.current === message) return;
    this.current = message;
    this.logger.warn(`CircuitBreaker: ${message}`);
  }

  resolved(message: string): void {
    if (this.current === undefined) return;
    this.current = undefined;
    this.logger.info(`CircuitBreaker: ${message}`);
  }
}

/** Redis: said once when signals cannot be read, whatever the reason, and once when they can again. */
export class RedisTrouble {
  private current: string | undefined;

  constructor(private readonly logger: Logger) {}

  problem(message: string): void {
    if (this.current !== undefined) return;
    this.current = message;
    this.logger.warn(
      `CircuitBreaker: cannot read signals (${message}); holding every circuit as it is until Redis answers`,
    );
  }

  resolved(): void {
    if (this.current === undefined) return;
    this.current = undefined;
    this.logger.info('CircuitBreaker: Redis answers again; deciding on signals again');
  }
}
