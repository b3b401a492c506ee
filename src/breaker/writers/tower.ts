/**
 * Tower mode: the breaker publishes no ruleset. It sends Tailslide's control messages, byte for
 * byte as Aerobat does (../tower.ts), as JetStream publishes; Tower applies each and republishes
 * the app on `apps.<id>.update.circuit`. Until that republished ruleset shows the change (or
 * `towerAckTimeoutMs` passes: then a warning, and the flag is decided again), the flag is not
 * decided again, so one trip is not sent at every poll.
 */
import type { NatsConnection } from 'nats';
import { errorMessage } from '../../nats/errors';
import { streamCovers } from '../../nats/subjects';
import type { WireFlag } from '../../ruleset/types';
import { sameCircuitState } from '../decide';
import { towerMessage } from '../tower';
import type { CircuitWriter, Planned, WriterContext } from './writer';

interface Pending {
  /** The flag as it was when the change was sent: any other circuit state means Tower applied it. */
  readonly flag: WireFlag;
  readonly untilMs: number;
}

export class TowerWriter implements CircuitWriter {
  private readonly pending = new Map<string, Pending>();
  private readonly subjectsReady = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly context: WriterContext,
  ) {}

  async publish(appId: number, planned: readonly Planned[], nowMs: number): Promise<number> {
    const { nats, options, report } = this.context;
    let sent = 0;
    for (const { flag, decision } of planned) {
      const message = towerMessage(decision, flag);
      try {
        await this.ensureSubject(message.subject);
        await this.nc.jetstream().publish(message.subject, new TextEncoder().encode(message.payload));
        nats.resolved('NATS writes succeed again');
      } catch (err) {
        nats.problem(`app ${appId}: could not send ${message.subject} for flag #${flag.id}: ${errorMessage(err)}`);
        continue;
      }
      this.pending.set(pendingKey(appId, flag.id), { flag, untilMs: nowMs + options.towerAckTimeoutMs });
      report(appId, flag, decision, nowMs, undefined);
      sent += 1;
    }
    return sent;
  }

  awaits(appId: number, flag: WireFlag, nowMs: number): boolean {
    const key = pendingKey(appId, flag.id);
    const pending = this.pending.get(key);
    if (pending === undefined) return false;
    if (!sameCircuitState(pending.flag, flag)) {
      this.pending.delete(key);
      return false;
    }
    if (nowMs < pending.untilMs) return true;
    this.pending.delete(key);
    this.context.logger.warn(
      `CircuitBreaker: app ${appId}: Tower did not apply the change of flag #${flag.id} within ${this.context.options.towerAckTimeoutMs} ms; deciding again`,
    );
    return false;
  }

  observe(appId: number, flags: readonly WireFlag[]): void {
    for (const flag of flags) {
      const key = pendingKey(appId, flag.id);
      const pending = this.pending.get(key);
      if (pending !== undefined && !sameCircuitState(pending.flag, flag)) this.pending.delete(key);
    }
  }

  /** Sends are awaited by the poll that makes them: none outlives it. */
  settled(): Promise<void> {
    return Promise.resolve();
  }

  /** As Tailslide's breaker does: the control subjects are added to the ruleset stream if missing. */
  private async ensureSubject(subject: string): Promise<void> {
    if (this.subjectsReady.has(subject)) return;
    const jsm = await this.nc.jetstreamManager();
    const stream = this.context.options.nats.stream;
    const info = await jsm.streams.info(stream);
    const subjects = info.config.subjects ?? [];
    if (!streamCovers(subjects, subject)) {
      await jsm.streams.update(stream, { subjects: [...subjects, subject] });
      this.context.logger.info(`CircuitBreaker: added subject ${subject} to stream "${stream}"`);
    }
    this.subjectsReady.add(subject);
  }
}

function pendingKey(appId: number, flagId: number): string {
  return `${appId}:${flagId}`;
}
