/**
 * Rulesets from NATS JetStream (docs/wire-format.md §1).
 *
 * One ephemeral consumer on `apps.<appId>.update.*` delivers the last message of each of the
 * app's subjects, then every new one, in stream-sequence order: no gap between "read the
 * current ruleset" and "subscribe". It is replaced, again from `LastPerSubject`, whenever it may
 * have missed something: after every (re)connect, when it ends (deleted, lost in a server
 * restart, its stream deleted) and on a delivery gap. Before each creation the stream is
 * checked: missing, without the app's subjects, or recreated (then `resetSequence()`).
 */
import type { JsMsg, StreamInfo } from 'nats';
import { ConnectionError, type TailslideError } from '../errors';
import type { Logger } from '../logger';
import type { ResolvedNatsOptions } from '../options';
import { apiTimeout, JS_API_TIMEOUT_MS, SourceConnection, type JetStreamLink } from './jetstream-connection';
import { chooseDelivery, DirectFollower } from './jetstream-direct';
import {
  describePlacement,
  lastOfApp,
  standing,
  lastMessagesAfter,
  LivenessAudit,
  type AuditSample,
  type AuditTarget,
} from './jetstream-audit';
import { AppConsumer } from './jetstream-consumer';
import { JS_ERR, apiErrorCode, errorMessage, isLeaderChangeError, isStreamNotFound } from '../nats/errors';
import { appFilter, appIdOfSubject, appInboxPrefix, describeSubjects, streamCoversApp } from '../nats/subjects';
import { describeRefusal, isOptionalPermission, permissionRefusal, type PermissionRefusal } from '../nats/permissions';
import {
  boundedWait,
  jittered,
  LEADER_CHANGE_FAST_RETRIES,
  LEADER_CHANGE_RETRY_MS,
  retryDelay,
  RetryTimer,
} from './jetstream-timing';
import type { FlagSource, SourceSink } from './types';

/** A consumer that ends sooner than this after its creation counts as a failed attempt. */
const SHORT_LIVED_CONSUMER_MS = 2_000;
/** After a permission refusal, the next attempt waits this long (the server's config may be reloaded). */
export const PERMISSION_RETRY_MS = 30_000;
/** close() waits at most this long for a sync in flight, and for the server to delete our consumer. */
const CLOSE_STEP_TIMEOUT_MS = 1_000;

export interface JetStreamSourceOptions {
  readonly nats: ResolvedNatsOptions;
  readonly appId: number;
  readonly logger: Logger;
}

export class JetStreamSource implements FlagSource {
  private readonly nats: ResolvedNatsOptions;
  private readonly appId: number;
  private readonly logger: Logger;
  private sink: SourceSink | undefined;
  private connection: SourceConnection | undefined;
  /** Set by close() and by a fatal error: no more work of any kind. */
  private halted = false;
  private closePromise: Promise<void> | undefined;
  private consumer: AppConsumer | undefined;
  private consumerStartedAt = 0;
  /** The direct follower, when the app is followed by RePublish and direct get (jetstream-direct.ts). */
  private follower: DirectFollower | undefined;
  /** How the app is followed now, and why, as last logged. */
  private mode: string | undefined;
  /** `auto` met a refusal of direct delivery (permissions): consumer delivery from then on. */
  private directRefused = false;
  /** Consumers stopped while offline: deleted on the server once connected again. */
  private orphans: AppConsumer[] = [];
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private readonly retry = new RetryTimer();
  /** Failed or waiting attempts in a row: the back-off step. */
  private failures = 0;
  private lastWaiting: string | undefined;
  private lastError: string | undefined;
  /** `created` of the stream read last, and the highest sequence delivered from it. */
  private streamCreated: string | undefined;
  private lastSequence = 0;
  /**
   * The last ruleset the current consumer delivered while more messages were queued behind it
   * (`pending` > 0): if what follows is not a ruleset, the sink is told the batch is drained by
   * this one again, with `pending` 0 (it ignores the repeated sequence and declares itself ready).
   */
  private undrained: { data: Uint8Array; sequence: number; subject: string } | undefined;
  /** Rulesets delivered by the current consumer. */
  private rulesetsDelivered = 0;
  /** Messages of any subject delivered by the current consumer (the audit's measure of progress). */
  private messagesSeen = 0;
  /** The current consumer has read the batch it started with (every subject's last message). */
  private drained = false;
  /** Proves the current consumer still delivers (jetstream-audit.ts). */
  private audit: LivenessAudit | undefined;
  /** Permission refusals reported, by cause (`publish <subject pattern>`); cleared by a ruleset. */
  private readonly refusals = new Set<string>();
  /** Subjects of messages ignored as not rulesets (each logged once). */
  private readonly ignoredSubjects = new Set<string>();

