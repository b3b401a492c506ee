/**
 * Where every accepted event is counted: the sink's `stats()`.
 *
 * Invariant, at any time: accepted = written + pending + dropped + unknown, where
 * - written: acknowledged by Redis (a `duplicate` answer is an acknowledgement: Redis had it);
 * - pending: in the buffer, in a batch sent and not yet answered, or in the batch kept aside
 *   (in-doubt.ts); a batch counts as pending from its first send (`launch`) until it lands;
 * - dropped: never written (buffer bound, refused by Redis, older than the retention, module
 *   missing, or not sent when close() gave up): the buffer's count plus `droppedOutside`;
 * - unknown: sent and never answered, and not to be resent: close() gave up on it (`abandonAll`), or
 *   it was in doubt past the resend horizon (its marker may be gone). Redis may hold it (once).
 * So what Redis holds lies between written and written + unknown (with scripts).
 *
 * Every move between the counts happens in one synchronous step (no await in between), so the
 * invariant holds at every moment anyone can call `stats()`.
 */
import type { SignalBuffer } from './buffer';
import type { SignalStats } from './types';

/** A batch sent and not answered yet. `abandoned`: close() counted it as unknown. */
export interface Flight {
  readonly events: number;
  abandoned: boolean;
}

export class SignalLedger {
  written = 0;
  unknown = 0;
  /** Commands (writes, PINGs) the client gave up on after its command timeout; not events. */
  timeouts = 0;
  /** Events dropped outside the buffer (module missing, older than the retention). */
  droppedOutside = 0;
  private inFlightEvents = 0;
  private readonly flights = new Set<Flight>();

  constructor(private readonly buffer: SignalBuffer) {}

  stats(backend: SignalStats['backend']): SignalStats {
    return {
      backend,
      written: this.written,
      pending: this.buffer.pending + this.inFlightEvents,
      dropped: this.buffer.dropped + this.droppedOutside,
      unknown: this.unknown,
      timeouts: this.timeouts,
    };
  }

  /** `events` taken from the buffer are sent: pending in flight until they land. */
  launch(events: number): Flight {
    const flight: Flight = { events, abandoned: false };
    this.flights.add(flight);
    this.inFlightEvents += events;
    return flight;
  }

  /** The batch is answered (or failed): it is no longer in flight. */
  land(flight: Flight): void {
    this.flights.delete(flight);
    if (!flight.abandoned) this.inFlightEvents -= flight.events;
  }

  /** Counts every batch still waiting for Redis' answer as unknown. Returns how many events. */
  abandonAll(): number {
    let n = 0;
    for (const flight of this.flights) {
      if (flight.abandoned) continue;
      flight.abandoned = true;
      this.inFlightEvents -= flight.events;
      this.unknown += flight.events;
      n += flight.events;
    }
    return n;
  }
}
