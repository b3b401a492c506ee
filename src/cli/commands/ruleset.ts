/** `tailslide ruleset get` and `tailslide ruleset publish <file>`: the whole ruleset as JSON. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { diffRulesets } from '../../admin/diff';
import { validateRuleset, withNewFlagDefaults } from '../../admin/edits';
import { action, stringArg, type CliDeps } from '../core/action';
import { CliError, EXIT } from '../core/exit-codes';
import { diffData, diffLines } from '../format/flags';
import { invalidLine } from '../format/targeting';
import { type AppFlags, type JsonFlags, type NatsFlags, withAppId, withJson, withNatsOptions } from '../parse/options';
import { appIdFlag } from '../parse/values';
import { rulesetText } from '../../ruleset/parse';
import { currentRuleset, withAdmin } from '../core/session';

type Flags = NatsFlags & AppFlags & JsonFlags & { dryRun?: boolean };

export function rulesetCommand(deps: CliDeps): Command {
  const group = new Command('ruleset').description(
    'the whole ruleset of an app as JSON: print it, or publish one from a file',
  );

  const get = new Command('get').description(
    "print the app's current ruleset (the JSON array SDKs receive; ruleset publish takes it back)",
  );
  withAppId(get);
  withNatsOptions(get);
  withJson(get, 'accepted for symmetry: the output is always JSON');
  get.addHelpText('after', '\nExamples:\n  tailslide ruleset get --app-id 1 > flags.json');
  get.action(
    action<Flags>(deps, async ({ opts, out, session }) => {
      const appId = appIdFlag(opts.appId);
      const snapshot = await withAdmin(session, opts, out, (admin) => currentRuleset(admin, appId));
      // Every flag, invalid ones as stored: publishing the file back refuses them until they are fixed.
      for (const flag of snapshot.invalid) out.warn(invalidLine(flag));
      out.data(snapshot.all);
    }),
  );

  const publish = new Command('publish')
    .description(
      "replace the app's whole ruleset with a JSON file (an array of flags in the wire format), validated first. " +
        'Each flag needs id, title, is_active and rollout_percentage; other fields default as for flags create',
    )
    .argument('<file>', 'JSON file, or - for stdin')
    .option('--dry-run', 'only validate the file; publish nothing');
  withAppId(publish);
  withNatsOptions(publish);
  withJson(publish);
  publish.addHelpText(
    'after',
    "\nExamples:\n  tailslide ruleset publish flags.json --app-id 1\n  tailslide ruleset get --app-id 1 | jq '.[0].rollout_percentage = 30' | tailslide ruleset publish - --app-id 1",
  );
  publish.action(
    action<Flags>(deps, async ({ opts, args, out, session }) => {
      const appId = appIdFlag(opts.appId);
      const file = stringArg(args, 0);
      const origin = file === '-' ? 'stdin' : file;
      const value = readJson(file, origin);
      // Validated before connecting: a bad file fails the same with or without a server.
      const flags = validateRuleset(withNewFlagDefaults(value), origin, appId);
      if (opts.dryRun === true) {
        out.result({ appId, valid: true, flags: flags.length }, () => [
          `${origin}: ${flags.length} flags, valid for app ${appId} (nothing published: --dry-run)`,
        ]);
        return;
      }
      const { before, outcome } = await withAdmin(session, opts, out, async (admin) => {
        const previous = await admin.readRuleset(appId).catch(() => undefined);
        return { before: previous?.flags ?? [], outcome: await admin.publishRuleset(appId, value, { origin }) };
      });
      const diff = diffRulesets(before, outcome.flags, { ignoreFields: ['updated_at'] });
      out.result(
        {
          appId,
          published: true,
          sequence: outcome.sequence,
          subject: outcome.subject,
          flags: outcome.flags.length,
          diff: diffData(diff),
        },
        () => [
          `published ${origin} to app ${appId}: ruleset #${outcome.sequence ?? '?'} on ${outcome.subject}, ${outcome.flags.length} flags`,
          ...diffLines(diff).map((line) => `  ${line}`),
        ],
      );
    }),
  );
  return group.addCommand(get).addCommand(publish);
}

/** A JSON file (`-`: stdin), a leading byte order mark dropped; exit code 1 when unreadable or not JSON. */
export function readJson(file: string, origin: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${origin}: ${(error as Error).message}`, EXIT.USAGE);
  }
  try {
    // rulesetText drops a leading byte order mark, which Windows editors write and JSON.parse refuses.
    return JSON.parse(rulesetText(text)) as unknown;
  } catch (error) {
    throw new CliError(`${origin} is not valid JSON: ${(error as Error).message}`, EXIT.USAGE);
  }
}
