/**
 * What a Toggler asks of its manager (TogglerHost), built from the manager's store, signals and
 * options; with the warnings that evaluation gives once per cause (an unknown flag, a user context
 * that is not a string), since evaluation itself never logs and never throws.
 */
import { describeValue } from './errors';
import type { EvaluationContext } from './evaluation/context';
import type { CompiledFlag } from './evaluation/evaluator';
import type { Converted } from './evaluation/user-context';
import type { FlagStore } from './flag-store';
import type { ResolvedOptions } from './options';
import type { SignalSink } from './signals/types';
import type { RulesetOrigin } from './sources/types';
import type { TogglerHost } from './toggler';

export interface TogglerHostParts {
  readonly store: FlagStore;
  readonly signals: SignalSink;
  readonly options: ResolvedOptions;
  readonly rulesetOrigin: () => RulesetOrigin | undefined;
  readonly defaultUserContext: () => EvaluationContext;
}

export function createTogglerHost(parts: TogglerHostParts): TogglerHost {
  const { store, signals, options } = parts;
  const warnedUnknown = new Set<string>();
  const warnedContextKinds = new Set<string>();
  return {
    appId: options.appId,
    hashing: options.hashing,
    signals,
    lookup: (flagName: string): CompiledFlag | undefined => store.get(flagName),
    isReady: () => store.hasRuleset,
    rulesetOrigin: parts.rulesetOrigin,
    defaultUserContext: parts.defaultUserContext,
    nonStringUserContext: (converted: Converted) => {
      if (warnedContextKinds.has(converted.kind)) return;
      warnedContextKinds.add(converted.kind);
      options.logger.warn(
        converted.usable
          ? `a user context of type ${converted.kind} was passed; it is evaluated as its text, as String() gives it (pass a string)`
          : `a user context of type ${converted.kind} was passed; it cannot be used and is evaluated as no user context (pass a string)`,
      );
    },
    flagNotFound: (flagName: string) => {
      if (!store.hasRuleset || warnedUnknown.has(flagName)) return;
      warnedUnknown.add(flagName);
      options.logger.warn(
        `unknown flag ${describeValue(flagName)} in app ${options.appId}: it is not in the ruleset (FLAG_NOT_FOUND); ` +
          'togglers treat it as off, OpenFeature clients get their own default value',
      );
    },
  };
}
