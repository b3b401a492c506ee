/**
 * An app's change history, read from the ruleset stream: every message on its two subjects is a
 * whole ruleset, so each one is compared with the one before it. Only the newest part of the
 * stream is scanned (`MAX_SCANNED` stream sequences), to bound the work on a busy stream.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';
import { diffRulesets } from '../admin/diff';
import { parseRulesetPayload, toWire } from '../ruleset/parse';
import type { WireFlag } from '../ruleset/types';
import { appFilter } from '../nats/subjects';
import type { HistoryChange, HistoryEntry, HistoryResponse } from './contract';

/** Stream sequences scanned backwards from the newest (messages of every app count). */
export const MAX_SCANNED = 2_000;
/** Entries returned at most. */
export const MAX_ENTRIES = 200;

export async function readHistory(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  appId: number,
  options: { flagId?: number; limit?: number; timeoutMs?: number } = {},
): Promise<HistoryResponse> {
  const info = await jsm.streams.info(stream, { subjects_filter: appFilter(appId) });
  const perSubject = info.config.max_msgs_per_subject ?? -1;
  const retention = retentionNote(perSubject, info.config.max_age ?? 0, info.config.max_msgs ?? -1);
  const total = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  if (total === 0) return { entries: [], retention, maxMessagesPerSubject: perSubject, truncated: false };
  const start = Math.max(info.state.first_seq, info.state.last_seq - MAX_SCANNED + 1);
  const consumer = await js.consumers.get(stream, {
    filterSubjects: appFilter(appId),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: start,
  });
  const entries: HistoryEntry[] = [];
  let previous: readonly WireFlag[] | undefined;
  let first = true;
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
    let got = 0;
    let done = false;
    for await (const m of batch) {
      got += 1;
      const entry = entryOf(m, appId, previous, first && start > 1);
      entries.push(entry.entry);
      if (entry.flags !== undefined) {
        previous = entry.flags;
        first = false;
      }
      if (m.info.pending === 0) {
        // A fetch waits for its whole batch until it expires: stop at the last message.
        done = true;
        break;
      }
    }
    if (done || got === 0) break;
  }
  const flagId = options.flagId;
  const relevant =
    flagId === undefined
      ? entries
      : entries
          .map((e) => ({ ...e, changes: e.changes.filter((c) => c.flagId === flagId) }))
          .filter((e) => e.error !== undefined || e.changes.length > 0);
  const limit = Math.min(options.limit ?? MAX_ENTRIES, MAX_ENTRIES);
  return {
    entries: relevant.reverse().slice(0, limit),
    retention,
    maxMessagesPerSubject: perSubject,
    truncated: start > info.state.first_seq,
  };
}

/** One message as a history entry (compared with the ruleset before it), and its flags when valid. */
function entryOf(
  m: JsMsg,
  appId: number,
  previous: readonly WireFlag[] | undefined,
  baseline: boolean,
): { entry: HistoryEntry; flags?: readonly WireFlag[] } {
  const parsed = parseRulesetPayload(m.data, `${m.subject} #${m.seq}`, { appId });
  const time = new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString();
  const kind = m.subject.split('.').pop() ?? '';
  const base = { sequence: m.seq, subject: m.subject, kind, time };
  if (!parsed.ok) return { entry: { ...base, baseline: false, error: parsed.error.message, changes: [] } };
  const flags = parsed.flags.map(toWire);
  const diff = diffRulesets(previous ?? [], flags, { ignoreFields: ['updated_at'] });
  const changes: HistoryChange[] = [
    ...diff.added.map((f) => ({ flagId: f.id, title: f.title, kind: 'added' as const, fields: [] })),
    ...diff.removed.map((f) => ({ flagId: f.id, title: f.title, kind: 'removed' as const, fields: [] })),
    ...diff.changed.map((c) => ({
      flagId: c.id,
      title: c.title,
      kind: 'changed' as const,
      fields: c.fields.map(({ field, before, after }) => ({ field, before, after })),
    })),
  ];
  return { entry: { ...base, baseline, changes }, flags };
}

function retentionNote(perSubject: number, maxAgeNanos: number, maxMsgs: number): string | undefined {
  if (perSubject === 1)
    return 'This stream keeps only the last message per subject: only the current manual and circuit rulesets are kept, so earlier changes are not shown.';
  const notes: string[] = [];
  if (perSubject > 1) notes.push(`the last ${perSubject} messages per subject`);
  if (maxAgeNanos > 0) notes.push(`messages for ${Math.round(maxAgeNanos / 1e9 / 3600)} h`);
  if (maxMsgs > 0) notes.push(`at most ${maxMsgs} messages`);
  return notes.length === 0 ? undefined : `This stream keeps ${notes.join(', ')}: older changes are gone.`;
}
