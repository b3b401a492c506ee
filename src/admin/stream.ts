/**
 * Creating the ruleset stream, and adding an app's literal subjects to it before its first write.
 *
 * The default layout is Tower's: literal subjects per app plus Tower's control subjects, so that
 * Tower can append the subjects of the apps it publishes for and Aerobat's consumer filter
 * `apps.<id>.>` is accepted. The wildcard layout (`apps.*.update.*`) is an explicit choice for
 * deployments without them.
 *
 * Subjects are added the way Tower adds them, with a stream update that replaces the whole subject
 * list. NATS has no compare-and-set for stream configs, so two writers adding different apps at
 * the same moment can each drop the other's subjects. Each call therefore re-reads the stream after
 * its update and adds again what is missing, its own app's subjects and those of every app that
 * has messages in the stream; the writer (writer.ts) also recovers when a publish finds its
 * subject gone (no stream answers), by adding the subjects again. Together these converge: a
 * subject dropped before its app's first publish makes that publish retry, and one dropped after
 * it holds messages is restored by the writer whose update dropped it.
 */
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from 'nats';
import type { Logger } from '../logger';
import { StreamRequestError } from './errors';
import { JS_ERR, apiErrorCode } from '../nats/errors';
import {
  ALL_APPS_SUBJECTS,
  appIdOfSubject,
  appSubjects,
  circuitSubject,
  initialStreamSubjects,
  manualSubject,
  streamCovers,
  subjectMatches,
  type StreamLayout,
} from '../nats/subjects';
import { sleep } from '../util/sleep';

export interface EnsureStreamResult {
  readonly stream: string;
  /** `created`: the stream did not exist; `updated`: subjects were added; `unchanged`: nothing to do. */
  readonly action: 'created' | 'updated' | 'unchanged';
  /** The stream's subjects afterwards. */
  readonly subjects: readonly string[];
  /** The subjects this call added. */
  readonly added: readonly string[];
  /**
   * Settings of an existing stream that lose rulesets (a max age, message limits), or a wildcard
   * that Tower and Aerobat cannot use. Reported, not changed.
   */
  readonly warnings: readonly string[];
}

/** Config of a stream this library creates: file storage, full history, subjects of `layout`. */
export function newStreamConfig(
  stream: string,
  layout: StreamLayout = 'literal',
  appId?: number,
  replicas = 1,
): Partial<StreamConfig> {
  return {
    name: stream,
    subjects: initialStreamSubjects(layout, appId),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: -1,
    max_age: 0,
    num_replicas: replicas,
  };
}

/** Rounds of read, update and re-read before giving up on writers that keep replacing the subject list. */
const MAX_ROUNDS = 20;
/** Longest jittered pause between rounds; writers racing on the subject list drift apart. */
const MAX_ROUND_PAUSE_MS = 400;

/**
 * Makes sure `stream` exists and captures the subjects of `appId` (when given). A missing stream is
 * created with the subjects of `layout` (default `literal`: Tower's control subjects and the app's
 * two subjects). An existing stream that does not capture the app gets its two literal subjects
 * appended, as Tower does; an existing stream that captures it (a wildcard stream, say) is left as
 * it is. Safe to run concurrently: a lost race is re-read and repeated.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  appId: number | undefined,
  logger: Logger,
  layout: StreamLayout = 'literal',
  /** Replicas of a NEW stream (1, or 3 on a 3-node JetStream cluster; an odd number up to 5). */
  replicas = 1,
): Promise<EnsureStreamResult> {
  let added: string[] = [];
  for (let round = 1; ; round++) {
    // With the subjects that hold messages (state.subjects), to restore any a racing update dropped.
    const info = await streamInfo(jsm, stream, ALL_APPS_SUBJECTS);
    if (info === undefined) {
      const config = newStreamConfig(stream, layout, appId, replicas);
      const subjects = config.subjects ?? [];
      try {
        const created = await jsm.streams.add(config);
        logger.info(`created stream "${stream}" (R${replicas}) with subjects ${subjects.join(', ')}`);
        return {
          stream,
          action: 'created',
          subjects: created.config.subjects ?? [],
          added: subjects,
          warnings: layout === 'wildcard' ? [wildcardWarning(stream, subjects)] : [],
        };
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === JS_ERR.STREAM_NAME_IN_USE && round < MAX_ROUNDS) continue;
        const hint =
          code === JS_ERR.SUBJECT_OVERLAP
            ? ' (another stream already captures some of these subjects: pass its name as the stream)'
            : '';
        throw new StreamRequestError(
          `create stream "${stream}" with subjects ${subjects.join(', ')}${hint}`,
          err,
          code,
        );
      }
    }
    const subjects = info.config.subjects ?? [];
    const missing = wantedSubjects(info, appId).filter((subject) => !streamCovers(subjects, subject));
    if (missing.length === 0) {
      const warnings = streamWarnings(info, replicas);
      if (added.length === 0) return { stream, action: 'unchanged', subjects, added, warnings };
      logger.info(`added subjects ${added.join(', ')} to stream "${stream}"`);
      return { stream, action: 'updated', subjects, added, warnings };
    }
    if (round >= MAX_ROUNDS) {
      throw new StreamRequestError(
        `add subjects ${missing.join(', ')} to stream "${stream}"`,
        new Error(`other writers replaced the subject list each of ${MAX_ROUNDS} times`),
      );
    }
    try {
      await jsm.streams.update(stream, { subjects: [...subjects, ...missing] });
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === JS_ERR.STREAM_NOT_FOUND) continue;
      const hint =
        code === JS_ERR.SUBJECT_OVERLAP
          ? ' (another stream already captures them: use that stream, or remove them from it)'
          : '';
      throw new StreamRequestError(`add subjects ${missing.join(', ')} to stream "${stream}"${hint}`, err, code);
    }
    added = [...new Set([...added, ...missing])];
    if (round > 1) await sleep(Math.random() * Math.min(MAX_ROUND_PAUSE_MS, 10 * 2 ** round));
    // Updates replace the subject list: a writer updating at the same moment may have dropped
    // ours. The next round re-reads the stream and adds again what is missing.
  }
}

