/** `tailslide flags whitelist add|remove <flag> <users...>`. */
import { Command } from 'commander';
import { action, stringArg, stringsArg, type CliDeps } from '../core/action';
import { parseUsers } from '../parse/values';
import { FLAG_ARG_HELP, editFlag, flagSubcommand, type FlagCommandFlags } from './flag-command';

export function whitelistCommand(deps: CliDeps): Command {
  const group = new Command('whitelist').description(
    'add or remove user contexts that always get a flag (when it is on)',
  );
  const add = flagSubcommand('add', 'add users to the whitelist of a flag', [
    'tailslide flags whitelist add search-ranking alice bob --app-id 1',
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .argument('<users...>', 'user contexts (space- or comma-separated)')
    .action(
      action<FlagCommandFlags>(deps, async ({ opts, args, out, session }) => {
        const users = parseUsers(stringsArg(args, 1));
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.addWhitelistedUsers(appId, flag.id, users),
        );
      }),
    );
  const remove = flagSubcommand('remove', 'remove users from the whitelist of a flag', [
    'tailslide flags whitelist remove search-ranking bob --app-id 1',
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .argument('<users...>', 'user contexts (space- or comma-separated)')
    .action(
      action<FlagCommandFlags>(deps, async ({ opts, args, out, session }) => {
        const users = parseUsers(stringsArg(args, 1));
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.removeWhitelistedUsers(appId, flag.id, users),
        );
      }),
    );
  return group.addCommand(add).addCommand(remove);
}
