/**
 * `tailslide evaluate [flag] --user <context>`: what a user gets and why, computed by an offline
 * FlagManager fed with the app's current ruleset from the stream (the same evaluator services run).
 */
import type { Command } from 'commander';
import { silentLogger } from '../../logger';
import { FlagManager } from '../../manager';
import type { HashingMode } from '../../options';
import { action, optionalStringArg } from '../action';
import { pickFlag } from '../flag-ref';
import { evaluationTable, explain, type ExplainedDetail } from '../format-eval';
import { parseAppId, parseChoice } from '../parse';
import { currentRuleset, withAdmin } from '../session';
import { FLAG_ARG_HELP, flagSubcommand, type FlagCommandFlags } from './flag-command';

type Flags = FlagCommandFlags & { user: string; hashing: string };

export function evaluateCommand(): Command {
  return flagSubcommand('evaluate', 'what a user gets for one flag (or every flag) of the app, and why', [
    'tailslide evaluate checkout-v2 --user 375d39e6-9c3f-4f58-80bd-e5960b710295 --app-id 1',
    'tailslide evaluate --user alice --app-id 1 --json',
  ])
    .alias('eval')
    .argument('[flag]', `${FLAG_ARG_HELP}; every flag when left out`)
    .option('--user <context>', 'the user context (empty: no user context)', '')
    .option('--hashing <mode>', 'rollout hashing of the services: murmur3 or tailslide-md5', 'murmur3')
    .action(
      action<Flags>(async ({ opts, args, out }) => {
        const appId = parseAppId(opts.appId);
        const hashing = parseChoice<HashingMode>(opts.hashing, '--hashing', ['murmur3', 'tailslide-md5']);
        const flagArg = optionalStringArg(args, 0);
        const snapshot = await withAdmin(opts, out, (admin) => currentRuleset(admin, appId));
        const wanted = flagArg === undefined ? snapshot.flags : [pickFlag(snapshot.flags, flagArg, appId)];
        const manager = new FlagManager({
          appId,
          offline: true,
          bootstrap: [...snapshot.flags],
          hashing,
          logger: silentLogger,
        });
        await manager.initialize();
        const details: ExplainedDetail[] = wanted.map((flag) => {
          const detail = manager.evaluate(flag.title, opts.user);
          return { ...detail, explanation: explain(detail, flag, hashing) };
        });
        await manager.disconnect();
        const user = opts.user === '' ? 'no user context' : `user ${JSON.stringify(opts.user)}`;
        const header = `app ${appId}, ruleset #${snapshot.sequence}, ${user}`;
        const single = flagArg !== undefined ? details[0] : undefined;
        if (single !== undefined) {
          out.result({ ...single, sequence: snapshot.sequence }, () => [
            `${JSON.stringify(single.flagName)} (id ${single.flagId ?? '?'}) is ${single.value ? 'ON' : 'OFF'} for ${user}`,
            `  reason: ${single.reason}: ${single.explanation}`,
            `  app ${appId}, ruleset #${snapshot.sequence}`,
          ]);
          return;
        }
        out.result({ appId, userContext: opts.user, sequence: snapshot.sequence, flags: details }, () =>
          details.length === 0 ? [`${header}: the app has no flags`] : [header, '', ...evaluationTable(details)],
        );
      }),
    );
}
