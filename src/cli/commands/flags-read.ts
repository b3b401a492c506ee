/** `tailslide flags list` and `tailslide flags show <flag>`. */
import type { Command } from 'commander';
import { action, stringArg, type CliDeps } from '../core/action';
import { findFlagByArg, findInvalidByArg, pickFlag } from '../parse/flag-ref';
import { invalidLine, invalidReason } from '../format/targeting';
import { clock } from '../format/common';
import { flagDetail, flagsTable } from '../format/flags';
import { appIdFlag } from '../parse/values';
import { currentRuleset, withAdmin } from '../core/session';
import { FLAG_ARG_HELP, flagSubcommand, type FlagCommandFlags } from './flag-command';

export function listCommand(deps: CliDeps): Command {
  return flagSubcommand('list', "list the app's flags (--json: the flags in the wire format)", [
    'tailslide flags list --app-id 1',
  ]).action(
    action<FlagCommandFlags>(deps, async ({ opts, out, session }) => {
      const appId = appIdFlag(opts.appId);
      const snapshot = await withAdmin(session, opts, out, (admin) => currentRuleset(admin, appId));
      const total = snapshot.all.length;
      const invalid = snapshot.invalid.length > 0 ? ` (${snapshot.invalid.length} invalid, kept as they are)` : '';
      out.result(snapshot.all, () => [
        `app ${appId}: ${total} flag${total === 1 ? '' : 's'}${invalid}, ruleset #${snapshot.sequence} on ${snapshot.subject} at ${clock(snapshot.time)}`,
        ...(total > 0 ? ['', ...flagsTable(snapshot.flags, snapshot.invalid)] : []),
      ]);
      if (out.json) for (const flag of snapshot.invalid) out.warn(invalidLine(flag));
    }),
  );
}

export function showCommand(deps: CliDeps): Command {
  return flagSubcommand(
    'show',
    'print every field of one flag, and its targeting (variations, targets, rules) readably',
    ['tailslide flags show checkout-v2 --app-id 1', "tailslide flags show '#7' --app-id 1 --json"],
  )
    .argument('<flag>', FLAG_ARG_HELP)
    .action(
      action<FlagCommandFlags>(deps, async ({ opts, args, out, session }) => {
        const appId = appIdFlag(opts.appId);
        const snapshot = await withAdmin(session, opts, out, (admin) => currentRuleset(admin, appId));
        const arg = stringArg(args, 0);
        const invalid = findFlagByArg(snapshot.flags, arg) ? undefined : findInvalidByArg(snapshot.invalid, arg);
        if (invalid !== undefined) {
          out.warn(invalidLine(invalid));
          out.result(invalid.raw, () => [invalidReason(invalid), invalid.json]);
          return;
        }
        const flag = pickFlag(snapshot.flags, arg, appId);
        out.result(flag, () => flagDetail(flag));
      }),
    );
}
