/** `tailslide flags create | update | delete | on | off | set-rollout`. */
import type { Command } from 'commander';
import type { NewFlagInput, WireTargetingFields } from '../../admin/fields';
import { parseFallthrough, parseVariationIndex, parseVariations } from '../parse/targeting';
import { action, stringArg, type CliDeps } from '../core/action';
import { editReport, printEdit } from '../format/edit-report';
import { CliError, EXIT } from '../core/exit-codes';
import { flagPatchFromOptions, appIdFlag, parsePercentage, type FlagFieldOptions } from '../parse/values';
import { withAdmin } from '../core/session';
import { FLAG_ARG_HELP, editFlag, flagSubcommand, type FlagCommandFlags } from './flag-command';

type FieldFlags = FlagCommandFlags &
  FlagFieldOptions & {
    variations?: string;
    offVariation?: string;
    fallthrough?: string;
    fallthroughSplit?: string;
    bucketBy?: string;
  };

/** The targeting fields `flags create` takes: variations, off variation, fallthrough. */
function targetingFromOptions(opts: FieldFlags): Partial<WireTargetingFields> {
  const out: { -readonly [K in keyof WireTargetingFields]?: WireTargetingFields[K] } = {};
  if (opts.variations !== undefined) out.variations = parseVariations(opts.variations, '--variations');
  if (opts.offVariation !== undefined) out.off_variation = parseVariationIndex(opts.offVariation, '--off-variation');
  const fallthrough = parseFallthrough(opts);
  if (fallthrough !== undefined) out.fallthrough = fallthrough;
  return out;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The options that set flag fields, shared by create and update. */
function withFieldOptions(cmd: Command, forUpdate: boolean): Command {
  if (forUpdate) cmd.option('--title <title>', 'rename the flag');
  cmd
    .option('--description <text>', 'free text')
    .option('--active <bool>', 'turn the flag on (true) or off (false)')
    .option('--rollout <percentage>', 'share of users who get the flag, 0–100 in steps of 0.1')
    .option('--whitelist <users>', 'comma-separated user contexts that always get the flag (replaces the list)')
    .option('--error-threshold <percentage>', 'failure rate that trips the circuit; 0 disables breaking')
    .option('--webhooks <urls>', 'comma-separated URLs notified on circuit changes')
    .option(
      '--set <field=value>',
      'any editable wire field, e.g. --set circuit_recovery_rate=30000 (repeatable)',
      collect,
    );
  if (!forUpdate) {
    cmd
      .option('--on', 'create it turned on (same as --active true)')
      .option(
        '--variations <json>',
        'the values it serves, a JSON array (see flags variations); needs --off-variation and a fallthrough',
      )
      .option('--off-variation <index>', 'the variation served when off or outside the rollout')
      .option('--fallthrough <index>', 'the variation served when no rule matches')
      .option(
        '--fallthrough-split <splits>',
        'a weighted split served when no rule matches: 0:50000,1:50000 or 0:50%,1:50%',
      )
      .option('--bucket-by <attribute>', 'the context attribute the split hashes (default: key)');
  }
  return cmd;
}

export function createCommand(deps: CliDeps): Command {
  const cmd = flagSubcommand(
    'create',
    'add a flag to the app (off and at 0 % unless told otherwise); the first flag creates the app',
    [
      'tailslide flags create checkout-v2 --app-id 1 --on --rollout 50',
      'tailslide flags create search-ranking --app-id 1 --description "new ranking" --whitelist alice,bob',
      `tailslide flags create pricing-page --app-id 1 --on --rollout 100 --variations '["control","annual-first"]' --off-variation 0 --fallthrough-split 0:50%,1:50%`,
    ],
  ).argument('<title>', "the new flag's title (unique within the app)");
  return withFieldOptions(cmd, false).action(
    action<FieldFlags>(deps, async ({ opts, args, out, session }) => {
      const appId = appIdFlag(opts.appId);
      const input: NewFlagInput = {
        ...flagPatchFromOptions(opts),
        ...targetingFromOptions(opts),
        title: stringArg(args, 0),
      };
      const outcome = await withAdmin(session, opts, out, (admin) => admin.createFlag(appId, input));
      printEdit(out, editReport('created', undefined, outcome));
    }),
  );
}

export function updateCommand(deps: CliDeps): Command {
  const cmd = flagSubcommand('update', 'change fields of a flag', [
    'tailslide flags update checkout-v2 --app-id 1 --rollout 20 --description "ramping down"',
    'tailslide flags update 7 --app-id 1 --set circuit_recovery_profile=exponential',
  ]).argument('<flag>', FLAG_ARG_HELP);
  return withFieldOptions(cmd, true).action(
    action<FieldFlags>(deps, async ({ opts, args, out, session }) => {
      const patch = flagPatchFromOptions(opts);
      if (Object.keys(patch).length === 0) {
        throw new CliError(
          'Nothing to change: give at least one of --title, --description, --active, --rollout, --whitelist, --error-threshold, --webhooks, --set field=value',
          EXIT.USAGE,
        );
      }
      await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
        admin.updateFlag(appId, flag.id, patch),
      );
    }),
  );
}

export function deleteCommand(deps: CliDeps): Command {
  return flagSubcommand('delete', 'remove a flag from the app (its id is never handed out again)', [
    'tailslide flags delete old-banner --app-id 1',
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .action(
      action<FlagCommandFlags>(deps, async ({ opts, args, out, session }) => {
        await editFlag(session, opts, out, stringArg(args, 0), 'deleted', (admin, appId, flag) =>
          admin.deleteFlag(appId, flag.id),
        );
      }),
    );
}

export function toggleCommand(deps: CliDeps, on: boolean): Command {
  const name = on ? 'on' : 'off';
  return flagSubcommand(name, `turn a flag ${name} (is_active: ${on})`, [
    `tailslide flags ${name} dark-mode --app-id 1`,
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .action(
      action<FlagCommandFlags>(deps, async ({ opts, args, out, session }) => {
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.setActive(appId, flag.id, on),
        );
      }),
    );
}

export function setRolloutCommand(deps: CliDeps): Command {
  return flagSubcommand('set-rollout', 'set the share of users who get a flag (0–100, steps of 0.1)', [
    'tailslide flags set-rollout checkout-v2 20 --app-id 1',
  ])
    .argument('<flag>', FLAG_ARG_HELP)
    .argument('<percentage>', 'rollout percentage, 0–100')
    .action(
      action<FlagCommandFlags>(deps, async ({ opts, args, out, session }) => {
        const percentage = parsePercentage(stringArg(args, 1), 'rollout_percentage');
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.setRollout(appId, flag.id, percentage),
        );
      }),
    );
}
