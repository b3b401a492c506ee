/**
 * Subjects of the ruleset stream (docs/wire-format.md §1) and NATS subject matching, pure and unit-tested.
 *
 * An app publishes on exactly two subjects, `apps.<appId>.update.manual` and
 * `apps.<appId>.update.circuit`. Tower's stream lists them literally, added one by one as apps
 * get flags, next to its four control subjects; that is also the layout this project's tooling
 * creates by default. The wildcard `apps.*.update.*` captures every app at once, but Tower
 * (which appends literal app subjects: "overlaps") and Aerobat (whose consumer filter
 * `apps.<id>.>` a 2.9 server refuses on it) cannot use a stream that lists it.
 */

/** Every app's two subjects: the wildcard stream layout, and the filter for "messages of any app". */
export const ALL_APPS_SUBJECTS = 'apps.*.update.*';

/**
 * Tower's control subjects, on which a breaker (Aerobat) asks Tower to change a circuit; Tower
 * lists them in its stream and re-publishes the app on `apps.<id>.update.circuit`.
 */
export const TOWER_CONTROL_SUBJECTS: readonly string[] = [
  'circuit_open',
  'circuit_close',
  'circuit_recovery_start',
  'circuit_recovery_update',
];

/**
 * How a new ruleset stream lists its subjects. `literal` (Tower's layout, the default): one app's
 * two subjects and the control subjects, then each further app's two subjects as apps are
 * written; `wildcard`: `apps.*.update.*` only, for deployments without Tower and Aerobat.
 */
export type StreamLayout = 'literal' | 'wildcard';

export const STREAM_LAYOUTS: readonly StreamLayout[] = ['literal', 'wildcard'];

/**
 * The subjects a new stream of `layout` starts with. `literal` lists the subjects of `appId`
 * (app 1 when not given, as Tower's new stream does) before the control subjects: a 2.9 server
 * refuses Aerobat's consumer on `apps.*.update.manual` while the stream lists no app at all.
 */
export function initialStreamSubjects(layout: StreamLayout, appId?: number): string[] {
  if (layout === 'wildcard') return [ALL_APPS_SUBJECTS];
  return [...appSubjects(appId ?? 1), ...TOWER_CONTROL_SUBJECTS];
}

export function manualSubject(appId: number): string {
  return `apps.${appId}.update.manual`;
}

export function circuitSubject(appId: number): string {
  return `apps.${appId}.update.circuit`;
}

/** The two subjects an app publishes on, manual first. */
export function appSubjects(appId: number): readonly [string, string] {
  return [manualSubject(appId), circuitSubject(appId)];
}

/**
 * The consumer filter of an app: `apps.<appId>.update.*`, not `apps.<appId>.>`.
 *
 * A NATS 2.9 server accepts a filter only when it lies inside one stream subject or contains one
 * (checked on nats-server 2.9.10): `apps.7.>` is refused by a stream of `apps.*.update.*`
 * ("consumer filter subject is not a valid subset of the interest subjects"), while
 * `apps.7.update.*` is accepted by that stream, by Tower's literal subjects, by `apps.>` and `>`.
 * It selects the same messages, since an app publishes only on its two subjects.
 */
export function appFilter(appId: number): string {
  return `apps.${appId}.update.*`;
}

/**
 * Inbox prefix of a manager's connection: the replies it gets (JetStream API answers, pulled
 * messages) arrive on `_INBOX.tailslide.<appId>.…`, so a user can be allowed to subscribe to its
 * own app's replies only (`_INBOX.tailslide.<appId>.>`), not to every client's (`_INBOX.>`, which
 * still covers it).
 */
export function appInboxPrefix(appId: number): string {
  return `_INBOX.tailslide.${appId}`;
}

/** The app id of `apps.<appId>.update.<kind>`, or undefined for any other subject. */
export function appIdOfSubject(subject: string): number | undefined {
  const match = /^apps\.(\d+)\.update\.(manual|circuit)$/.exec(subject);
  if (!match || match[1] === undefined) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

/**
 * Whether a subject pattern (which may hold `*`, one token, and a final `>`, one or more tokens)
 * matches a literal subject, with NATS semantics.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>' && i === p.length - 1) return s.length > i && s.slice(i).every((t) => t !== '');
    const literal = s[i];
    if (literal === undefined || literal === '') return false;
    if (token !== '*' && token !== literal) return false;
  }
  return p.length === s.length;
}

/** Whether any of the stream's subjects captures `subject`. */
export function streamCovers(streamSubjects: readonly string[], subject: string): boolean {
  return streamSubjects.some((pattern) => subjectMatches(pattern, subject));
}

/** Whether a stream with these subjects can hold any of the app's ruleset messages. */
export function streamCoversApp(streamSubjects: readonly string[], appId: number): boolean {
  return appSubjects(appId).some((subject) => streamCovers(streamSubjects, subject));
}

/** The stream's subjects for a message: the first few, then how many more. */
export function describeSubjects(subjects: readonly string[], max = 5): string {
  if (subjects.length === 0) return 'no subjects';
  const shown = subjects.slice(0, max).join(', ');
  return subjects.length > max ? `${shown} and ${subjects.length - max} more` : shown;
}

/**
 * The RePublish of a stream made for direct delivery (docs/wire-format.md): every message on an
 * app's subjects is copied to `tailslide.live.apps.<id>.update.<kind>`, with its headers
 * (`Nats-Sequence`, `Nats-Last-Sequence`, …). nats-server 2.9 needs `{{wildcard(n)}}` in `dest`.
 */
export const LIVE_REPUBLISH = {
  src: 'apps.*.update.*',
  dest: 'tailslide.live.apps.{{wildcard(1)}}.update.{{wildcard(2)}}',
} as const;
