/**
 * `tailslide flags variations | targets | rules`: the targeting of a flag (docs/targeting.md).
 * Each is one guarded edit of the flag that keeps every other field; the flag is validated whole
 * before publishing, so a bad index or rule is refused naming the field (`rules[1].clauses[0].op`).
 */
import type { Command } from 'commander';

import { setRulesEdit, type VariationsPatch } from '../../admin/targeting-edits';
import type { EditOutcome } from '../../admin/writer';
import { action, optionalStringArg, stringArg, type CliDeps } from '../core/action';
import { CliError, EXIT } from '../core/exit-codes';
import { pickFlag } from '../parse/flag-ref';
import { flagName } from '../format/flags';
import { appIdFlag } from '../parse/values';
import { currentRuleset, withAdmin, type FlagEditing } from '../core/session';
import {
  parseFallthrough,
  parseKeys,
  parseTargetAssignment,
  parseVariationIndex,
  parseVariations,
} from '../parse/targeting';
import { FLAG_ARG_HELP, editFlag, flagSubcommand, type FlagCommandFlags } from './flag-command';
import { readJson } from './ruleset';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

type VariationsFlags = FlagCommandFlags & {
  set?: string;
  off?: string;
  fallthrough?: string;
  fallthroughSplit?: string;
  bucketBy?: string;
  clear?: boolean;
};

export function variationsCommand(deps: CliDeps): Command {
  return flagSubcommand(
    'variations',
    'set the values a flag serves, the one it serves when off, and the fallthrough (served when no rule matches). ' +
      'A flag without variations serves false/true (indexes 0/1); --clear makes it such a flag again',
    [
      `tailslide flags variations pricing-page --set '["control","annual-first","monthly-first"]' --off 0 --fallthrough 1 --app-id 1`,
      'tailslide flags variations pricing-page --fallthrough-split 0:50000,1:50000 --app-id 1',
      'tailslide flags variations pricing-page --fallthrough-split 0:50%,1:25%,2:25% --bucket-by account --app-id 1',
      'tailslide flags variations pricing-page --clear --app-id 1',
    ],
  )
    .summary("set a flag's variations, off variation and fallthrough (value or split)")
    .argument('<flag>', FLAG_ARG_HELP)
    .option('--set <json>', 'the variations: a JSON array of 2–64 values (strings, numbers, objects, …)')
    .option('--off <index>', 'the variation served when the flag is off or the user is outside the rollout')
    .option('--fallthrough <index>', 'the variation served when no rule matches')
    .option(
      '--fallthrough-split <splits>',
      'serve a weighted split when no rule matches: index:weight pairs, weights in thousandths of a percent ' +
        '(0:50000,1:50000) or in percent (0:50%,1:50%), adding up to 100 %',
    )
    .option('--bucket-by <attribute>', 'the context attribute a split hashes (default: key)')
    .option('--clear', 'remove variations, targets, rules and fallthrough: a plain on/off flag again')
    .action(
      action<VariationsFlags>(deps, async ({ opts, args, out, session }) => {
        let edit: (admin: FlagEditing, appId: number, id: number) => Promise<EditOutcome>;
        if (opts.clear === true) {
          if ([opts.set, opts.off, opts.fallthrough, opts.fallthroughSplit].some((v) => v !== undefined)) {
            throw new CliError('--clear takes no other option: it removes all targeting', EXIT.USAGE);
          }
          edit = (admin, appId, id) => admin.clearTargeting(appId, id);
        } else {
          const patch: { -readonly [K in keyof VariationsPatch]: VariationsPatch[K] } = {};
          if (opts.set !== undefined) patch.variations = parseVariations(opts.set);
          if (opts.off !== undefined) patch.off_variation = parseVariationIndex(opts.off, '--off');
          const fallthrough = parseFallthrough(opts);
          if (fallthrough !== undefined) patch.fallthrough = fallthrough;
          if (Object.keys(patch).length === 0) {
            throw new CliError(
              'Nothing to change: give --set, --off, --fallthrough or --fallthrough-split (or --clear)',
              EXIT.USAGE,
            );
          }
          edit = (admin, appId, id) => admin.setVariations(appId, id, patch);
        }
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          edit(admin, appId, flag.id),
        );
      }),
    );
}

type TargetsFlags = FlagCommandFlags & { add?: string[]; remove?: string[] };

