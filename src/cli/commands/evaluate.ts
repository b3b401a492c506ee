/**
 * `tailslide evaluate [flag] --user <context>`: what a user gets and why, computed from the app's
 * current ruleset in the stream by the evaluation path services run (src/evaluation/explain.ts).
 */
import type { Command } from 'commander';
import { contextKey, type EvaluationContext } from '../../evaluation/context';
import { compileWireFlag, explain } from '../../evaluation/explain';
import type { WireFlag } from '../../ruleset/types';
import type { EvaluationDetail } from '../../toggler';
import type { HashingMode } from '../../options';
import { action, optionalStringArg, type CliDeps } from '../core/action';
import { findFlagByArg, findInvalidByArg, pickFlag } from '../parse/flag-ref';
import { CliError, EXIT } from '../core/exit-codes';
import { evaluationTable, explain as explainInWords, explainVariation, type ExplainedDetail } from '../format/eval';
import { hasTargetingFields, invalidLine } from '../format/targeting';
import { parseContext } from '../parse/targeting';
import { appIdFlag, parseChoice } from '../parse/values';
import { currentRuleset, withAdmin } from '../core/session';
import { FLAG_ARG_HELP, flagSubcommand, type FlagCommandFlags } from './flag-command';

type Flags = FlagCommandFlags & { user: string; context?: string; hashing: string };

export function evaluateCommand(deps: CliDeps): Command {
  return flagSubcommand(
    'evaluate',
    'what a user (a key, or a context with attributes) gets for one flag (or every flag) of the app, and why: ' +
      'the value, the variation index, the reason, the rule that matched and the split bucket',
    [
      'tailslide evaluate checkout-v2 --user 375d39e6-9c3f-4f58-80bd-e5960b710295 --app-id 1',
      'tailslide evaluate --user alice --app-id 1 --json',
      `tailslide evaluate pricing-page --context '{"key":"user-42","country":"NL","app_version":"2.4.1"}' --app-id 1`,
    ],
  )
    .alias('eval')
    .argument('[flag]', `${FLAG_ARG_HELP}; every flag when left out`)
    .option('--user <context>', 'the user context: a key (empty: no user context)', '')
    .option(
      '--context <json>',
      'a context with attributes, as JSON: {"key":"user-42","country":"NL"} (instead of --user); rules match on its attributes',
    )
    .option('--hashing <mode>', 'rollout hashing of the services: murmur3 or tailslide-md5', 'murmur3')
    .action(
      action<Flags>(deps, async ({ opts, args, out, session }) => {
        const appId = appIdFlag(opts.appId);
        const hashing = parseChoice<HashingMode>(opts.hashing, '--hashing', ['murmur3', 'tailslide-md5']);
        const flagArg = optionalStringArg(args, 0);
        if (opts.context !== undefined && opts.user !== '') {
          throw new CliError('Give either --user or --context, not both', EXIT.USAGE);
        }
        const context: EvaluationContext = opts.context === undefined ? opts.user : parseContext(opts.context);
        const snapshot = await withAdmin(session, opts, out, (admin) => currentRuleset(admin, appId));
        const invalid =
          flagArg === undefined || findFlagByArg(snapshot.flags, flagArg) !== undefined
            ? undefined
            : findInvalidByArg(snapshot.invalid, flagArg);
        if (invalid !== undefined) {
          throw new CliError(
            `${invalidLine(invalid)}; SDKs leave it out of the ruleset and evaluate it as FLAG_NOT_FOUND`,
            EXIT.NOT_FOUND,
          );
        }
        const wanted = flagArg === undefined ? snapshot.flags : [pickFlag(snapshot.flags, flagArg, appId)];
        const details = wanted.map((flag) => explainFlag(flag, appId, context, hashing));
        const user =
          typeof context !== 'string'
            ? `context ${JSON.stringify(context)}`
            : context === ''
              ? 'no user context'
              : `user ${JSON.stringify(context)}`;
        const header = `app ${appId}, ruleset #${snapshot.sequence}, ${user}`;
        const single = flagArg !== undefined ? details[0] : undefined;
        if (single !== undefined) {
          const flag = wanted[0];
          const typed = flag !== undefined && hasTargetingFields(flag);
          out.result({ ...single, sequence: snapshot.sequence }, () => [
            typed
              ? `${JSON.stringify(single.flagName)} (id ${single.flagId ?? '?'}) serves ${JSON.stringify(single.variationValue)} (variation ${single.variationIndex ?? '?'}) for ${user}`
              : `${JSON.stringify(single.flagName)} (id ${single.flagId ?? '?'}) is ${single.value ? 'ON' : 'OFF'} for ${user}`,
            `  reason: ${single.reason}: ${single.explanation}`,
            ...(single.ruleIndex === undefined ? [] : [`  rule: ${single.ruleIndex} ${JSON.stringify(single.ruleId)}`]),
            ...(single.splitBucket === undefined ? [] : [`  split bucket: ${single.splitBucket} (of 100000)`]),
            `  app ${appId}, ruleset #${snapshot.sequence}`,
          ]);
          return;
        }
        out.result(
          {
            appId,
            userContext: typeof context === 'string' ? context : (context.key ?? ''),
            ...(typeof context === 'string' ? {} : { context }),
            sequence: snapshot.sequence,
            flags: details,
          },
          () =>
            details.length === 0 ? [`${header}: the app has no flags`] : [header, '', ...evaluationTable(details)],
        );
      }),
    );
}

/** One flag evaluated for the context, with the sentence that says why. */
function explainFlag(flag: WireFlag, appId: number, context: EvaluationContext, hashing: HashingMode): ExplainedDetail {
  const compiled = compileWireFlag(flag, appId);
  const e = compiled === undefined ? undefined : explain(compiled, context, hashing);
  const detail: EvaluationDetail = {
    flagName: flag.title,
    flagId: flag.id,
    appId,
    value: e?.on ?? false,
    variant: e?.on === true ? 'on' : 'off',
    reason: e?.reason ?? 'FLAG_NOT_FOUND',
    userContext: contextKey(context),
    source: 'stream',
    ...(e === undefined ? {} : { variationIndex: e.variation }),
    ...(e?.ruleId === undefined ? {} : { ruleIndex: e.ruleIndex, ruleId: e.ruleId }),
  };
  const base = explainInWords(detail, flag, hashing);
  return {
    ...detail,
    ...(e?.splitBucket === undefined ? {} : { splitBucket: e.splitBucket }),
    variationValue: e?.value ?? null,
    explanation:
      explainVariation(
        {
          reason: detail.reason,
          userContext: detail.userContext,
          variationIndex: e?.variation,
          ruleIndex: e?.ruleIndex,
          ruleId: e?.ruleId,
          splitBucket: e?.splitBucket,
        },
        flag,
        base,
      ) ?? base,
  };
}
