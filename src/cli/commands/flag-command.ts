/** Shared plumbing of the `flags …` subcommands: options, and the read-then-edit flow. */
import { Command } from 'commander';
import type { EditOutcome } from '../../admin/writer';
import type { WireFlag } from '../../ruleset/types';
import { editReport, printEdit } from '../format/edit-report';
import { CliError, EXIT } from '../core/exit-codes';
import { findFlagByArg, findInvalidByArg, pickFlag } from '../parse/flag-ref';
import { invalidLine } from '../format/targeting';
import { type AppFlags, type JsonFlags, type NatsFlags, withAppId, withJson, withNatsOptions } from '../parse/options';
import type { Output } from '../format/output';
import { appIdFlag } from '../parse/values';
import { currentRuleset, withAdmin, type FlagEditing, type Session } from '../core/session';

export type FlagCommandFlags = NatsFlags & AppFlags & JsonFlags;

export const FLAG_ARG_HELP = 'the flag: its title, or its id (7 or #7)';

/** A `flags` subcommand with the app, NATS and --json options. */
export function flagSubcommand(name: string, description: string, examples: readonly string[] = []): Command {
  const cmd = new Command(name).description(description);
  withAppId(cmd);
  withNatsOptions(cmd);
  withJson(cmd);
  if (examples.length > 0) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  return cmd;
}

/**
 * Reads the app's ruleset, finds the flag (exit 2 when the app or flag is unknown), applies the
 * edit by the flag's id (ids never change, titles may) and prints what changed.
 */
export async function editFlag(
  session: Session,
  opts: FlagCommandFlags,
  out: Output,
  flagArg: string,
  verb: string,
  edit: (admin: FlagEditing, appId: number, flag: WireFlag) => Promise<EditOutcome>,
): Promise<void> {
  const appId = appIdFlag(opts.appId);
  const report = await withAdmin(session, opts, out, async (admin) => {
    const snapshot = await currentRuleset(admin, appId);
    const invalid = findFlagByArg(snapshot.flags, flagArg) ? undefined : findInvalidByArg(snapshot.invalid, flagArg);
    if (invalid !== undefined) {
      // A flag that fails validation (an empty title from Tower, say): the edit goes ahead by id and
      // must make it valid, or the admin library refuses it naming the field still at fault.
      if (invalid.id === undefined) {
        throw new CliError(
          `${invalidLine(invalid)}; it has no usable id to edit it by: fix it with ruleset get / ruleset publish`,
          EXIT.USAGE,
        );
      }
      const raw = invalid.raw as WireFlag;
      return editReport(verb, raw, await edit(admin, appId, raw));
    }
    const before = pickFlag(snapshot.flags, flagArg, appId);
    return editReport(verb, before, await edit(admin, appId, before));
  });
  printEdit(out, report);
}
