/**
 * Delivery without a consumer (`delivery: 'direct'`): the stream republishes every stored message
 * to a plain subject (RePublish, nats-server 2.9+), and any replica answers "the last message on
 * subject S" (`allow_direct`, `$JS.API.DIRECT.GET.<stream>.<subject>`). A follower holds no state on
 * the server: one subscription to the app's republished subject, and direct gets.
 *
 * - Start: subscribe first, then a direct get of the last message of `manual` and of `circuit` (the
 *   newer wins, by stream sequence, as with a consumer's first batch), then what the subscription
 *   queued meanwhile, in order. No gap between "read" and "follow".
 * - Gaps: each republished message says the previous sequence on its subject (`Nats-Last-Sequence`).
 *   One we never saw means a message was missed (a reconnect, a slow client): the last one is read
 *   again at once. A ruleset is a whole snapshot, so only the newest matters, and the manager never
 *   applies an older one after a newer one.
 * - Audit: the same two direct gets every DIRECT_AUDIT_MS (± 20 %) catch what no header can show
 *   (the last message of all missed).
 * - A sequence that goes back on a subject means the stream was deleted and made again: the
 *   follower ends, and the source re-reads the stream (resetSequence) and starts a new one.
 */
import type { Msg, NatsConnection, Republish, StreamInfo, Subscription } from 'nats';
import type { Logger } from '../logger';
import type { DeliveryMode } from '../options';
import { errorMessage } from '../nats/errors';
import { appFilter, appSubjects } from '../nats/subjects';
import { jittered } from './jetstream-timing';

/** Time between two audits of a direct follower (± 20 %). */
export const DIRECT_AUDIT_MS = 5_000;
/** A direct get not answered this soon has failed (any replica answers; it is a local read). */
export const DIRECT_GET_TIMEOUT_MS = 2_000;

/** The last message on a subject (or filter), as a direct get answers it. */
export interface DirectMessage {
  readonly data: Uint8Array;
  readonly sequence: number;
  readonly subject: string;
}

/**
 * `$JS.API.DIRECT.GET.<stream>.<subject>`: the last message on `subject` (a filter such as
 * `apps.7.update.*` works on nats-server 2.9.10), from any replica; undefined when there is none.
 * The subject is in the request's subject, so permissions can confine a user to its app. Asked
 * here rather than through nats.js, whose JetStreamManager type does not show its direct API (2.29).
 */
export async function directGetLast(
  nc: NatsConnection,
  stream: string,
  subject: string,
  timeoutMs = DIRECT_GET_TIMEOUT_MS,
): Promise<DirectMessage | undefined> {
  const reply = await nc.request(`$JS.API.DIRECT.GET.${stream}.${subject}`, undefined, { timeout: timeoutMs });
  const headers = reply.headers;
  if (headers?.hasError === true) {
    if (headers.code === 404) return undefined;
    throw new Error(`direct get of ${subject} on stream "${stream}": ${headers.code} ${headers.description}`);
  }
  const sequence = Number(headers?.get('Nats-Sequence'));
  const found = headers?.get('Nats-Subject') ?? '';
  if (!Number.isSafeInteger(sequence) || found === '')
    throw new Error(`direct get of ${subject} on stream "${stream}": a reply without Nats-Sequence/Nats-Subject`);
  return { data: reply.data, sequence, subject: found };
}

/**
 * `subject` as the stream's RePublish sends it on, or undefined when `src` does not cover it.
 * `src` may hold `*` and a final `>`; `dest` may use `{{wildcard(n)}}` (the n-th `*` of `src`) and a
 * final `>` (what `>` of `src` matched). A `*` in `subject` passes through, so the app's filter
 * `apps.7.update.*` gives the filter of its republished subjects.
 */
