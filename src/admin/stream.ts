/** Creating the ruleset stream, or adding an app's subjects to a stream Tower created. */
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
import { ALL_APPS_SUBJECTS, appSubjects, streamCovers } from '../nats/subjects';

export interface EnsureStreamResult {
  readonly stream: string;
  /** `created`: the stream did not exist; `updated`: subjects were added; `unchanged`: nothing to do. */
  readonly action: 'created' | 'updated' | 'unchanged';
  /** The stream's subjects afterwards. */
  readonly subjects: readonly string[];
  /** The subjects this call added. */
  readonly added: readonly string[];
  /** Settings of an existing stream that lose rulesets (a max age, message limits). Reported, not changed. */
  readonly warnings: readonly string[];
}

/** Config of a stream this library creates: every app, file storage, full history. */
export function newStreamConfig(stream: string): Partial<StreamConfig> {
  return {
    name: stream,
    subjects: [ALL_APPS_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: -1,
    max_age: 0,
    num_replicas: 1,
  };
}

const MAX_ROUNDS = 5;

/**
 * Makes sure `stream` exists and captures the subjects of `appId` (when given). A missing stream is
 * created with the wildcard `apps.*.update.*`; an existing one listing literal subjects, as Tower
 * creates it, gets the app's two subjects appended. Safe to run concurrently: a lost race is re-read.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  appId: number | undefined,
  logger: Logger,
): Promise<EnsureStreamResult> {
  for (let round = 1; ; round++) {
    const info = await streamInfo(jsm, stream);
    if (info === undefined) {
      try {
        const created = await jsm.streams.add(newStreamConfig(stream));
        logger.info(`created stream "${stream}" with subjects ${ALL_APPS_SUBJECTS}`);
        return {
          stream,
          action: 'created',
          subjects: created.config.subjects ?? [],
          added: [ALL_APPS_SUBJECTS],
          warnings: [],
        };
      } catch (err) {
        const code = apiErrorCode(err);
        if (code === JS_ERR.STREAM_NAME_IN_USE && round < MAX_ROUNDS) continue;
        const hint =
          code === JS_ERR.SUBJECT_OVERLAP
            ? ' (another stream already captures apps.* subjects: pass its name as the stream)'
            : '';
        throw new StreamRequestError(`create stream "${stream}" with subjects ${ALL_APPS_SUBJECTS}${hint}`, err, code);
      }
    }
    const subjects = info.config.subjects ?? [];
    const warnings = streamWarnings(info);
    const missing = appId === undefined ? [] : appSubjects(appId).filter((subject) => !streamCovers(subjects, subject));
    if (missing.length === 0) return { stream, action: 'unchanged', subjects, added: [], warnings };
    let updated: StreamInfo;
    try {
      updated = await jsm.streams.update(stream, { subjects: [...subjects, ...missing] });
    } catch (err) {
      const code = apiErrorCode(err);
      throw new StreamRequestError(`add subjects ${missing.join(', ')} to stream "${stream}"`, err, code);
    }
    const after = updated.config.subjects ?? [];
    // Stream updates replace the subject list: a concurrent update may have dropped ours. Re-check.
    if (missing.every((subject) => streamCovers(after, subject))) {
      logger.info(`added subjects ${missing.join(', ')} to stream "${stream}"`);
      return { stream, action: 'updated', subjects: after, added: missing, warnings };
    }
    if (round >= MAX_ROUNDS) {
      throw new StreamRequestError(
        `add subjects ${missing.join(', ')} to stream "${stream}"`,
        new Error('other writers kept replacing the subject list'),
      );
    }
  }
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

function streamWarnings(info: StreamInfo): string[] {
  const { config } = info;
  const warnings: string[] = [];
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
