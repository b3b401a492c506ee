/**
 * The read-modify-write loop behind every flag edit, guarded against concurrent writers.
 *
 * Each attempt notes the stream's last sequence, reads the app's current ruleset (the newest of
 * its manual and circuit subjects), applies the edit and publishes the whole new ruleset on the
 * manual subject with `Nats-Expected-Last-Sequence` set to the noted sequence. If anything at all
 * was published to the stream in between (another admin's edit, a circuit change by the breaker,
 * another app's edit) the server refuses it, and the edit is re-applied to a fresh read after a
 * short jittered wait, up to `maxAttempts` times.
 *
 * The guard is stream-wide rather than per subject on purpose: the current ruleset is the newest
 * message across TWO subjects, and a per-subject guard on the manual subject would let a circuit
 * message that lands between our read and our write be silently overwritten. It also makes id
 * allocation safe across apps (no two creates anywhere can hand out the same id). The cost is an
 * occasional retry when another app's subject is written at the same moment.
 */
import { headers, type JetStreamClient, type JetStreamManager, type PubAck } from 'nats';
import { InvalidRulesetError } from '../errors';
import type { Logger } from '../logger';
import type { WireFlag } from '../ruleset/types';
import { validateRuleset, type EditContext, type EditResult, type RulesetEdit } from './edits';
import { EditConflictError, StreamNotFoundError, StreamRequestError } from './errors';
import { JS_ERR, apiErrorCode, errorCode, errorMessage, isLeaderChangeError } from '../nats/errors';
import {
  HIGH_WATER_HEADER,
  decodeRuleset,
  lenientIds,
  readAppMessages,
  scanIds,
  type DecodedRuleset,
  type StoredRuleset,
} from './read';
import { ensureStream, streamInfo } from './stream';
import { ALL_APPS_SUBJECTS, circuitSubject, manualSubject, streamCovers } from '../nats/subjects';
import { sleep } from '../util/sleep';

/** The `nats` client's code for a publish no stream answered ("no responders"). */
const NO_STREAM_ANSWERED = '503';
/**
 * Rounds of an edit that fails while a JetStream cluster changes leaders, and their waits: about
 * 30 s in all, more than a 2.9 cluster takes to elect (a few seconds measured on 3 nodes).
 */
const LEADER_CHANGE_ROUNDS = 15;
const LEADER_CHANGE_RETRY_MS = 250;
const LEADER_CHANGE_RETRY_MAX_MS = 3_000;

export interface WriterContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export interface WriteOptions {
  /** What the edit does, for logs and errors: `create flag "x"`. */
  readonly what: string;
  /** Read every app's last messages: needed to hand out new ids and to check ids across apps. */
  readonly allApps?: boolean;
  /** The edit replaces the ruleset whole: the current one may be invalid (then it is passed as undefined). */
  readonly replace?: boolean;
  /** Publish on the app's circuit subject (the circuit breaker's writes) instead of the manual one. */
  readonly circuit?: boolean;
}

/** What an edit did. */
export interface EditOutcome {
  readonly appId: number;
  /** False when the edit changed nothing: then nothing was published. */
  readonly published: boolean;
  /** Subject and sequence of the published message (or of the current ruleset when unchanged). */
  readonly subject: string;
  readonly sequence: number | undefined;
  /** The app's whole ruleset after the edit. */
  readonly flags: readonly WireFlag[];
  /** The flag created, changed or deleted, when the edit is about one flag. */
  readonly flag: WireFlag | undefined;
  /** How many times the edit was applied (more than 1 when other writers got in first). */
  readonly attempts: number;
}

/**
 * Applies the edit, as `applyEditAttempts` does, again when the cluster was changing leaders (a
 * node lost, a stream electing): a read or the publish then fails or times out. A publish that
 * timed out may have been stored all the same: the next round finds the stream moved on, re-reads
 * and applies the edit to what it finds (an edit that is already there changes nothing and is not
 * published again).
 */
export async function applyEdit(
  ctx: WriterContext,
  appId: number,
  edit: RulesetEdit,
  options: WriteOptions,
): Promise<EditOutcome> {
  for (let round = 1; ; round++) {
    try {
      return await applyEditAttempts(ctx, appId, edit, options);
    } catch (err) {
      if (!isLeaderChangeError(err) || round >= LEADER_CHANGE_ROUNDS) throw err;
      ctx.logger.debug(`${options.what} in app ${appId}: ${errorMessage(err)} (round ${round}); retrying`);
      await sleep(backoffMs(round, LEADER_CHANGE_RETRY_MS, LEADER_CHANGE_RETRY_MAX_MS));
    }
  }
}

