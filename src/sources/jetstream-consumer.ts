/**
 * One ephemeral consumer of an app's ruleset subjects, and its end.
 *
 * Why not the `nats` ordered consumer (`js.consumers.get(stream, { filterSubjects })`)? Checked on
 * nats 2.29.3 and nats-server 2.9.10: when its filter matches no stream subject, `consume()`
 * neither resolves nor reports anything (it retries the create in silence); its internal reset
 * recreates the consumer from the last stream sequence it saw plus one, so after a stream is
 * deleted and recreated (sequences restart at 1) it misses the new messages; and a reset in
 * progress keeps retrying on its own timers after the connection is closed.
 *
 * So this module creates a plain ephemeral consumer itself (no acks, one delivery, memory
 * storage, `LastPerSubject` on `apps.<appId>.update.*`) and consumes it with
 * `abort_on_missing_resource`: every way the consumer can disappear (deleted by someone, lost
 * with a server restart, deleted with its stream) ends the consume, and the owner reacts by
 * creating a new one, again from `LastPerSubject`, so the newest ruleset is always re-read.
 */
import {
  AckPolicy,
  ConsumerDebugEvents,
  ConsumerEvents,
  DeliverPolicy,
  nanos,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from 'nats';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger';
import { appFilter } from '../nats/subjects';
import { errorMessage, isLeaderChangeError } from '../nats/errors';

/** Pull requests expire after this. */
export const PULL_EXPIRES_MS = 10_000;
/**
 * The server sends a heartbeat on an idle pull this often; two missed end the consumer (about 2 s).
 * On a cluster, the consumer lives on one node: when that node dies while our connection stays up
 * (it is not the node we are connected to), nothing else tells us, and nats.js' default (half the
 * expiry, so 10 s to notice) kept a manager on an old ruleset for 12 to 17 s (docs/clusters.md).
 */
export const IDLE_HEARTBEAT_MS = 1_000;
/** The server deletes a consumer nobody pulls from for this long (we died without deleting it). */
export const CONSUMER_INACTIVE_THRESHOLD_MS = 60_000;
const PULL_BATCH = 64;

/**
 * A consumer name unique to this manager instance and attempt: `tailslide_<appId>_<12 hex>`. A
 * named consumer is created through `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>` (nats-server
 * 2.9+), a subject that carries the app's filter, so NATS permissions can confine a user to its
 * app (docs/permissions.md).
 */
export function consumerName(appId: number): string {
  return `tailslide_${appId}_${randomBytes(6).toString('hex')}`;
}

/** A creation not answered this soon is joined by a second one (see hedgedAdd). */
export const HEDGE_AFTER_MS = 400;

/**
 * Creates the consumer; when no answer came after HEDGE_AFTER_MS, also creates one under another
 * name, and takes whichever answers first (the other, if it is created, is deleted). On a cluster,
 * the meta leader places a new R1 consumer on one of the stream's peers and keeps a node that was
 * SIGKILLed as a candidate until it notices it is gone (more than 10 s with nats-server 2.9.10); a
 * creation placed there is never answered. Each attempt lands there with a chance of 1 in 3 on a
 * 3-node cluster; two at once, 1 in 9 (docs/clusters.md).
 */
async function hedgedAdd(target: AppConsumerTarget, config: Partial<ConsumerConfig>): Promise<ConsumerInfo> {
  const first = target.jsm.consumers.add(target.stream, config);
  if (config.name === undefined) return first;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const second = new Promise<ConsumerInfo>((resolve, reject) => {
    timer = setTimeout(() => {
      if (settled) return reject(new Error('not needed'));
      target.logger.debug(`consumer ${config.name ?? ''}: no answer after ${HEDGE_AFTER_MS} ms; creating a second one`);
      target.jsm.consumers.add(target.stream, { ...config, name: consumerName(target.appId) }).then(resolve, reject);
    }, HEDGE_AFTER_MS);
    timer.unref();
  });
  const attempts = [first, second];
  try {
    // The first error that is not a dropped request ends it at once (no stream, no permission).
    const winner = await new Promise<ConsumerInfo>((resolve, reject) => {
      let failed = 0;
      let firstError: unknown;
      for (const attempt of attempts) {
        attempt.then(resolve, (err: unknown) => {
          failed += 1;
          firstError ??= err;
          if (attempt === first && !isLeaderChangeError(err)) reject(asError(err));
          else if (failed === attempts.length) reject(asError(firstError));
        });
      }
    });
    inUse.add(winner);
    return winner;
  } finally {
    settled = true;
    clearTimeout(timer);
    // A creation that is answered after the winner leaves a consumer nobody reads: delete it.
    for (const attempt of attempts) {
      attempt.then(
        (info) => void lateConsumer(target, info),
        () => undefined,
      );
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Deletes a consumer created by the losing half of a hedged creation (not the one in use). */
const inUse = new WeakSet<object>();
async function lateConsumer(target: AppConsumerTarget, info: ConsumerInfo): Promise<void> {
  if (inUse.has(info)) return;
  try {
    await target.jsm.consumers.delete(target.stream, info.name);
  } catch (err) {
    target.logger.debug(`could not delete the spare consumer ${info.name}: ${errorMessage(err)}`);
  }
}

export interface AppConsumerHandlers {
  /** A message, in stream-sequence order. */
  message(msg: JsMsg): void;
  /**
   * The consumer ended or went wrong by itself: a new one is needed. Called at most once, never
   * after `stop()`.
   */
  ended(consumer: AppConsumer, reason: string, error: unknown): void;
}

export interface AppConsumerTarget {
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly appId: number;
  readonly logger: Logger;
}

export class AppConsumer {
  private stopped = false;
  private deliverySequence = 0;
  private messages: ConsumerMessages | undefined;

  private constructor(
    private readonly target: AppConsumerTarget,
    /** The consumer's name. */
    readonly name: string,
    /** Messages the consumer had to deliver when created (0: the app has published nothing yet). */
    readonly initialPending: number,
    private readonly handlers: AppConsumerHandlers,
  ) {}

  /** Creates the consumer on the server and starts consuming it. Rejects with the `nats` error. */
  static async start(target: AppConsumerTarget, handlers: AppConsumerHandlers): Promise<AppConsumer> {
    const config: Partial<ConsumerConfig> = {
      name: consumerName(target.appId),
      description: `tailslide-node: rulesets of app ${target.appId}`,
      filter_subject: appFilter(target.appId),
      deliver_policy: DeliverPolicy.LastPerSubject,
      ack_policy: AckPolicy.None,
      max_deliver: 1,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(CONSUMER_INACTIVE_THRESHOLD_MS),
    };
    let info: ConsumerInfo;
    try {
      info = await hedgedAdd(target, config);
    } catch (err) {
      // A server before 2.9 has no named-consumer API (the client says so before sending):
      // an unnamed consumer works there, it just cannot be confined by permissions.
      if (!/consumer 'name' requires server/.test(errorMessage(err))) throw err;
      target.logger.debug(`${errorMessage(err)}: creating the consumer without a name`);
      delete config.name;
      info = await target.jsm.consumers.add(target.stream, config);
    }
    const consumer = new AppConsumer(target, info.name, info.num_pending, handlers);
    try {
      await consumer.consume();
    } catch (err) {
      consumer.stop();
      await consumer.delete();
      throw err;
    }
    return consumer;
  }

  private async consume(): Promise<void> {
    const pull = await this.target.js.consumers.get(this.target.stream, this.name);
    if (this.stopped) return;
    const messages = await pull.consume({
      max_messages: PULL_BATCH,
      expires: PULL_EXPIRES_MS,
      idle_heartbeat: IDLE_HEARTBEAT_MS,
      abort_on_missing_resource: true,
      callback: (msg) => this.onMessage(msg),
    });
    this.messages = messages;
    messages
      .closed()
      .then(
        (err) =>
          this.end(err ? `consumer ${this.name} ended: ${errorMessage(err)}` : `consumer ${this.name} ended`, err),
        (err: unknown) => this.end(`consumer ${this.name} failed: ${errorMessage(err)}`, err),
      )
      .catch((err: unknown) => this.target.logger.error(`consumer ${this.name}: ${errorMessage(err)}`));
    void this.watch(messages).catch((err: unknown) => {
      this.target.logger.debug(`consumer ${this.name}: status watch ended: ${errorMessage(err)}`);
    });
  }

  /** The consumer's own reports: missed heartbeats mean the server stopped talking to it. */
  private async watch(messages: ConsumerMessages): Promise<void> {
    for await (const status of await messages.status()) {
      if (this.stopped) return;
      if (status.type === ConsumerDebugEvents.Next || status.type === ConsumerDebugEvents.Discard) continue; // routine pulls
      this.target.logger.debug(`consumer ${this.name}: ${status.type} ${JSON.stringify(status.data)}`);
      if (status.type === ConsumerEvents.HeartbeatsMissed) {
        this.end(`consumer ${this.name} missed ${String(status.data)} heartbeats`, undefined);
        return;
      }
    }
  }

  private onMessage(msg: JsMsg): void {
    if (this.stopped) return;
    const expected = this.deliverySequence + 1;
    this.deliverySequence = msg.info.deliverySequence;
    this.handlers.message(msg);
    // A gap means a message was lost on the way (no acks, one delivery): what it held may be
    // newer than anything after it on its subject, so read the last of each subject again.
    if (msg.info.deliverySequence !== expected && !this.stopped) {
      this.end(
        `consumer ${this.name} skipped from delivery ${expected - 1} to ${msg.info.deliverySequence}`,
        undefined,
      );
    }
  }

  private end(reason: string, error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.ended(this, reason, error);
  }

  /** False once stopped or ended. */
  get active(): boolean {
    return !this.stopped;
  }

  /** Stops consuming. Idempotent; no handler is called afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.messages?.stop();
  }

  /** Deletes the consumer on the server, best effort (it expires by itself otherwise). */
  async delete(): Promise<void> {
    try {
      await this.target.jsm.consumers.delete(this.target.stream, this.name);
    } catch (err) {
      this.target.logger.debug(`could not delete consumer ${this.name}: ${errorMessage(err)}`);
    }
  }
}
