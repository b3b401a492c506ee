/** `tailslide flags …`: every flag command. */
import { Command } from 'commander';
import type { CliDeps } from '../core/action';
import { setCircuitCommand } from './flags-circuit';
import { createCommand, deleteCommand, setRolloutCommand, toggleCommand, updateCommand } from './flags-edit';
import { listCommand, showCommand } from './flags-read';
import { rulesCommand, targetsCommand, variationsCommand } from './flags-targeting';
import { whitelistCommand } from './flags-whitelist';

export function flagsCommand(deps: CliDeps): Command {
  return new Command('flags')
    .description(
      'list, show, create, change and delete the flags of an app, and their targeting (each change publishes the whole ruleset)',
    )
    .addCommand(listCommand(deps))
    .addCommand(showCommand(deps))
    .addCommand(createCommand(deps))
    .addCommand(updateCommand(deps))
    .addCommand(deleteCommand(deps))
    .addCommand(toggleCommand(deps, true))
    .addCommand(toggleCommand(deps, false))
    .addCommand(setRolloutCommand(deps))
    .addCommand(whitelistCommand(deps))
    .addCommand(setCircuitCommand(deps))
    .addCommand(variationsCommand(deps))
    .addCommand(targetsCommand(deps))
    .addCommand(rulesCommand(deps));
}
