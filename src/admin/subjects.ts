/** Subject names of the ruleset stream (wire-format.md §1) and NATS subject matching. */

/** What a stream created by this project's tooling captures: every app's two subjects. */
export const ALL_APPS_SUBJECTS = 'apps.*.update.*';

export function manualSubject(appId: number): string {
  return `apps.${appId}.update.manual`;
}

export function circuitSubject(appId: number): string {
  return `apps.${appId}.update.circuit`;
}

/** The two subjects of an app, manual first. */
export function appSubjects(appId: number): [string, string] {
  return [manualSubject(appId), circuitSubject(appId)];
}

/**
 * Consumer filter of everything an app publishes: `apps.<appId>.update.*`, not `apps.<appId>.>`.
 * A 2.9 server accepts a filter only inside one stream subject or containing one: `apps.7.>` is
 * refused by a stream of `apps.*.update.*` ("consumer filter subject is not a valid subset of the
 * interest subjects"), `apps.7.update.*` is accepted by it and by Tower's literal subjects alike.
 */
export function appFilter(appId: number): string {
  return `apps.${appId}.update.*`;
}

/** The app id of `apps.<appId>.update.<kind>`, or undefined for any other subject. */
export function appIdOfSubject(subject: string): number | undefined {
  const match = /^apps\.(\d+)\.update\.(manual|circuit)$/.exec(subject);
  if (!match || match[1] === undefined) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** Whether a stream subject (may hold `*` and `>`) captures a literal subject. */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Whether any of the stream's subjects captures `subject`. */
export function streamCovers(streamSubjects: readonly string[], subject: string): boolean {
  return streamSubjects.some((pattern) => subjectCovers(pattern, subject));
}