export function targetsCommand(deps: CliDeps): Command {
  return flagSubcommand(
    'targets',
    'pin context keys to a variation (checked before the rollout and the rules), or unpin them. ' +
      'A key is pinned to one variation only: adding it elsewhere moves it',
    [
      'tailslide flags targets pricing-page --add 2:qa-1,qa-2 --app-id 1',
      'tailslide flags targets pricing-page --remove qa-1 --app-id 1',
      'tailslide flags targets dark-mode --add 1:alice --add 0:bob --app-id 1',
    ],
  )
    .summary('pin context keys to a variation, or unpin them')
    .argument('<flag>', FLAG_ARG_HELP)
    .option(
      '--add <index:keys>',
      'pin comma-separated keys to a variation index, e.g. 2:qa-1,qa-2 (repeatable)',
      collect,
    )
    .option('--remove <keys>', 'unpin comma-separated keys (repeatable)', collect)
    .action(
      action<TargetsFlags>(deps, async ({ opts, args, out, session }) => {
        const adds = (opts.add ?? []).map((value) => parseTargetAssignment(value));
        const removes = (opts.remove ?? []).flatMap((value) => parseKeys(value, '--remove'));
        if (adds.length === 0 && removes.length === 0) {
          throw new CliError('Nothing to change: give --add index:keys or --remove keys', EXIT.USAGE);
        }
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.changeTargets(appId, flag.id, { remove: removes, add: adds }),
        );
      }),
    );
}

type RulesFlags = FlagCommandFlags & { clear?: boolean; dryRun?: boolean };

export function rulesCommand(deps: CliDeps): Command {
  return flagSubcommand(
    'rules',
    "replace a flag's rules with a JSON array of rules from a file or stdin (-), validated before anything is " +
      'published: an error names the rule and the clause, e.g. rules[1].clauses[0].op. ' +
      'A rule: {"id": "eu", "clauses": [{"attribute": "country", "op": "in", "values": ["NL"]}], "serve": {"variation": 1}}; ' +
      'see docs/targeting.md for the operators and splits. tailslide flags show <flag> --json prints the current ones',
    [
      'tailslide flags rules pricing-page rules.json --app-id 1',
      'tailslide flags rules pricing-page rules.json --app-id 1 --dry-run',
      "tailslide flags show pricing-page --app-id 1 --json | jq '.rules' > rules.json",
      `echo '[{"id":"staff","clauses":[{"attribute":"email","op":"ends_with","values":["@example.com"]}],"serve":{"variation":1}}]' | tailslide flags rules pricing-page - --app-id 1`,
      'tailslide flags rules pricing-page --clear --app-id 1',
    ],
  )
    .summary("replace a flag's rules with a JSON array from a file or stdin, or --clear them")
    .argument('<flag>', FLAG_ARG_HELP)
    .argument('[file]', 'JSON file with an array of rules, or - for stdin')
    .option('--clear', 'remove every rule')
    .option('--dry-run', 'only validate the rules against the flag as it is now; publish nothing')
    .action(
      action<RulesFlags>(deps, async ({ opts, args, out, session }) => {
        const file = optionalStringArg(args, 1);
        if ((file === undefined) === (opts.clear !== true)) {
          throw new CliError('Give either a rules file (or - for stdin) or --clear', EXIT.USAGE);
        }
        let rules: unknown = [];
        if (file !== undefined) {
          const origin = file === '-' ? 'stdin' : file;
          rules = readJson(file, origin);
          if (!Array.isArray(rules)) {
            throw new CliError(`${origin} must hold a JSON array of rules, got ${typeof rules}`, EXIT.USAGE);
          }
        }
        if (opts.dryRun === true) {
          const appId = appIdFlag(opts.appId);
          const flag = await withAdmin(session, opts, out, async (admin) => {
            const snapshot = await currentRuleset(admin, appId);
            const target = pickFlag(snapshot.flags, stringArg(args, 0), appId);
            // The edit the command would publish, applied to the current ruleset only: it throws
            // naming the rule and clause when the rules are not valid for this flag.
            setRulesEdit(target.id, rules)(snapshot.flags, {
              appId,
              stream: admin.stream,
              nowIso: new Date().toISOString(),
              otherAppIds: new Map(),
              invalidFlags: snapshot.invalid,
              allocateId: () => {
                throw new Error('internal: setting rules allocates no id');
              },
            });
            return target;
          });
          const count = Array.isArray(rules) ? rules.length : 0;
          out.result({ appId, valid: true, flag: flag.title, id: flag.id, rules: count }, () => [
            `${count} rule${count === 1 ? '' : 's'}, valid for ${flagName(flag)} in app ${appId} (nothing published: --dry-run)`,
          ]);
          return;
        }
        await editFlag(session, opts, out, stringArg(args, 0), 'updated', (admin, appId, flag) =>
          admin.setRules(appId, flag.id, rules),
        );
      }),
    );
}