  /** Inert: nothing happens before start(). */
  constructor(options: JetStreamSourceOptions) {
    this.nats = options.nats;
    this.appId = options.appId;
    this.logger = options.logger;
  }

  /** Starts connecting and resolves at once; every outcome goes to the sink. Never rejects. */
  start(sink: SourceSink): Promise<void> {
    if (this.sink !== undefined || this.halted) return Promise.resolve();
    this.sink = sink;
    this.connection = new SourceConnection(
      this.nats,
      this.logger,
      sink,
      {
        up: () => this.requestSync('connected'),
        down: () => {
          this.interrupted('the NATS connection is down');
          void this.stopConsumer();
        },
        fatal: (error) => this.fail(error),
        refused: (refusal) => this.onRefusedStatus(refusal),
      },
      appInboxPrefix(this.appId),
    );
    this.connection.start();
    return Promise.resolve();
  }

  /**
   * Stops the consumer (deleting it on the server), clears every timer and closes the NATS
   * connection if the source opened it; an injected one is left open. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private get link(): JetStreamLink | undefined {
    return this.halted ? undefined : this.connection?.current;
  }

  /** Replaces the consumer (checking the stream first), now or as soon as the current sync ends. */
  private requestSync(why: string): void {
    if (this.link === undefined) return;
    this.retry.clear();
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return;
    }
    this.logger.debug(`syncing app ${this.appId} from stream "${this.nats.stream}": ${why}`);
    this.syncing = this.syncLoop().catch((err: unknown) => this.syncFailed('internal error while syncing', err));
  }

  private async syncLoop(): Promise<void> {
    try {
      do {
        this.syncAgain = false;
        await this.syncOnce();
      } while (this.syncAgain && !this.halted);
    } finally {
      this.syncing = undefined;
    }
  }

  private async syncOnce(): Promise<void> {
    const link = this.link;
    if (link === undefined) return; // offline: the reconnect syncs again
    void this.stopConsumer();
    for (const orphan of this.orphans.splice(0)) void orphan.delete();
    const stream = this.nats.stream;
    const server = link.nc.getServer();
    const outdated = (): boolean => this.syncAgain || this.link !== link;
    const timeout = apiTimeout(this.failures);
    const api =
      timeout === JS_API_TIMEOUT_MS
        ? link
        : { jsm: await link.nc.jetstreamManager({ checkAPI: false, timeout }), js: link.nc.jetstream({ timeout }) };

    let info: StreamInfo;
    try {
      info = await api.jsm.streams.info(stream);
    } catch (err) {
      if (outdated()) return;
      if (isStreamNotFound(err)) return this.waitFor(`stream "${stream}" does not exist yet on ${server}`);
      if (this.refusedBy(err)) return;
      return this.syncFailed(`could not read stream "${stream}" on ${server}`, err);
    }
    if (outdated()) return;
    const subjects = info.config.subjects ?? [];
    if (!streamCoversApp(subjects, this.appId)) {
      return this.waitFor(
        `stream "${stream}" has no subjects for app ${this.appId} yet (it has ${describeSubjects(subjects)}); ` +
          `waiting for apps.${this.appId}.update.manual or apps.${this.appId}.update.circuit to be added`,
      );
    }
    this.checkStreamIdentity(info);
    const choice = chooseDelivery(this.directRefused ? 'consumer' : (this.nats.delivery ?? 'auto'), info, this.appId);
    if (choice.kind === 'direct') return this.followDirect(link, choice.subject, outdated);
    if (this.nats.delivery === 'direct') {
      return this.waitFor(
        `${choice.why ?? 'direct delivery is not possible'} (the "delivery" option asks for "direct")`,
      );
    }
    this.noteMode('a JetStream consumer', choice.why);
    return this.followByConsumer(api, server, subjects, outdated);
  }

  /** Creates the app's consumer (LastPerSubject) and takes it, unless the sync is outdated by then. */
  private async followByConsumer(
    api: Pick<JetStreamLink, 'jsm' | 'js'>,
    server: string,
    subjects: readonly string[],
    outdated: () => boolean,
  ): Promise<void> {
    const stream = this.nats.stream;
    let consumer: AppConsumer;
    this.undrained = undefined;
    this.rulesetsDelivered = 0;
    this.messagesSeen = 0;
    this.drained = false;
    try {
      consumer = await AppConsumer.start(
        { jsm: api.jsm, js: api.js, stream, appId: this.appId, logger: this.logger },
        {
          message: (msg) => this.onMessage(msg),
          ended: (ended, reason, error) => this.onConsumerEnded(ended, reason, error),
        },
      );
    } catch (err) {
      if (outdated()) return;
      if (isStreamNotFound(err)) return this.waitFor(`stream "${stream}" does not exist yet on ${server}`);
      if (apiErrorCode(err) === JS_ERR.FILTER_NOT_SUBSET) {
        return this.waitFor(
          `stream "${stream}" on ${server} does not accept a consumer filtered on "${appFilter(this.appId)}" ` +
            `(its subjects: ${describeSubjects(subjects)}; this server needs the filter inside one stream subject or containing one)`,
        );
      }
      if (this.refusedBy(err)) return;
      return this.syncFailed(`could not create a consumer on stream "${stream}" on ${server}`, err);
    }
    if (outdated()) {
      consumer.stop();
      await consumer.delete();
      return;
    }
    if (!consumer.active) {
      // Ended before we took it (deleted at once, say): its end was not ours to handle yet.
      void consumer.delete();
      this.failures += 1;
      return this.scheduleSync(retryDelay(this.failures), `consumer ${consumer.name} ended at once`);
    }
    this.consumer = consumer;
    this.consumerStartedAt = Date.now();
    this.lastError = undefined;
    this.logger.debug(`consumer ${consumer.name} on "${stream}": ${consumer.initialPending} messages to read first`);
    this.startAudit(consumer);
    if (consumer.initialPending === 0) {
      this.reportWaiting(`no ruleset published yet for app ${this.appId} on stream "${stream}" (${server})`);
      this.markDrained();
    }
  }

  /** The current consumer has read its first batch: from now on it delivers live. */
  private markDrained(): void {
    if (this.drained) return;
    this.drained = true;
    this.sink?.delivery('live', { via: 'consumer' });
  }

  /** Logs how the app is followed, once per change. */
  private noteMode(how: string, why: string | undefined): void {
    const mode = `${how}${why === undefined ? '' : `: ${why}`}`;
    if (mode === this.mode) return;
    this.mode = mode;
    this.logger.info(`following app ${this.appId} through ${mode}`);
  }

  /** Follows the app by RePublish and direct get: no consumer on the server. */
  private async followDirect(link: JetStreamLink, subject: string, outdated: () => boolean): Promise<void> {
    const stream = this.nats.stream;
    const target = { nc: link.nc, stream, appId: this.appId, subject, logger: this.logger };
    let follower: DirectFollower | undefined;
    try {
      follower = await DirectFollower.start(target, {
        message: (data, sequence, on) => this.onDirectMessage(data, sequence, on),
        ended: (reason, error) => this.onFollowerEnded(follower, reason, error),
      });
    } catch (err) {
      if (outdated()) return;
      if (this.refusedBy(err)) return;
      return this.syncFailed(`could not read the last ruleset of app ${this.appId} from stream "${stream}"`, err);
    }
    if (outdated() || this.halted) return follower.stop();
    this.follower = follower;
    this.lastError = undefined;
    this.noteMode('RePublish and direct get (no consumer)', undefined);
    if (follower.sequence === 0) {
      this.reportWaiting(
        `no ruleset published yet for app ${this.appId} on stream "${stream}" (${link.nc.getServer()})`,
      );
    }
    this.sink?.delivery('live', { via: 'direct' });
  }

  private onDirectMessage(data: Uint8Array, sequence: number, subject: string): void {
    if (this.halted) return;
    if (sequence > this.lastSequence) this.lastSequence = sequence;
    if (appIdOfSubject(subject) !== this.appId) return; // `apps.<id>.update.<other>`: not a ruleset
    this.failures = 0;
    this.lastWaiting = undefined;
    this.refusals.clear();
    this.sink?.ruleset(data, { sequence, subject, pending: 0 });
  }

  private onFollowerEnded(follower: DirectFollower | undefined, reason: string, error: unknown): void {
    if (this.halted || follower === undefined || this.follower !== follower) return;
    this.follower = undefined;
    this.interrupted(reason);
    this.logger.debug(reason);
    if (error !== undefined)
      this.sink?.error(new ConnectionError(`${reason}; reading the stream again`, { cause: error }));
    this.failures += 1;
    this.scheduleSync(retryDelay(this.failures), reason);
  }

  /** Delivery stopped (no consumer, or one that stalled), for `manager.health()`. */
  private interrupted(reason: string): void {
    if (!this.halted) this.sink?.delivery('interrupted', { reason });
  }

  private startAudit(consumer: AppConsumer): void {
    this.audit?.stop();
    const audit = new LivenessAudit({
      sample: () => this.auditSample(consumer),
      stalled: (detail) => this.onStalled(consumer, detail),
    });
    this.audit = audit;
    audit.start();
  }

  /** One audit: is the app's last message on the leader beyond, at, or behind what was delivered? */
  private async auditSample(consumer: AppConsumer): Promise<AuditSample | undefined> {
    const at = { seen: this.messagesSeen, delivered: this.lastSequence };
    if (!this.drained) return { ...at, drained: false, missing: undefined };
    const target = this.auditTarget();
    if (target === undefined) return undefined;
    const last = await lastOfApp(target);
    if (last === 'unknown' || this.consumer !== consumer) return undefined;
    const where = standing(last, at.delivered);
    if (where === 'rewound' && last !== undefined) {
      this.onRewound(consumer, last);
      return undefined;
    }
    const missing = where === 'behind' ? last : undefined;
    if (missing !== undefined) this.logger.debug(`audit of ${consumer.name}: sequence ${missing} is to deliver`);
    return { ...at, drained: true, missing };
  }

  /**
   * The stream's last message for the app is older than one delivered: that one was lost (stored
   * by a leader that died before its followers had it; its sequence may be given to another
   * message). The stream's own last messages are served again, from the leader.
   */
  private onRewound(consumer: AppConsumer, last: number): void {
    // Seen on nats-server 2.9.10: a rejoined follower whose store is off by one sequence from the
    // leader's, so a consumer placed on it delivers numbers the leader gave to other messages.
    this.onStalled(
      consumer,
      `it delivered sequence ${this.lastSequence}, and the stream leader holds the app only up to ${last}: ` +
        "a message lost in a leader change, or a replica out of step; serving the stream's last ruleset again",
      true,
    );
  }

  private auditTarget(): AuditTarget | undefined {
    const link = this.link;
    return link && { jsm: link.jsm, stream: this.nats.stream, appId: this.appId, logger: this.logger };
  }

  /**
   * The consumer stalled: said as an error (a warning) and replaced at once, from LastPerSubject;
   * where it lived is logged before it is deleted (docs/clusters.md).
   */
  private onStalled(consumer: AppConsumer, detail: string, rewound = false): void {
    if (this.halted || this.consumer !== consumer) return;
    const reason =
      `consumer ${consumer.name} of app ${this.appId} stopped delivering (${detail}, ` +
      `last sequence ${this.lastSequence}): replacing it`;
    if (rewound) {
      // What the leader holds is served again, even if older than what was delivered.
      this.lastSequence = 0;
      this.sink?.resetSequence();
    }
    this.sink?.error(new ConnectionError(reason));
    this.interrupted(reason);
    this.consumer = undefined;
    this.audit?.stop();
    this.audit = undefined;
    consumer.stop();
    this.requestSync(reason);
    const target = this.auditTarget();
    if (target === undefined) return;
    void this.readFromLeader(target);
    void describePlacement(target.jsm, target.stream, consumer.name).then(async (placement) => {
      this.logger.warn(`stalled consumer ${consumer.name}: ${placement}`);
      await consumer.delete();
    });
  }

  /**
   * After a stall, the app's newest messages from the stream leader: on nats-server 2.9.10, a
   * rejoined cluster's followers can lack a message the leader has, and every consumer placed on
   * them misses it too (docs/clusters.md). The manager keeps the newest by sequence, so what a
   * later consumer delivers again is ignored. Never rejects.
   */
  private async readFromLeader(target: AuditTarget): Promise<void> {
    const link = this.link;
    for (const msg of await lastMessagesAfter(target, this.lastSequence)) {
      if (this.halted || this.link !== link || msg.seq <= this.lastSequence) return;
      this.lastSequence = msg.seq;
      this.logger.info(`read ${msg.subject} sequence ${msg.seq} from the stream leader (the stalled consumer had not)`);
      this.sink?.ruleset(msg.data, { sequence: msg.seq, subject: msg.subject, pending: 0 });
    }
  }

  /**
   * Same name, another stream: deleted and made again (its `created` changed, or its last
   * sequence is behind what we delivered), so its sequences restarted at 1.
   */
  private checkStreamIdentity(info: StreamInfo): void {
    const recreated =
      this.streamCreated !== undefined &&
      (info.created !== this.streamCreated || info.state.last_seq < this.lastSequence);
    this.streamCreated = info.created;
    if (!recreated) return;
    this.logger.info(`stream "${info.config.name}" was recreated (created ${info.created}); reading it from the start`);
    this.lastSequence = 0;
    this.sink?.resetSequence();
  }

  private onMessage(msg: JsMsg): void {
    if (this.halted) return;
    if (msg.seq > this.lastSequence) this.lastSequence = msg.seq;
    this.messagesSeen += 1;
    if (msg.info.pending === 0) this.markDrained();
    if (appIdOfSubject(msg.subject) !== this.appId) {
      this.ignoreMessage(msg);
      return;
    }
    this.failures = 0;
    this.lastWaiting = undefined;
    this.refusals.clear();
    const pending = msg.info.pending;
    this.rulesetsDelivered += 1;
    this.undrained = pending > 0 ? { data: msg.data, sequence: msg.seq, subject: msg.subject } : undefined;
    this.sink?.ruleset(msg.data, { sequence: msg.seq, subject: msg.subject, pending });
  }

  /**
   * A message on one of the app's subjects that is not `manual` or `circuit` (the filter
   * `apps.<id>.update.*` lets them through): not a ruleset (wire-format.md §1), never applied.
   */
  private ignoreMessage(msg: JsMsg): void {
    if (!this.ignoredSubjects.has(msg.subject)) {
      this.ignoredSubjects.add(msg.subject);
      this.logger.debug(
        `ignoring messages on ${msg.subject} (first: sequence ${msg.seq}): only ` +
          `apps.${this.appId}.update.manual and apps.${this.appId}.update.circuit carry rulesets`,
      );
    }
    if (msg.info.pending > 0) return;
    const last = this.undrained;
    this.undrained = undefined;
    if (last !== undefined) {
      this.sink?.ruleset(last.data, { sequence: last.sequence, subject: last.subject, pending: 0 });
    } else if (this.rulesetsDelivered === 0) {
      this.reportWaiting(
        `no ruleset published yet for app ${this.appId} on stream "${this.nats.stream}" ` +
          `(only messages on subjects that are not rulesets, such as ${msg.subject})`,
      );
    }
  }

  private onConsumerEnded(consumer: AppConsumer, reason: string, error: unknown): void {
    if (this.halted || this.consumer !== consumer) return;
    this.consumer = undefined;
    this.audit?.stop();
    this.interrupted(reason);
    this.logger.debug(reason);
    if (this.link === undefined) {
      this.orphans.push(consumer); // the connection went: the reconnect syncs again
      return;
    }
    void consumer.delete();
    if (this.refusedBy(error)) return;
    if (error !== undefined)
      this.sink?.error(new ConnectionError(`${reason}; creating a new consumer`, { cause: error }));
    if (Date.now() - this.consumerStartedAt < SHORT_LIVED_CONSUMER_MS) {
      this.failures += 1;
      this.scheduleSync(retryDelay(this.failures), reason);
    } else {
      this.failures = 0;
      this.requestSync(reason);
    }
  }

  /**
   * A request or the consumer failed for want of a permission: reported once per cause (as what
   * the source waits for, so the manager's not-ready message repeats it), then one slow retry.
   */
  private refusedBy(err: unknown): boolean {
    const refusal = permissionRefusal(err);
    if (refusal === undefined) return false;
    this.interrupted(describeRefusal(refusal, this.nats.user));
    this.failures += 1;
    this.reportRefusal(refusal);
    this.scheduleSync(jittered(PERMISSION_RETRY_MS), `refused: ${refusal.operation} ${refusal.subject}`);
    return true;
  }

  /**
   * A refusal the server reported on its own. The requests' own refusals are handled where they
   * fail; a pull (`$JS.API.CONSUMER.MSG.NEXT…`) fails only here: the consumer would wait for
   * nothing, so it goes, and a new one is tried after the slow retry.
   */
  private onRefusedStatus(refusal: PermissionRefusal): void {
    if (this.halted) return;
    // On a connection shared with the host (natsConnection), a refusal may be about its own work.
    const tokens = refusal.subject.split('.');
    const stream = refusal.subject.startsWith('$JS.API.CONSUMER.MSG.NEXT.') ? tokens[5] : tokens[4];
    const direct =
      refusal.subject.startsWith(`$JS.API.DIRECT.GET.${this.nats.stream}.`) ||
      (refusal.operation === 'subscribe' && refusal.subject === this.follower?.subject);
    const ours =
      direct ||
      refusal.subject.startsWith('_INBOX.') ||
      (/^\$JS\.API\.(STREAM\.INFO|CONSUMER)\./.test(refusal.subject) && stream === this.nats.stream);
    if (!ours) {
      this.logger.debug(`NATS refused ${refusal.operation} to "${refusal.subject}" (not a subject of this source)`);
      return;
    }
    if (direct && this.nats.delivery !== 'direct') {
      // `auto`: a user allowed consumers but not direct delivery still gets its flags.
      this.directRefused = true;
      this.logger.info(`${describeRefusal(refusal, this.nats.user)}: following app ${this.appId} through a consumer`);
      this.stopFollower();
      this.requestSync('direct delivery refused');
      return;
    }
    this.reportRefusal(refusal);
    if (direct) {
      this.interrupted(describeRefusal(refusal, this.nats.user));
      this.stopFollower();
      this.failures += 1;
      this.scheduleSync(jittered(PERMISSION_RETRY_MS), `refused: ${refusal.operation} ${refusal.subject}`);
      return;
    }
    if (refusal.operation !== 'publish' || !refusal.subject.startsWith('$JS.API.CONSUMER.MSG.NEXT.')) return;
    if (this.consumer === undefined) return;
    this.interrupted(describeRefusal(refusal, this.nats.user));
    void this.stopConsumer();
    this.failures += 1;
    this.scheduleSync(jittered(PERMISSION_RETRY_MS), `refused: ${refusal.operation} ${refusal.subject}`);
  }

  private reportRefusal(refusal: PermissionRefusal): void {
    const key = `${refusal.operation} ${refusal.subject}`;
    if (this.refusals.has(key)) return;
    this.refusals.add(key);
    const message = describeRefusal(refusal, this.nats.user);
    if (isOptionalPermission(refusal)) {
      this.logger.debug(`${message} (optional: an abandoned consumer expires by itself)`);
      return;
    }
    this.reportWaiting(`${message}; trying again every ${PERMISSION_RETRY_MS / 1_000} s`);
  }

  private waitFor(reason: string): void {
    this.interrupted(reason);
    this.reportWaiting(reason);
    this.failures += 1;
    this.scheduleSync(retryDelay(this.failures), reason);
  }

  private reportWaiting(reason: string): void {
    this.logger.debug(`waiting: ${reason}`);
    if (reason === this.lastWaiting) return;
    this.lastWaiting = reason;
    this.sink?.waiting(reason);
  }

  /** A failed request. The first of a streak is likely a blip (JetStream restarting): debug only. */
  private syncFailed(what: string, err: unknown): void {
    this.failures += 1;
    const message = `${what}: ${errorMessage(err)}`;
    this.interrupted(message);
    if (this.failures >= 2 && message !== this.lastError) {
      this.lastError = message;
      this.sink?.error(new ConnectionError(`${message}; retrying`, { cause: err }));
    } else {
      this.logger.debug(message);
    }
    const fast = isLeaderChangeError(err) && this.failures <= LEADER_CHANGE_FAST_RETRIES;
    this.scheduleSync(fast ? jittered(LEADER_CHANGE_RETRY_MS) : retryDelay(this.failures), what);
  }

  private scheduleSync(delayMs: number, why: string): void {
    if (this.halted) return;
    this.retry.set(delayMs, () => this.requestSync(`retry after: ${why}`));
  }

  private stopFollower(): void {
    this.follower?.stop();
    this.follower = undefined;
  }

  /** Stops the current consumer (or follower); deletes a consumer on the server now if connected, else once back. */
  private stopConsumer(): Promise<void> {
    this.stopFollower();
    const consumer = this.consumer;
    if (consumer === undefined) return Promise.resolve();
    this.consumer = undefined;
    this.audit?.stop();
    this.audit = undefined;
    consumer.stop();
    if (this.connection?.current !== undefined) return consumer.delete();
    if (!this.halted) this.orphans.push(consumer);
    return Promise.resolve();
  }

  /** Reports a fatal error once and stops all work (closing the connection we opened). */
  private fail(error: TailslideError): void {
    if (this.halted) return;
    this.halted = true;
    this.retry.clear();
    void this.stopConsumer();
    void this.connection?.stop();
    this.sink?.fatal(error);
  }

  private async shutdown(): Promise<void> {
    this.halted = true;
    this.retry.clear();
    // A sync in flight sees `halted` after its current request and removes what it created.
    if (this.syncing !== undefined) await boundedWait(this.syncing, CLOSE_STEP_TIMEOUT_MS);
    await boundedWait(this.stopConsumer(), CLOSE_STEP_TIMEOUT_MS);
    await this.connection?.stop();
  }
}
