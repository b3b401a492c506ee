/** `tailslide flags list` and `tailslide flags show <flag>`. */
import type { Command } from 'commander';
import { action, stringArg } from '../action';
import { pickFlag } from '../flag-ref';
import { clock } from '../format';
import { flagDetail, flagsTable } from '../format-flags';
import { parseAppId } from '../parse';
import { currentRuleset, withAdmin } from '../session';
import { FLAG_ARG_HELP, flagSubcommand, type FlagCommandFlags } from './flag-command';

export function listCommand(): Command {
  return flagSubcommand('list', "list the app's flags (--json: the flags in the wire format)", [
    'tailslide flags list --app-id 1',
  ]).action(
    action<FlagCommandFlags>(async ({ opts, out }) => {
      const appId = parseAppId(opts.appId);
      const snapshot = await withAdmin(opts, out, (admin) => currentRuleset(admin, appId));
      out.result(snapshot.flags, () => [
        `app ${appId}: ${snapshot.flags.length} flag${snapshot.flags.length === 1 ? '' : 's'}, ruleset #${snapshot.sequence} on ${snapshot.subject} at ${clock(snapshot.time)}`,
        ...(snapshot.flags.length > 0 ? ['', ...flagsTable(snapshot.flags)] : []),
      ]);
    }),
  );
}

export function showCommand(): Command {
  return flagSubcommand('show', 'print every field of one flag', [
    'tailslide flags show checkout-v2 --app-id 1',
    "tailslide flags show '#7' --app-id 1 --json",
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .action(
      action<FlagCommandFlags>(async ({ opts, args, out }) => {
        const appId = parseAppId(opts.appId);
        const snapshot = await withAdmin(opts, out, (admin) => currentRuleset(admin, appId));
        const flag = pickFlag(snapshot.flags, stringArg(args, 0), appId);
        out.result(flag, () => flagDetail(flag));
      }),
    );
}