export function republishedSubject(republish: Pick<Republish, 'src' | 'dest'>, subject: string): string | undefined {
  const src = republish.src.split('.');
  const tokens = subject.split('.');
  const captures: string[] = [];
  let rest: string | undefined;
  for (let i = 0; i < src.length; i += 1) {
    const pattern = src[i];
    if (pattern === '>') {
      if (i >= tokens.length) return undefined;
      rest = tokens.slice(i).join('.');
      break;
    }
    const token = tokens[i];
    if (token === undefined) return undefined;
    if (pattern === '*') captures.push(token);
    else if (pattern !== token) return undefined;
    if (i === src.length - 1 && tokens.length !== src.length) return undefined;
  }
  const out: string[] = [];
  for (const part of republish.dest.split('.')) {
    const wildcard = /^\{\{\s*wildcard\((\d+)\)\s*\}\}$/.exec(part);
    if (wildcard !== null) {
      const captured = captures[Number(wildcard[1]) - 1];
      if (captured === undefined) return undefined;
      out.push(captured);
    } else if (part === '>') {
      if (rest === undefined) return undefined;
      out.push(rest);
    } else out.push(part);
  }
  return out.join('.');
}

export type DeliveryChoice =
  | { readonly kind: 'direct'; readonly subject: string }
  | { readonly kind: 'consumer'; readonly why: string | undefined };

/**
 * Direct delivery when the stream allows it for this app (RePublish with bodies covering the app's
 * subjects, and `allow_direct`), else consumer delivery with why. `consumer` mode never looks.
 */
export function chooseDelivery(mode: DeliveryMode, info: StreamInfo, appId: number): DeliveryChoice {
  if (mode === 'consumer') return { kind: 'consumer', why: undefined };
  const { republish, allow_direct: allowDirect } = info.config;
  const name = info.config.name;
  if (republish === undefined)
    return { kind: 'consumer', why: `stream "${name}" has no RePublish (tailslide stream upgrade adds it)` };
  if (republish.headers_only === true)
    return { kind: 'consumer', why: `stream "${name}" republishes headers only, not the rulesets` };
  if (allowDirect !== true)
    return { kind: 'consumer', why: `stream "${name}" does not allow direct get (tailslide stream upgrade sets it)` };
  const subject = republishedSubject(republish, appFilter(appId));
  if (subject === undefined)
    return { kind: 'consumer', why: `stream "${name}" republishes ${republish.src}, not the subjects of app ${appId}` };
  return { kind: 'direct', subject };
}

export interface DirectTarget {
  readonly nc: NatsConnection;
  readonly stream: string;
  readonly appId: number;
  /** The app's republished subjects (a filter ending in `*`). */
  readonly subject: string;
  readonly logger: Logger;
}

export interface DirectHandlers {
  /** A ruleset message, never older than one delivered before on its subject. */
  message(data: Uint8Array, sequence: number, subject: string): void;
  /** The follower cannot go on (stream recreated or gone, subscription closed). Called once. */
  ended(reason: string, error: unknown): void;
}

/** Follows one app by RePublish and direct get. */
export class DirectFollower {
  private subscription: Subscription | undefined;
  private stopped = false;
  private started = false;
  /** Live messages that came before the first direct get answered. */
  private queued: Msg[] = [];
  /** The last sequence seen on each of the app's subjects. */
  private readonly last = new Map<string, number>();
  private highest = 0;
  private auditTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  private constructor(
    private readonly target: DirectTarget,
    private readonly handlers: DirectHandlers,
  ) {}

  /** Subscribes, reads the newest ruleset, then follows. Rejects with the `nats` error of the first read. */
  static async start(target: DirectTarget, handlers: DirectHandlers): Promise<DirectFollower> {
    const follower = new DirectFollower(target, handlers);
    follower.subscription = target.nc.subscribe(target.subject, {
      callback: (err, msg) => {
        if (err !== null) follower.end(`the subscription to ${target.subject} failed: ${errorMessage(err)}`, err);
        else follower.onLive(msg);
      },
    });
    try {
      await follower.readLast();
    } catch (err) {
      follower.stop();
      throw err;
    }
    follower.started = true;
    for (const msg of follower.queued.splice(0)) follower.onLive(msg);
    follower.scheduleAudit();
    return follower;
  }

