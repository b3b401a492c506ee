/** Opening and closing what a command talks to: FlagAdmin (NATS) and SignalReader (Redis). */
import { UnknownAppError } from '../../admin/errors';
import { FlagAdmin, type RulesetSnapshot } from '../../admin/flag-admin';
import { SignalReader } from '../../signals/reader';
import { adminOptions, readerOptions, renameOptionError, type NatsFlags, type RedisFlags } from '../parse/options';
import type { Output } from '../format/output';

/** Connects a FlagAdmin, runs `fn`, and closes it whatever happens. */
export async function withAdmin<T>(flags: NatsFlags, out: Output, fn: (admin: FlagAdmin) => Promise<T>): Promise<T> {
  let admin: FlagAdmin;
  try {
    admin = new FlagAdmin(adminOptions(flags, out.logger(flags.verbose === true)));
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

/** Opens a SignalReader (it connects on its first query), runs `fn`, closes it. */
export async function withReader<T>(flags: RedisFlags, fn: (reader: SignalReader) => Promise<T>): Promise<T> {
  let reader: SignalReader;
  try {
    reader = new SignalReader(readerOptions(flags));
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
export async function currentRuleset(admin: FlagAdmin, appId: number): Promise<RulesetSnapshot> {
  const snapshot = await admin.readRuleset(appId);
  if (snapshot === undefined) throw new UnknownAppError(appId, admin.stream);
  return snapshot;
}