async function applyEditAttempts(
  ctx: WriterContext,
  appId: number,
  edit: RulesetEdit,
  options: WriteOptions,
): Promise<EditOutcome> {
  const subject = options.circuit ? circuitSubject(appId) : manualSubject(appId);
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    const read = await readForEdit(ctx, appId, options);
    const { info, guard, app, decoded, editContext } = read;
    const current = decoded?.flags;
    const result = edit(current, editContext);
    if (!result.changed) {
      return {
        appId,
        published: false,
        subject: app.newest?.subject ?? subject,
        sequence: app.newest?.sequence,
        flags: result.flags,
        flag: result.flag,
        attempts: attempt,
      };
    }
    // The whole ruleset must be one the SDK accepts (unique titles and ids, every field in range).
    validateRuleset(result.flags, `app ${appId} after ${options.what}`, appId);
    for (const flag of result.flags) read.highWater = Math.max(read.highWater, flag.id);
    const merged = options.replace ? undefined : mergeInvalid(decoded, result);

    if (!streamCovers(info.config.subjects ?? [], subject)) {
      // A stream with literal subjects (Tower's layout, our default) that does not list this app
      // yet: add its two subjects before the first publish, as Tower does, and wait for that.
      // The check costs nothing (the stream info is read for the guard anyway), so it runs on
      // every attempt and also repairs subjects another writer's update dropped. Updating the
      // config does not move the stream's last sequence, so the guard still holds.
      await ensureStream(ctx.jsm, ctx.stream, appId, ctx.logger);
    }

    const h = headers();
    h.set(HIGH_WATER_HEADER, String(read.highWater));
    let ack: PubAck;
    try {
      ack = await ctx.js.publish(subject, merged?.text ?? JSON.stringify(result.flags), {
        expect: { lastSequence: guard },
        headers: h,
      });
    } catch (err) {
      const code = apiErrorCode(err);
      if (errorCode(err) === NO_STREAM_ANSWERED && attempt < ctx.maxAttempts) {
        // No stream captures the subject any more: a concurrent subject update (ours from another
        // process, or Tower's, which writes back the subject list it read at its start) dropped
        // it between our check and the publish. The next attempt adds it again.
        ctx.logger.warn(
          `${options.what} in app ${appId}: no stream captured ${subject} (its subjects were replaced by another writer); adding them again`,
        );
        continue;
      }
      if (code !== JS_ERR.WRONG_LAST_SEQUENCE) {
        throw new StreamRequestError(
          `${options.what} in app ${appId} (publish on ${subject}; the edit may not have been applied)`,
          err,
          code,
        );
      }
      ctx.logger.debug(
        `${options.what} in app ${appId}: the stream moved past #${guard} (attempt ${attempt}); re-reading`,
      );
      if (attempt < ctx.maxAttempts) await sleep(backoffMs(attempt, ctx.retryBaseMs, ctx.retryMaxMs));
      continue;
    }
    ctx.logger.debug(`${options.what} in app ${appId}: published ${subject} #${ack.seq}`);
    return {
      appId,
      published: true,
      subject,
      sequence: ack.seq,
      flags: merged?.flags ?? result.flags,
      flag: result.flag,
      attempts: attempt,
    };
  }
  throw new EditConflictError(appId, ctx.maxAttempts, options.what);
}

/**
 * The text to publish: the edited valid flags, and the invalid flags of the stored ruleset verbatim
 * in their positions (unless the edit fixed or deleted one). Valid flags keep their positions by
 * id; new ones go at the end. Undefined when the stored ruleset had no invalid flag.
 */
export function mergeInvalid(
  decoded: DecodedRuleset | undefined,
  result: EditResult,
): { text: string; flags: WireFlag[] } | undefined {
  if (decoded === undefined || decoded.invalid.length === 0) return undefined;
  const byId = new Map(result.flags.map((flag) => [flag.id, flag]));
  const parts: string[] = [];
  const flags: WireFlag[] = [];
  const emit = (flag: WireFlag | undefined): void => {
    if (flag === undefined || byId.get(flag.id) !== flag) return;
    byId.delete(flag.id);
    parts.push(JSON.stringify(flag));
    flags.push(flag);
  };
  for (const slot of decoded.slots) {
    if (slot.invalid === undefined) emit(byId.get(slot.id));
    else if (result.fixed === slot.invalid.index) emit(result.flag);
    else if (result.dropped !== slot.invalid.index) parts.push(slot.invalid.json);
  }
  for (const flag of result.flags) emit(flag);
  return { text: `[${parts.join(',')}]`, flags };
}

/** A replaced ruleset is read only for what it can tell (creation times): an invalid one is ignored. */
function decodeOrUndefined(stored: StoredRuleset, appId: number): DecodedRuleset | undefined {
  try {
    return decodeRuleset(stored, appId);
  } catch (err) {
    if (err instanceof InvalidRulesetError) return undefined;
    throw err;
  }
}

/** Full jitter: a random wait up to base·2^(attempt−1), capped, never below `base`/2. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(baseMs / 2 + random() * Math.max(0, ceiling - baseMs / 2));
}

/** What one attempt of an edit reads first: the stream's guard, the app's messages, the ids in use. */
async function readForEdit(ctx: WriterContext, appId: number, options: WriteOptions) {
  const info = await streamInfo(ctx.jsm, ctx.stream, options.allApps ? ALL_APPS_SUBJECTS : undefined);
  if (info === undefined) throw new StreamNotFoundError(ctx.stream);
  const guard = info.state.last_seq;
  const app = await readAppMessages(ctx.jsm, ctx.stream, appId);
  const decoded =
    app.newest === undefined
      ? undefined
      : options.replace
        ? decodeOrUndefined(app.newest, appId)
        : decodeRuleset(app.newest, appId);
  const scan = options.allApps ? await scanIds(ctx.jsm, ctx.stream, Object.keys(info.state.subjects ?? {})) : undefined;

  let highWater = scan?.maxId ?? 0;
  for (const message of [app.manual, app.circuit]) {
    if (message === undefined) continue;
    highWater = Math.max(highWater, message.highWater ?? 0, ...lenientIds(message.data));
  }
  const otherAppIds = new Map<number, number>();
  for (const [id, owner] of scan?.owners ?? []) if (owner !== appId) otherAppIds.set(id, owner);
  const editContext: EditContext = {
    appId,
    stream: ctx.stream,
    nowIso: ctx.now().toISOString(),
    otherAppIds,
    invalidFlags: decoded?.invalid ?? [],
    allocateId: () => {
      if (scan === undefined) throw new Error(`internal: ${options.what} allocates an id without reading all apps`);
      read.highWater += 1;
      return read.highWater;
    },
  };

  const read = { info, guard, app, decoded, highWater, editContext };
  return read;
}