  /** The newest sequence delivered, 0 before any (`initialPending` 0 in consumer terms). */
  get sequence(): number {
    return this.highest;
  }

  get active(): boolean {
    return !this.stopped;
  }

  /** The subscription's subject (the app's republished subjects). */
  get subject(): string {
    return this.target.subject;
  }

  /** Stops following. Idempotent; no handler is called afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.auditTimer !== undefined) clearTimeout(this.auditTimer);
    this.auditTimer = undefined;
    this.subscription?.unsubscribe();
  }

  private end(reason: string, error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.ended(reason, error);
  }

  private onLive(msg: Msg): void {
    if (this.stopped) return;
    if (!this.started) {
      this.queued.push(msg);
      return;
    }
    const headers = msg.headers;
    const subject = headers?.get('Nats-Subject') ?? '';
    const sequence = Number(headers?.get('Nats-Sequence'));
    const previous = Number(headers?.get('Nats-Last-Sequence'));
    if (subject === '' || !Number.isSafeInteger(sequence)) {
      this.target.logger.debug(`ignoring a message on ${msg.subject} without RePublish headers`);
      return;
    }
    const known = this.last.get(subject);
    if (known !== undefined && Number.isSafeInteger(previous) && previous > known) {
      this.target.logger.debug(`missed ${subject} sequence ${previous} (last seen ${known}): reading the last again`);
      this.requestRead();
    }
    this.deliver(msg.data, sequence, subject);
  }

  /** Delivers unless older than what its subject had; a sequence going back means a new stream. */
  private deliver(data: Uint8Array, sequence: number, subject: string): void {
    const known = this.last.get(subject);
    if (known !== undefined && sequence < known) {
      this.end(`${subject} went back from sequence ${known} to ${sequence}: the stream was recreated`, undefined);
      return;
    }
    if (known !== undefined && sequence === known) return;
    this.last.set(subject, sequence);
    if (sequence <= this.highest) return; // an older snapshot than the one in place
    this.highest = sequence;
    this.handlers.message(data, sequence, subject);
  }

  /** Reads the app's newest message now, unless a read is in flight. Never rejects. */
  private requestRead(): void {
    this.reading ??= this.readLast()
      .catch((err: unknown) => this.onReadFailure(err))
      .finally(() => {
        this.reading = undefined;
      });
  }

  /**
   * The last message of each of the app's ruleset subjects (`manual`, `circuit`), older first, so
   * the newer wins; nothing published yet is not an error. Rejects when a get fails.
   */
  private async readLast(): Promise<void> {
    const { nc, stream, appId } = this.target;
    const found = await Promise.all(appSubjects(appId).map((subject) => directGetLast(nc, stream, subject)));
    const messages = found.flatMap((m) => (m === undefined ? [] : [m])).sort((a, b) => a.sequence - b.sequence);
    for (const msg of messages) {
      if (this.stopped) return;
      this.deliver(msg.data, msg.sequence, msg.subject);
    }
  }

  private onReadFailure(err: unknown): void {
    if (this.stopped) return;
    // No one answers direct gets for the stream: it is gone (or has no leader for now); the
    // source looks at the stream and starts again.
    if (/no responders|503/i.test(errorMessage(err))) {
      this.end(`no server answers direct gets on stream "${this.target.stream}"`, err);
      return;
    }
    this.target.logger.debug(`direct get on stream "${this.target.stream}" failed: ${errorMessage(err)}`);
  }

  private scheduleAudit(): void {
    if (this.stopped) return;
    this.auditTimer = setTimeout(() => {
      this.auditTimer = undefined;
      this.requestRead();
      this.scheduleAudit();
    }, jittered(DIRECT_AUDIT_MS));
    this.auditTimer.unref();
  }
}
