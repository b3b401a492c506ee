/** `tailslide flags …`: every flag command. */
import { Command } from 'commander';
import { setCircuitCommand } from './flags-circuit';
import { createCommand, deleteCommand, setRolloutCommand, toggleCommand, updateCommand } from './flags-edit';
import { listCommand, showCommand } from './flags-read';
import { rulesCommand, targetsCommand, variationsCommand } from './flags-targeting';
import { whitelistCommand } from './flags-whitelist';

export function flagsCommand(): Command {
  return new Command('flags')
    .description(
      'list, show, create, change and delete the flags of an app, and their targeting (each change publishes the whole ruleset)',
    )
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(createCommand())
    .addCommand(updateCommand())
    .addCommand(deleteCommand())
    .addCommand(toggleCommand(true))
    .addCommand(toggleCommand(false))
    .addCommand(setRolloutCommand())
    .addCommand(whitelistCommand())
    .addCommand(setCircuitCommand())
    .addCommand(variationsCommand())
    .addCommand(targetsCommand())
    .addCommand(rulesCommand());
}