/**
 * The app subjects the stream must list: those of `appId`, and those of every app that has
 * messages in the stream. The second part restores subjects that a stream update based on a stale
 * subject list dropped (another admin adding its app at the same moment, or Tower, which writes
 * back the list it read at its start): their rulesets are still stored, but no new consumer of
 * that app is accepted and no publish is captured until they are listed again.
 */
function wantedSubjects(info: StreamInfo, appId: number | undefined): string[] {
  const apps = new Set<number>();
  if (appId !== undefined) apps.add(appId);
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const stored = appIdOfSubject(subject);
    if (stored !== undefined) apps.add(stored);
  }
  return [...apps].flatMap((id) => appSubjects(id));
}

/** Stream info, or undefined when the stream does not exist. */
export async function streamInfo(
  jsm: JetStreamManager,
  stream: string,
  subjectsFilter?: string,
): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(
      stream,
      subjectsFilter === undefined ? undefined : { subjects_filter: subjectsFilter },
    );
  } catch (err) {
    const code = apiErrorCode(err);
    if (code === JS_ERR.STREAM_NOT_FOUND) return undefined;
    throw new StreamRequestError(`read stream "${stream}"`, err, code);
  }
}

/**
 * Whether a subject pattern is a wildcard that captures some app's ruleset subjects, such as
 * `apps.*.update.*`: Tower cannot append that app's literal subjects next to it (NATS refuses
 * overlapping subjects in one stream), and a 2.9 server refuses Aerobat's filter `apps.<id>.>` on
 * it. `apps.>` and `>` contain Aerobat's filter; they still break Tower's append.
 */
export function isWildcardAppSubject(pattern: string): boolean {
  if (!pattern.split('.').some((token) => token === '*' || token === '>')) return false;
  const second = pattern.split('.')[1];
  const probe = second !== undefined && /^\d+$/.test(second) ? Number(second) : 1;
  return subjectMatches(pattern, manualSubject(probe)) || subjectMatches(pattern, circuitSubject(probe));
}

/** Whether Aerobat's filter `apps.<id>.>` lies inside the pattern (then a 2.9 server accepts it). */
function containsAppSubtree(pattern: string): boolean {
  const tokens = pattern.split('.');
  if (tokens[tokens.length - 1] !== '>') return false;
  const prefix = tokens.slice(0, -1);
  return (
    prefix.length <= 2 &&
    prefix.every((token, i) => token === '*' || (i === 0 && token === 'apps') || (i === 1 && /^\d+$/.test(token)))
  );
}

function wildcardWarning(stream: string, wildcards: readonly string[]): string {
  const aerobat = wildcards.every(containsAppSubtree) ? '' : " and Aerobat's consumer (apps.<id>.>) is refused";
  return (
    `stream "${stream}" captures apps with the wildcard ${wildcards.join(', ')}: Tower cannot add its apps' ` +
    `literal subjects to it${aerobat}; use it only with this package's SDK and admin`
  );
}

function streamWarnings(info: StreamInfo, replicas: number): string[] {
  const { config } = info;
  const warnings: string[] = [];
  if (replicas > 1 && config.num_replicas < replicas) {
    warnings.push(
      `stream "${config.name}" exists with ${config.num_replicas} replica(s), not ${replicas}: it was left as it is ` +
        `(raise it with: nats stream edit ${config.name} --replicas ${replicas})`,
    );
  }
  const wildcards = (config.subjects ?? []).filter(isWildcardAppSubject);
  if (wildcards.length > 0) warnings.push(wildcardWarning(config.name, wildcards));
  if (config.max_age > 0) {
    warnings.push(
      `stream "${config.name}" drops messages older than ${Math.round(config.max_age / 1e9)} s: an app not edited for that long loses its ruleset`,
    );
  }
  if (config.max_msgs > 0 || config.max_bytes > 0) {
    warnings.push(
      `stream "${config.name}" has a message or byte limit: once reached, old rulesets of quiet apps are dropped`,
    );
  }
  return warnings;
}
