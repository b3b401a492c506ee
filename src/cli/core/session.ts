/**
 * What a command talks to, behind narrow interfaces: the admin library (NATS) and the signal
 * reader (Redis). The program receives a `Session` (factories), so a command can be run in a unit
 * test against an in-memory admin; the binary uses `liveSession`, the real FlagAdmin and SignalReader.
 */
import { UnknownAppError } from '../../admin/errors';
import { FlagAdmin, type RulesetSnapshot } from '../../admin/flag-admin';
import type { Logger } from '../../logger';
import { SignalReader } from '../../signals/reader';
import { adminOptions, readerOptions, renameOptionError, type NatsFlags, type RedisFlags } from '../parse/options';
import type { Output } from '../format/output';

/** Reading an app's ruleset: `flags list/show`, `evaluate`, `stats`, `ruleset get`. */
export type RulesetReading = Pick<FlagAdmin, 'stream' | 'readRuleset'>;

/** The flag edits of the `flags …` and `ruleset publish` commands. */
export type FlagEditing = Pick<
  FlagAdmin,
  | 'createFlag'
  | 'updateFlag'
  | 'deleteFlag'
  | 'setActive'
  | 'setRollout'
  | 'addWhitelistedUsers'
  | 'removeWhitelistedUsers'
  | 'setVariations'
  | 'clearTargeting'
  | 'changeTargets'
  | 'setRules'
  | 'setCircuit'
  | 'publishRuleset'
>;

/** The stream as a whole: `stream init`, `apps`, `watch`. */
export type StreamAdmin = Pick<FlagAdmin, 'ensureStream' | 'listApps' | 'watch'>;

/** Everything the commands use of FlagAdmin, with its lifecycle. */
export interface CliAdmin extends RulesetReading, FlagEditing, StreamAdmin {
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** What `stats` reads from Redis, with its lifecycle. */
export type CliReader = Pick<SignalReader, 'flagCounts' | 'flagSeries' | 'appCounts' | 'backendName' | 'close'>;

/** Makes the admin and the reader a command talks to, from its flags. Either may throw an option error. */
export interface Session {
  admin(flags: NatsFlags, logger: Logger): CliAdmin;
  reader(flags: RedisFlags): CliReader;
}

/** The real thing: FlagAdmin over NATS, SignalReader over Redis. */
export const liveSession: Session = {
  admin: (flags, logger) => new FlagAdmin(adminOptions(flags, logger)),
  reader: (flags) => new SignalReader(readerOptions(flags)),
};

/** Connects an admin, runs `fn`, and closes it whatever happens. */
export async function withAdmin<T>(
  session: Session,
  flags: NatsFlags,
  out: Output,
  fn: (admin: CliAdmin) => Promise<T>,
): Promise<T> {
  let admin: CliAdmin;
  try {
    admin = session.admin(flags, out.logger(flags.verbose === true));
  } catch (error) {
    throw renameOptionError(error);
  }
  try {
    try {
      await admin.connect();
    } catch (error) {
      throw renameOptionError(error);
    }
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** Opens a reader (the real one connects on its first query), runs `fn`, closes it. */
export async function withReader<T>(
  session: Session,
  flags: RedisFlags,
  fn: (reader: CliReader) => Promise<T>,
): Promise<T> {
  let reader: CliReader;
  try {
    reader = session.reader(flags);
  } catch (error) {
    throw renameOptionError(error);
  }
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/** The app's current ruleset; an app with none is `UnknownAppError` (exit code 2). */
export async function currentRuleset(admin: RulesetReading, appId: number): Promise<RulesetSnapshot> {
  const snapshot = await admin.readRuleset(appId);
  if (snapshot === undefined) throw new UnknownAppError(appId, admin.stream);
  return snapshot;
}
