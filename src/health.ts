/**
 * `manager.health()`: whether this instance follows its app's ruleset live, in one synchronous
 * call cheap enough for a readiness probe on every request (docs/operations.md).
 *
 * The manager feeds a HealthTracker with facts as they change (state, connection, delivery);
 * `assessHealth` turns them into an answer, pure and clock-injected so its rules are unit-tested.
 * A delivery interruption shorter than DELIVERY_GRACE_MS (0.5 s) does not count: the JetStream source
 * replaces its consumer after a gap or a leader change in milliseconds, and a probe must not flap
 * on that. The tracker arms one unref()'d timer to say so when the grace ends.
 */
import type { ManagerHealth, ManagerState } from './manager-events';
import type { DeliveryKind } from './sources/types';

/** An interruption of delivery counts against health once it lasts this long. */
export const DELIVERY_GRACE_MS = 500;

export type { ManagerHealth };

/** What the manager knows, as the tracker keeps it. */
export interface HealthFacts {
  readonly state: ManagerState;
  readonly delivery: DeliveryKind;
  /** Why the connection is lost, while it is. */
  readonly connectionLost: string | undefined;
  /** Why delivery is interrupted and since when, while it is. */
  readonly interrupted: { readonly reason: string; readonly sinceMs: number } | undefined;
  /** What the source waits for (stream missing, …): said while initializing (after, delivery says). */
  readonly waiting: string | undefined;
  /** Why the manager failed, once it has. */
  readonly failure: string | undefined;
  readonly lastUpdateAt: number | undefined;
}

export function assessHealth(facts: HealthFacts, nowMs: number): ManagerHealth {
  const { state, delivery, lastUpdateAt } = facts;
  const connected = delivery === 'offline' || facts.connectionLost === undefined;
  const interruption =
    facts.interrupted !== undefined && nowMs - facts.interrupted.sinceMs >= DELIVERY_GRACE_MS
      ? facts.interrupted.reason
      : undefined;
  const base = { state, connected, lastUpdateAt, delivery };
  const unhealthy = (reason: string, stale: boolean): ManagerHealth => ({ ...base, healthy: false, stale, reason });
  switch (state) {
    case 'idle':
      return unhealthy('not initialized: initialize() has not been called', false);
    case 'initializing':
      return unhealthy(
        `initializing: ${facts.waiting ?? facts.connectionLost ?? 'waiting for the first ruleset'}`,
        false,
      );
    case 'closed':
      return unhealthy('disconnected: disconnect() was called', lastUpdateAt !== undefined);
    case 'failed':
      return unhealthy(`failed: ${facts.failure ?? 'the source stopped'}`, lastUpdateAt !== undefined);
    case 'stale':
    case 'ready':
      break;
  }
  if (facts.connectionLost !== undefined) return unhealthy(`NATS connection lost: ${facts.connectionLost}`, true);
  if (interruption !== undefined) return unhealthy(`not following app updates: ${interruption}`, true);
  return { ...base, healthy: true, stale: false };
}

/** Keeps the facts, answers `health()` and calls `changed` when the answer's verdict changes. */
export class HealthTracker {
  private facts: HealthFacts;
  private last: ManagerHealth;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    delivery: DeliveryKind,
    private readonly changed: (health: ManagerHealth) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.facts = {
      state: 'idle',
      delivery,
      connectionLost: undefined,
      interrupted: undefined,
      waiting: undefined,
      failure: undefined,
      lastUpdateAt: undefined,
    };
    this.last = assessHealth(this.facts, this.now());
  }

  health(): ManagerHealth {
    return assessHealth(this.facts, this.now());
  }

  /** Updates facts (only the ones given) and reports a change of verdict. */
  set(update: Partial<HealthFacts>): void {
    this.facts = { ...this.facts, ...update };
    this.armGrace();
    this.check();
  }

  /** Delivery is interrupted (kept from the first report until `resumed`). */
  interrupted(reason: string): void {
    const since = this.facts.interrupted?.sinceMs ?? this.now();
    this.set({ interrupted: { reason, sinceMs: since } });
  }

  /**
   * The connection is back: an interruption still open gets a fresh grace, since the source needs
   * a moment to follow again (a new consumer) and the outage was already said as a lost connection.
   */
  reconnected(): void {
    const open = this.facts.interrupted;
    this.set({ connectionLost: undefined, interrupted: open && { reason: open.reason, sinceMs: this.now() } });
  }

  resumed(): void {
    if (this.facts.interrupted !== undefined) this.set({ interrupted: undefined });
  }

  /** Stops the timer (on disconnect). */
  dispose(): void {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private check(): void {
    const next = this.health();
    const { last } = this;
    if (next.healthy === last.healthy && next.stale === last.stale && next.reason === last.reason) return;
    this.last = next;
    this.changed(next);
  }

  /** While an interruption is in its grace, one timer re-checks when the grace ends. */
  private armGrace(): void {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const interrupted = this.facts.interrupted;
    if (interrupted === undefined) return;
    const left = interrupted.sinceMs + DELIVERY_GRACE_MS - this.now();
    if (left <= 0) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      this.check();
    }, left + 1);
    this.graceTimer.unref();
  }
}
