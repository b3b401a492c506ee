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
 * answered by the stream leader, which a lagging replica cannot be) asks for the app's last
 * message (`last_by_subj` on `apps.<id>.update.*`, 2.9+). Beyond the highest sequence delivered,
 * the consumer is behind; below it, the stream lost what was delivered (a message a leader stored
 * and died with, seen on 2.9.10): the stream's own last messages are served again.
 * A message found at one audit and still not delivered at the next is a stall: a live consumer
 * delivers a message within milliseconds of its publication, and the second audit comes a second
 * after the first. That also catches a consumer that trickles, behind by seconds (seen: one on a
 * replica catching up, which then stopped short of the leader). While the consumer has not read
 * its first batch, two audits with nothing delivered in between are a stall.
 */
import type { JetStreamManager, StoredMsg } from 'nats';
import type { Logger } from '../logger';
import { apiErrorCode, errorMessage, JS_ERR } from '../nats/errors';
import { appFilter, appSubjects } from '../nats/subjects';
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
  /** The consumer has read its first batch (every subject's last message). */
  readonly drained: boolean;
  /** The first message of the app the stream holds after the highest delivered, if any. */
  readonly missing: number | undefined;
  /** The highest stream sequence delivered at the audit. */
  readonly delivered: number;
  /** Messages the consumer had delivered at the audit. */
  readonly seen: number;
}

/**
 * Behind at this many audits in a row (about 2 s) is a stall too, even while it delivers: a
 * consumer that trickles, always short of the stream (seen on a replica catching up).
 */
export const LAGGING_AUDITS = 3;

/**
 * Where the consumer stands against the app's last message on the stream leader: `behind` (the
 * stream has more), `current`, or `rewound` (the stream lost what was delivered). No message at
 * all is `current`: a purge leaves the last ruleset in place (and nats-server 2.9.10 answers
 * "no message found" for a subject whose last message was deleted, though older ones remain).
 */
export function standing(last: number | undefined, delivered: number): 'behind' | 'current' | 'rewound' {
  if (last === undefined || last === delivered) return 'current';
  return last > delivered ? 'behind' : 'rewound';
}

/** Whether the consumer is behind at this audit (the next one then comes sooner). */
export function isBehind(sample: AuditSample | undefined): boolean {
  return sample !== undefined && (!sample.drained || sample.missing !== undefined);
}

/**
 * A message missing at the previous audit is still not delivered; or, before the first batch is
 * read, nothing was delivered between two audits.
 */
export function isStalled(previous: AuditSample | undefined, current: AuditSample): boolean {
  if (previous === undefined) return false;
  if (!current.drained) return !previous.drained && previous.seen === current.seen;
  return previous.drained && previous.missing !== undefined && current.delivered < previous.missing;
}

/**
 * The delay before the next audit: sooner after one that found the consumer behind, and for the
 * first audit of a new consumer (one placed on a lagging replica is then known within about 2 s).
 */
export function nextAuditDelay(last: AuditSample | undefined): number {
  return jittered(last === undefined || isBehind(last) ? AUDIT_CONFIRM_MS : AUDIT_INTERVAL_MS);
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
  /** Audits in a row that found the consumer behind. */
  private behindRun = 0;
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
    this.behindRun = sample !== undefined && isBehind(sample) ? this.behindRun + 1 : 0;
    const lagging = sample !== undefined && sample.drained && this.behindRun >= LAGGING_AUDITS;
    if (sample !== undefined && (isStalled(this.previous, sample) || lagging)) {
      this.stop();
      const missed = this.previous?.missing;
      this.hooks.stalled(
        missed === undefined
          ? `nothing of its first batch delivered between two audits`
          : isStalled(this.previous, sample)
            ? `sequence ${missed} not delivered a second after the stream had it; ${sample.seen} messages delivered`
            : `behind the stream at ${this.behindRun} audits in a row; ${sample.seen} messages delivered`,
      );
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

/** Where the audit asks: the stream's leader, through the JetStream API. */
export interface AuditTarget {
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly appId: number;
  readonly logger: Logger;
}

/**
 * The sequence of the app's last message on the stream leader (any of `apps.<id>.update.*`, one
 * `STREAM.MSG.GET` with a wildcard `last_by_subj`, nats-server 2.9+); undefined when the app has
 * none; `unknown` when the stream could not be asked (the next audit judges). Never rejects.
 */
export async function lastOfApp(target: AuditTarget): Promise<number | undefined | 'unknown'> {
  try {
    return (await target.jsm.streams.getMessage(target.stream, { last_by_subj: appFilter(target.appId) })).seq;
  } catch (err) {
    if (apiErrorCode(err) === JS_ERR.NO_MESSAGE_FOUND) return undefined;
    target.logger.debug(`audit of app ${target.appId} could not ask the stream: ${errorMessage(err)}`);
    return 'unknown';
  }
}

/**
 * The last message of each of the app's subjects newer than `delivered`, from the stream leader,
 * oldest first: what a stalled consumer may have hidden (docs/clusters.md). Never rejects.
 */
export async function lastMessagesAfter(target: AuditTarget, delivered: number): Promise<StoredMsg[]> {
  const read = await Promise.allSettled(
    appSubjects(target.appId).map((subject) => target.jsm.streams.getMessage(target.stream, { last_by_subj: subject })),
  );
  return read
    .flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    .filter((m) => m.seq > delivered)
    .sort((a, b) => a.seq - b.seq);
}
