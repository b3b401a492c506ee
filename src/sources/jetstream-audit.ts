/**
 * The liveness audit: proof, every AUDIT_INTERVAL_MS, that the consumer still delivers.
 *
 * Why: on a 3-node nats-server 2.9.10 cluster, after a killed stream leader's node rejoins, about
 * one run in seven left a consumer that answered every pull with idle heartbeats only, forever:
 * it was placed on the rejoined node, whose replica of the stream never caught up, so it had
 * nothing to deliver while the leader had new messages (docs/clusters.md). Heartbeats, pings and
 * the connection all look fine then; only the stream itself can say that something is missing.
 *
 * How: once the consumer has read its first batch, one `STREAM.MSG.GET` (not a direct get: it is
 * answered by the stream leader, which a lagging replica cannot be) asks for the app's first
 * message after the highest sequence delivered (`next_by_subj` on `apps.<id>.update.*`, 2.9+).
 * The consumer is behind when there is one (or while it has not read its first batch). Behind at
 * two audits in a row with no message delivered in between is a stall: a live consumer delivers a
 * message within milliseconds of its publication, and the second audit is a second after the first.
 */
import type { JetStreamManager } from 'nats';
import { jittered } from './jetstream-timing';

/** Time between two audits of one consumer (± 20 %). */
export const AUDIT_INTERVAL_MS = 2_000;
/**
 * After an audit that found the consumer behind, the next comes this soon (± 20 %): a live
 * consumer delivers within milliseconds, so a second look a second later is conclusive, and a
 * stall is known at most about 3.6 s after the publication it missed.
 */
export const AUDIT_CONFIRM_MS = 1_000;

/** What one audit saw. */
export interface AuditSample {
  /** The stream holds a message of the app the consumer has not delivered (or it is still reading its first batch). */
  readonly behind: boolean;
  /** Messages the consumer had delivered at the audit. */
  readonly seen: number;
}

/** Behind at two audits in a row, and nothing delivered in between: the consumer has stalled. */
export function isStalled(previous: AuditSample | undefined, current: AuditSample): boolean {
  return previous !== undefined && previous.behind && current.behind && previous.seen === current.seen;
}

/** The delay before the next audit: sooner after one that found the consumer behind. */
export function nextAuditDelay(last: AuditSample | undefined): number {
  return jittered(last?.behind === true ? AUDIT_CONFIRM_MS : AUDIT_INTERVAL_MS);
}

export interface AuditHooks {
  /** Takes a sample now; undefined when the audit could not ask (the next one judges). Never rejects. */
  sample(): Promise<AuditSample | undefined>;
  /** The consumer stalled: `detail` says what was seen. Called once; the runner stops. */
  stalled(detail: string): void;
}

/** Audits one consumer until stopped: one timer (unref()'d), one request at a time. */
export class LivenessAudit {
  private timer: NodeJS.Timeout | undefined;
  private previous: AuditSample | undefined;
  private stopped = false;

  constructor(private readonly hooks: AuditHooks) {}

  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.run(), nextAuditDelay(this.previous));
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const sample = await this.hooks.sample();
    if (this.stopped) return;
    if (sample !== undefined && isStalled(this.previous, sample)) {
      this.stop();
      this.hooks.stalled(`behind the stream at two audits in a row, ${sample.seen} messages delivered`);
      return;
    }
    this.previous = sample;
    this.schedule();
  }
}

/**
 * Where a stalled consumer lives and how the stream's replicas stand, for the log: the evidence
 * of docs/clusters.md. Two requests, made only when a consumer has stalled. Never rejects.
 */
export async function describePlacement(jsm: JetStreamManager, stream: string, consumer: string): Promise<string> {
  const [consumerInfo, streamInfo] = await Promise.allSettled([
    jsm.consumers.info(stream, consumer),
    jsm.streams.info(stream),
  ]);
  const node = consumerInfo.status === 'fulfilled' ? consumerInfo.value.cluster?.leader : undefined;
  const pending = consumerInfo.status === 'fulfilled' ? consumerInfo.value.num_pending : undefined;
  const cluster = streamInfo.status === 'fulfilled' ? streamInfo.value.cluster : undefined;
  const replicas = (cluster?.replicas ?? [])
    .map((r) => `${r.name} ${r.current ? 'current' : 'not current'}${r.lag ? `, lag ${r.lag}` : ''}`)
    .join('; ');
  return (
    `consumer on ${node ?? 'an unknown node'} (it counts ${pending ?? '?'} pending), ` +
    `stream leader ${cluster?.leader ?? 'unknown'}${replicas === '' ? '' : `, replicas: ${replicas}`}`
  );
}
