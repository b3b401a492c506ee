/** Reading rulesets back from the stream: the last message of a subject, of an app, of every app. */
import type { JetStreamManager, StoredMsg } from 'nats';
import { JS_ERR, apiErrorCode } from '../nats/errors';
import { InvalidRulesetError, type RulesetIssue } from '../errors';
import type { WireFlag } from '../ruleset/types';
import { parseRuleset, parseRulesetPayload, rulesetText, toWire } from '../ruleset/parse';
import { TARGETING_FIELDS } from '../ruleset/targeting';
import { arrayElementTexts } from './raw-json';
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

/**
 * A flag of a stored ruleset that fails validation (Tower accepts an empty title, for one). The
 * admin keeps it verbatim, in its position, when it republishes the app, and shows it with why.
 */
export interface InvalidFlag {
  /** Its position in the stored ruleset. */
  readonly index: number;
  /** Its id, when it has a usable one. */
  readonly id: number | undefined;
  /** Its title, when it is a string (possibly empty). */
  readonly title: string | undefined;
  /** The flag as parsed from JSON. */
  readonly raw: unknown;
  /** Its exact text in the message, written back byte for byte. */
  readonly json: string;
  /** Why it is invalid: each field at fault. */
  readonly issues: readonly RulesetIssue[];
}

/** One position of a stored ruleset: a valid flag (by id) or an invalid one. */
export type RulesetSlot = { readonly id: number; readonly invalid?: undefined } | { readonly invalid: InvalidFlag };

/** A stored ruleset read flag by flag. */
export interface DecodedRuleset {
  /** The valid flags, in order, in the wire format. */
  readonly flags: WireFlag[];
  /** The flags that fail validation, in order. */
  readonly invalid: InvalidFlag[];
  /** Every position in order. */
  readonly slots: RulesetSlot[];
}

/**
 * The flags of a stored ruleset, validated flag by flag: the valid ones in the wire format, the
 * others kept verbatim as `InvalidFlag`s (also a second flag of a title or id already seen).
 * Throws `InvalidRulesetError` (naming subject and sequence) only when the message is not a JSON
 * array. The targeting fields of a valid flag are kept as they were written (with any fields this
 * SDK does not know inside rules or targets), not rebuilt from the parsed flag.
 */
export function decodeRuleset(stored: StoredRuleset, appId: number): DecodedRuleset {
  const origin = originOf(stored);
  const text = rulesetText(stored.data);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value)) {
    const parsed = parseRulesetPayload(stored.data, origin, { appId });
    throw parsed.ok ? new InvalidRulesetError(origin, [{ message: 'expected a JSON array of flags' }]) : parsed.error;
  }
  const texts = arrayElementTexts(text);
  const decoded: DecodedRuleset = { flags: [], invalid: [], slots: [] };
  const titles = new Map<string, number>();
  const ids = new Map<number, number>();
  value.forEach((item: unknown, index) => {
    const json = texts?.length === value.length ? (texts[index] ?? JSON.stringify(item)) : JSON.stringify(item);
    const parsed = parseRuleset([item], origin, { appId });
    let issues: RulesetIssue[];
    if (parsed.ok && parsed.flags[0] !== undefined) {
      const flag = parsed.flags[0];
      const where = { index, id: flag.id, title: flag.title };
      const sameTitle = titles.get(flag.title);
      const sameId = ids.get(flag.id);
      if (sameTitle !== undefined) {
        issues = [{ ...where, field: 'title', message: `duplicate title (also flag #${sameTitle})` }];
      } else if (sameId !== undefined) {
        issues = [{ ...where, field: 'id', message: `duplicate id ${flag.id} (also flag #${sameId})` }];
      } else {
        titles.set(flag.title, index);
        ids.set(flag.id, index);
        decoded.flags.push(withRawTargeting(toWire(flag), item));
        decoded.slots.push({ id: flag.id });
        return;
      }
    } else {
      issues = parsed.ok ? [] : parsed.error.issues.map((issue) => ({ ...issue, index }));
    }
    const raw = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    const id = typeof raw.id === 'number' && Number.isSafeInteger(raw.id) && raw.id >= 0 ? raw.id : undefined;
    const title = typeof raw.title === 'string' ? raw.title : undefined;
    const invalid: InvalidFlag = { index, id, title, raw: item, json, issues };
    decoded.invalid.push(invalid);
    decoded.slots.push({ invalid });
  });
  return decoded;
}

/** `wire` with the targeting fields of `raw` as they were written (a valid flag's, so safe to keep). */
export function withRawTargeting(wire: WireFlag, raw: unknown): WireFlag {
  const out: WireFlag = { ...wire };
  if (typeof raw !== 'object' || raw === null) return out;
  for (const field of TARGETING_FIELDS) {
    const value = (raw as Record<string, unknown>)[field];
    if (value !== undefined) out[field] = JSON.parse(JSON.stringify(value)) as unknown;
  }
  return out;
}

/** The flag named by title (string) or id (number) among the invalid flags, or undefined. */
export function findInvalidFlag(invalid: readonly InvalidFlag[], ref: string | number): InvalidFlag | undefined {
  return invalid.find((flag) => (typeof ref === 'number' ? flag.id === ref : flag.title === ref));
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
