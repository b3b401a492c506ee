/** Reading rulesets back from the stream: the last message of a subject, of an app, of every app. */
import type { JetStreamManager, StoredMsg } from 'nats';
import { JS_ERR, apiErrorCode } from '../nats/errors';
import type { WireFlag } from '../ruleset/types';
import { parseRulesetPayload, rulesetText, toWire } from '../ruleset/parse';
import { StreamNotFoundError, StreamRequestError } from './errors';
import { appIdOfSubject, appSubjects } from '../nats/subjects';

/**
 * Header this library puts on every ruleset it publishes: the highest flag id it knows to have been
 * handed out in the stream, deleted flags included. New ids start above it, so a deleted flag's id
 * (and its signal series in Redis) is never reused.
 */
export const HIGH_WATER_HEADER = 'Tailslide-Flag-Id-High-Water';

/** A ruleset message as stored in the stream. */
export interface StoredRuleset {
  readonly subject: string;
  readonly sequence: number;
  readonly time: Date;
  readonly data: Uint8Array;
  /** The `Tailslide-Flag-Id-High-Water` header, when this library published the message. */
  readonly highWater: number | undefined;
}

/** The last messages of an app's two subjects, and which of them is the current ruleset. */
export interface AppMessages {
  readonly manual: StoredRuleset | undefined;
  readonly circuit: StoredRuleset | undefined;
  /** The newer of the two (highest sequence): the app's current ruleset. */
  readonly newest: StoredRuleset | undefined;
}

/** Where a message came from, for error messages: `apps.1.update.manual #42`. */
export function originOf(stored: StoredRuleset): string {
  return `${stored.subject} #${stored.sequence}`;
}

/** The last message on `subject`, or undefined when it has none (or the stream does not list it). */
export async function lastMessage(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<StoredRuleset | undefined> {
  let msg: StoredMsg;
  try {
    msg = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  } catch (err) {
    const code = apiErrorCode(err);
    if (code === JS_ERR.NO_MESSAGE_FOUND) return undefined;
    if (code === JS_ERR.STREAM_NOT_FOUND) throw new StreamNotFoundError(stream, { cause: err });
    throw new StreamRequestError(`read the last message on ${subject} in stream "${stream}"`, err, code);
  }
  const header = msg.header.get(HIGH_WATER_HEADER);
  const highWater = /^\d+$/.test(header) ? Number(header) : undefined;
  return { subject: msg.subject, sequence: msg.seq, time: msg.time, data: msg.data, highWater };
}

export async function readAppMessages(jsm: JetStreamManager, stream: string, appId: number): Promise<AppMessages> {
  const [manual, circuit] = await Promise.all(appSubjects(appId).map((subject) => lastMessage(jsm, stream, subject)));
  const newest = manual && circuit ? (circuit.sequence > manual.sequence ? circuit : manual) : (manual ?? circuit);
  return { manual, circuit, newest };
}

/** The flags of a stored ruleset, validated; throws `InvalidRulesetError` naming subject and sequence. */
export function decodeRuleset(stored: StoredRuleset, appId: number): WireFlag[] {
  const parsed = parseRulesetPayload(stored.data, originOf(stored), { appId });
  if (!parsed.ok) throw parsed.error;
  return parsed.flags.map(toWire);
}

/** Flag ids found in a payload, read leniently (a broken message of another app must not block us). */
export function lenientIds(data: Uint8Array): number[] {
  let value: unknown;
  try {
    value = JSON.parse(rulesetText(data));
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const ids: number[] = [];
  for (const item of value) {
    const id: unknown = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ids.push(id);
  }
  return ids;
}

/** What the last messages of every app in the stream say about flag ids. */
export interface IdScan {
  /** The highest id in any app's current ruleset or any high-water header; 0 when none. */
  readonly maxId: number;
  /** Ids in each app's current ruleset: id → app id. */
  readonly owners: ReadonlyMap<number, number>;
}

/**
 * Reads the last message of each `apps.<id>.update.<kind>` subject in `subjects` (the stream's
 * subject list from a stream info with a subject filter) and collects the flag ids they hold.
 */
export async function scanIds(jsm: JetStreamManager, stream: string, subjects: readonly string[]): Promise<IdScan> {
  const byApp = new Map<number, StoredRuleset[]>();
  const appSubjectList = subjects.filter((subject) => appIdOfSubject(subject) !== undefined);
  const stored = await mapLimit(appSubjectList, 16, (subject) => lastMessage(jsm, stream, subject));
  let maxId = 0;
  for (const message of stored) {
    if (!message) continue;
    const appId = appIdOfSubject(message.subject);
    if (appId === undefined) continue;
    const list = byApp.get(appId) ?? [];
    list.push(message);
    byApp.set(appId, list);
    if (message.highWater !== undefined) maxId = Math.max(maxId, message.highWater);
  }
  const owners = new Map<number, number>();
  for (const [appId, messages] of byApp) {
    for (const message of messages) for (const id of lenientIds(message.data)) maxId = Math.max(maxId, id);
    const newest = messages.reduce((a, b) => (b.sequence > a.sequence ? b : a));
    for (const id of lenientIds(newest.data)) owners.set(id, appId);
  }
  return { maxId, owners };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      results[index] = await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
