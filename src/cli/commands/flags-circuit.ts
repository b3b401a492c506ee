/** `tailslide flags set-circuit <flag> …`: the circuit-breaker fields of a flag. */
import type { Command } from 'commander';
import { action, stringArg, type CliDeps } from '../core/action';
import { CliError, EXIT } from '../core/exit-codes';
import { circuitPatchFromOptions, type CircuitOptions } from '../parse/values';
import { FLAG_ARG_HELP, editFlag, flagSubcommand, type FlagCommandFlags } from './flag-command';

export function setCircuitCommand(deps: CliDeps): Command {
  return flagSubcommand('set-circuit', 'set circuit-breaker fields of a flag (threshold, status, recovery)', [
    'tailslide flags set-circuit checkout-v2 --app-id 1 --error-threshold 25 --recoverable true',
    'tailslide flags set-circuit checkout-v2 --app-id 1 --status recovery --recovery-percentage 10',
    'tailslide flags set-circuit checkout-v2 --app-id 1 --recovery-delay 30s --recovery-rate 1m --recovery-profile exponential',
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .option(
      '--error-threshold <percentage>',
      'error_threshold_percentage: failure rate that trips the circuit; 0 disables breaking',
    )
    .option('--status <status>', 'circuit_status: open, close or recovery')
    .option('--recoverable <bool>', 'is_recoverable: whether a tripped circuit ramps back by itself')
    .option(
      '--recovery-percentage <percentage>',
      'circuit_recovery_percentage: share of the rollout let through during recovery',
    )
    .option(
      '--recovery-delay <duration>',
      'circuit_recovery_delay: wait after a trip before recovery starts (30s, 1m, or ms)',
    )
    .option('--initial-recovery-percentage <percentage>', 'circuit_initial_recovery_percentage: first recovery step')
    .option('--recovery-rate <duration>', 'circuit_recovery_rate: time between recovery steps (30s, 1m, or ms)')
    .option(
      '--recovery-increment <percentage>',
      'circuit_recovery_increment_percentage: step size (linear) or growth (exponential)',
    )
    .option('--recovery-profile <profile>', 'circuit_recovery_profile: linear or exponential')
    .action(
      action<FlagCommandFlags & CircuitOptions>(deps, async ({ opts, args, out, session }) => {
        const patch = circuitPatchFromOptions(opts);
        if (Object.keys(patch).length === 0) {
          throw new CliError(
            'Nothing to change: give at least one circuit option (see tailslide flags set-circuit --help)',
            EXIT.USAGE,
          );
        }
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.setCircuit(appId, flag.id, patch),
        );
      }),
    );
}
