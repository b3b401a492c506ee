/**
 * Watching an app's ruleset: an ordered consumer on `apps.<appId>.update.*` that starts with the last
 * message of each subject and follows every new one, reporting each new ruleset with its diff.
 */
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';
import type { InvalidRulesetError, RulesetIssue } from '../errors';
import type { Logger } from '../logger';
import { FlagIssueLog } from '../ruleset/issues';
import { parseRulesetPayloadLenient, toWire } from '../ruleset/parse';
import type { WireFlag } from '../ruleset/types';
import { diffRulesets, type DiffOptions, type RulesetDiff } from './diff';
import { StreamNotFoundError } from './errors';
import { streamInfo } from './stream';
import { appFilter, appSubjects, streamCovers } from '../nats/subjects';

/** One new ruleset of the watched app. */
export interface RulesetUpdate {
  readonly appId: number;
  readonly subject: string;
  readonly sequence: number;
  readonly time: Date;
  /** True for the ruleset that was current when the watch started: its diff lists every flag as added. */
  readonly initial: boolean;
  /**
   * The new ruleset's valid flags, as SDKs apply it; undefined when the message is not usable at
   * all (not a JSON array, or no valid flag: SDKs keep the previous ruleset).
   */
  readonly flags: readonly WireFlag[] | undefined;
  /**
   * Flags SDKs leave out of this ruleset (an empty title from Tower, say), each (flag, reason)
   * reported once: in the first update that has it, not again while later ones still do.
   */
  readonly invalidFlags: readonly RulesetIssue[];
  /** Why the message is invalid, naming flag and field. */
  readonly error: InvalidRulesetError | undefined;
  /** Changes against the last valid ruleset seen; empty for an invalid message. */
  readonly diff: RulesetDiff;
}

export interface WatchOptions {
  /**
   * The watch is waiting for something outside its control (no stream, the app's subjects not in
   * a Tower-style stream yet, a lost consumer). Called again only when the reason changes.
   */
  readonly onWaiting?: (reason: string) => void;
  /** Wait between attempts to (re)start the consumer. Default 1000 ms. */
  readonly retryMs?: number;
  /** Passed to the diff, e.g. `{ ignoreFields: ['updated_at'] }`. */
  readonly diff?: DiffOptions;
}

/** Stops a watch; resolves once its consumer is gone. Idempotent. */
export type StopWatch = () => Promise<void>;

export const DEFAULT_WATCH_RETRY_MS = 1_000;

const EMPTY_DIFF: RulesetDiff = Object.freeze({ added: [], removed: [], changed: [] });

export function watchRuleset(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  appId: number,
  onUpdate: (update: RulesetUpdate) => void,
  options: WatchOptions,
  logger: Logger,
): StopWatch {
  const retryMs = options.retryMs ?? DEFAULT_WATCH_RETRY_MS;
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let wake: (() => void) | undefined;
  /** A `consume()` call is in flight: the client cannot cancel it, so stop() does not wait for it. */
  let consuming = false;

  const reasons = waitReporter(appId, options, logger);
  const waiting = reasons.say;

  const handle = updateHandler(appId, options, onUpdate, logger, reasons.clear);

  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        const info = await streamInfo(jsm, stream);
        if (info === undefined) throw new StreamNotFoundError(stream);
        // On a stream with literal subjects (Tower's) a filter on an app it does not list yet is
        // refused by 2.9 servers, and the client would retry that for minutes: check first.
        if (!appSubjects(appId).some((subject) => streamCovers(info.config.subjects ?? [], subject))) {
          waiting(
            `stream "${stream}" does not list the subjects of app ${appId} yet (apps.${appId}.update.manual / .circuit)`,
          );
        } else {
          const consumer = await js.consumers.get(stream, {
            filterSubjects: appFilter(appId),
            deliver_policy: DeliverPolicy.LastPerSubject,
          });
          consuming = true;
          const iter = await consumer.consume().finally(() => {
            consuming = false;
          });
          messages = iter;
          if (stopped) {
            iter.stop();
            break;
          }
          for await (const m of iter) handle(m);
          if (stopped) break;
          waiting(`the consumer on ${appFilter(appId)} ended; restarting it`);
        }
      } catch (err) {
        if (stopped) break;
        waiting(
          err instanceof StreamNotFoundError
            ? `stream "${stream}" does not exist yet`
            : `cannot follow ${appFilter(appId)}: ${(err as Error).message}`,
        );
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  const done = run().catch((err: unknown) => {
    logger.error(`watch of app ${appId} stopped: ${(err as Error).message}`);
  });
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      stopped = true;
      wake?.();
      messages?.stop();
      // A consume() still creating its consumer (the client retries that for a long time when the
      // server refuses) ends the loop when it settles; closing the connection settles it at once.
      if (!consuming) await done;
    })();
    return stopping;
  };
}

/**
 * Turns the consumer's messages into updates: skips what a restarted consumer delivers again,
 * holds back the initial batch's older subject, diffs each ruleset against the previous one.
 * `following` is called for each new message (the watch is following again).
 */
function updateHandler(
  appId: number,
  options: WatchOptions,
  onUpdate: (update: RulesetUpdate) => void,
  logger: Logger,
  following: () => void,
): (m: JsMsg) => void {
  const issueLog = new FlagIssueLog();
  let lastSequence = 0;
  let reportedInitial = false;
  let base: readonly WireFlag[] = [];
  return (m: JsMsg): void => {
    // A restarted consumer begins again at the last message of each subject: skip what we saw.
    if (m.seq <= lastSequence) return;
    lastSequence = m.seq;
    following();
    const parsed = parseRulesetPayloadLenient(m.data, `${m.subject} #${m.seq}`, { appId });
    const flags = parsed.ok ? parsed.flags.map(toWire) : undefined;
    if (!reportedInitial && m.info.pending > 0) {
      // Still in the initial batch (the older subject's last message): not the current ruleset.
      if (flags) base = flags;
      return;
    }
    const initial = !reportedInitial;
    reportedInitial = true;
    const invalidFlags = parsed.ok ? issueLog.fresh(parsed.issues) : [];
    const update: RulesetUpdate = {
      appId,
      subject: m.subject,
      sequence: m.seq,
      time: new Date(Math.floor(m.info.timestampNanos / 1e6)),
      initial,
      flags,
      invalidFlags,
      error: parsed.ok ? undefined : parsed.error,
      diff: flags ? diffRulesets(initial ? [] : base, flags, options.diff) : EMPTY_DIFF,
    };
    if (flags) base = flags;
    try {
      onUpdate(update);
    } catch (err) {
      logger.error(`watch of app ${appId}: the update callback threw: ${(err as Error).message}`);
    }
  };
}

/** Says each distinct reason for not following once (a log line and `onWaiting`), until `clear`. */
function waitReporter(
  appId: number,
  options: WatchOptions,
  logger: Logger,
): { say: (reason: string) => void; clear: () => void } {
  let lastReason: string | undefined;
  return {
    say: (reason: string): void => {
      if (reason === lastReason) return;
      lastReason = reason;
      logger.info(`watch of app ${appId}: ${reason}`);
      try {
        options.onWaiting?.(reason);
      } catch (err) {
        logger.error(`watch of app ${appId}: the onWaiting callback threw: ${(err as Error).message}`);
      }
    },
    clear: (): void => {
      lastReason = undefined;
    },
  };
}
