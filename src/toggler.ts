import { errorMessage } from './util/error-message';
import { describeValue } from './errors';
import { contextKey, type EvaluationContext } from './evaluation/context';
import type { CompiledFlag } from './evaluation/evaluator';
import { explain, isOn, variantFor } from './evaluation/explain';
import { convertToText, type Converted } from './evaluation/user-context';
import type { VariationReason } from './evaluation/variation';
import type { HashingMode } from './options';
import type { JsonValue } from './ruleset/targeting';
import type { SignalSink, SignalStatus } from './signals/types';
import type { RulesetOrigin } from './sources/types';

/** The outcome of one evaluation, with why. */
export interface EvaluationDetail {
  readonly flagName: string;
  /** The flag's id, when the flag is known. */
  readonly flagId: number | undefined;
  readonly appId: number;
  readonly value: boolean;
  /** `on` when value is true. */
  readonly variant: 'on' | 'off';
  readonly reason: VariationReason;
  /** The user context's key the flag was evaluated for ('' when none). */
  readonly userContext: string;
  /**
   * Where the ruleset consulted came from: `stream`, `bootstrap`, `cache`, `test` or `custom`;
   * undefined while no ruleset is loaded (reason NOT_READY).
   */
  readonly source?: RulesetOrigin;
  /** The variation served (1 = true, 0 = false for a boolean flag); undefined when the flag is unknown. */
  readonly variationIndex?: number;
  /** The matching rule of a flag with targeting rules (reason RULE_MATCH). */
  readonly ruleIndex?: number;
  readonly ruleId?: string;
  /** Set when reason is `ERROR`. */
  readonly errorMessage?: string;
}

/** Why a typed variation call served the caller's default although the flag is known. */
export type VariationDetailReason = VariationReason | 'TYPE_MISMATCH';

/** The outcome of a `variation` call: the value served, or the caller's default, with why. */
export interface VariationDetail<T> {
  readonly flagName: string;
  readonly flagId: number | undefined;
  readonly appId: number;
  readonly value: T;
  /** The variation served; undefined when the caller's default was returned. */
  readonly variationIndex: number | undefined;
  /**
   * The variant's name, as metrics are split by it: `on`/`off` for a flag without its own variations,
   * the variation index (`"0"`, `"1"`, …) for one with; undefined when the default was returned.
   */
  readonly variant: string | undefined;
  readonly reason: VariationDetailReason;
  /** The matching rule (reason RULE_MATCH); undefined otherwise. */
  readonly ruleIndex: number | undefined;
  readonly ruleId: string | undefined;
  /** The split bucket (0–99999), when a weighted split chose the variation; undefined otherwise. */
  readonly splitBucket: number | undefined;
  /** The context's key ('' when none). */
  readonly userContext: string;
  /** Why the default was returned, for TYPE_MISMATCH and ERROR. */
  readonly errorMessage: string | undefined;
  /** Where the ruleset consulted came from (`stream`, `bootstrap`, `cache`, `test`, `custom`). */
  readonly source: RulesetOrigin | undefined;
}

/** What a Toggler needs from its manager. Internal: built by FlagManager. */
export interface TogglerHost {
  readonly appId: number;
  readonly hashing: HashingMode;
  readonly signals: SignalSink;
  /** The current compiled flag, or undefined. */
  lookup(flagName: string): CompiledFlag | undefined;
  isReady(): boolean;
  /** Where the current ruleset came from, or undefined before the first. */
  rulesetOrigin(): RulesetOrigin | undefined;
  defaultUserContext(): EvaluationContext;
  /** Called when a flag is missing from a loaded ruleset (the host warns once per name). */
  flagNotFound(flagName: string): void;
  /** Called when a context is neither a string nor an object and was converted or dropped (warned once per kind). */
  nonStringUserContext(converted: Converted): void;
}

/** A requested type: its name for messages, and the test a served value must pass. */
interface Check<T> {
  readonly name: string;
  test(value: JsonValue): value is JsonValue & T;
}
const isBoolean: Check<boolean> = { name: 'boolean', test: (v): v is boolean => typeof v === 'boolean' };
const isString: Check<string> = { name: 'string', test: (v): v is string => typeof v === 'string' };
const isNumber: Check<number> = { name: 'number', test: (v): v is number => typeof v === 'number' };
const isJson: Check<JsonValue> = { name: 'JSON value', test: (_v): _v is JsonValue => true };
const isObject: Check<JsonValue> = {
  name: 'object',
  test: (v): v is JsonValue => typeof v === 'object' && v !== null,
};

/**
 * A handle on one flag. Evaluation is local and synchronous, and never throws. The flag is
 * looked up at every call, so a toggler follows updates and picks up a flag that appears later.
 *
 * A context is a string (the user's key, as in Tailslide) or an object with a `key` and attributes
 * for targeting rules (docs/targeting.md); none means the manager's default context.
 */
export class Toggler {
  constructor(
    private readonly host: TogglerHost,
    readonly flagName: string,
  ) {}

  /**
   * Whether the flag is on for this context. False when the flag is unknown, off, or no ruleset has
   * arrived yet. A flag with variations is on when it serves anything but its `off_variation`.
   */
  isFlagActive(context?: EvaluationContext): boolean {
    try {
      const compiled = this.host.lookup(this.flagName);
      if (compiled === undefined) {
        this.host.flagNotFound(this.flagName);
        return false;
      }
      return isOn(compiled, this.contextOf(context), this.host.hashing);
    } catch {
      return false;
    }
  }

  /** Like `isFlagActive`, with the reason, the flag id and the user context used. */
  evaluate(context?: EvaluationContext): EvaluationDetail {
    let key = '';
    try {
      const ctx = this.contextOf(context);
      key = contextKey(ctx);
      const compiled = this.host.lookup(this.flagName);
      if (compiled === undefined) {
        this.host.flagNotFound(this.flagName);
        return this.detail(this.host.isReady() ? 'FLAG_NOT_FOUND' : 'NOT_READY', undefined, key);
      }
      const e = explain(compiled, ctx, this.host.hashing);
      return {
        ...this.detail(e.reason, compiled.flag.id, key, e.on),
        variationIndex: e.variation,
        ...(e.ruleId === undefined ? {} : { ruleIndex: e.ruleIndex, ruleId: e.ruleId }),
      };
    } catch (err) {
      return { ...this.detail('ERROR', undefined, key), errorMessage: errorMessage(err) };
    }
  }

  /** The value the flag serves this context, or `defaultValue` when it cannot (unknown flag, not ready). */
  variation(context: EvaluationContext | undefined, defaultValue: JsonValue): JsonValue {
    return this.variationDetail(context, defaultValue).value;
  }

  /** `variation` with the variation index, the reason, and the rule and split bucket that chose it. */
  variationDetail(context: EvaluationContext | undefined, defaultValue: JsonValue): VariationDetail<JsonValue> {
    return this.typed<JsonValue>(context, defaultValue, isJson);
  }

  /** A boolean variation; a flag serving another type gives `defaultValue` with TYPE_MISMATCH. */
  booleanVariation(context: EvaluationContext | undefined, defaultValue: boolean): boolean {
    return this.typed(context, defaultValue, isBoolean).value;
  }

  booleanVariationDetail(context: EvaluationContext | undefined, defaultValue: boolean): VariationDetail<boolean> {
    return this.typed(context, defaultValue, isBoolean);
  }

  /** A string variation; a flag serving another type gives `defaultValue` with TYPE_MISMATCH. */
  stringVariation(context: EvaluationContext | undefined, defaultValue: string): string {
    return this.typed(context, defaultValue, isString).value;
  }

  stringVariationDetail(context: EvaluationContext | undefined, defaultValue: string): VariationDetail<string> {
    return this.typed(context, defaultValue, isString);
  }

  /** A number variation; a flag serving another type gives `defaultValue` with TYPE_MISMATCH. */
  numberVariation(context: EvaluationContext | undefined, defaultValue: number): number {
    return this.typed(context, defaultValue, isNumber).value;
  }

  numberVariationDetail(context: EvaluationContext | undefined, defaultValue: number): VariationDetail<number> {
    return this.typed(context, defaultValue, isNumber);
  }

  /** A JSON object or array variation; a flag serving another type gives `defaultValue` with TYPE_MISMATCH. */
  jsonVariation(context: EvaluationContext | undefined, defaultValue: JsonValue): JsonValue {
    return this.typed(context, defaultValue, isObject).value;
  }

  jsonVariationDetail(context: EvaluationContext | undefined, defaultValue: JsonValue): VariationDetail<JsonValue> {
    return this.typed(context, defaultValue, isObject);
  }

  /** Records a success of the guarded operation (written to Redis in the background). */
  emitSuccess(): void {
    this.emit('success');
  }

  /** Records a failure of the guarded operation (written to Redis in the background). */
  emitFailure(): void {
    this.emit('failure');
  }

  /**
   * Records a custom metric (e.g. `checkout_value`) with the variant this context gets from the flag
   * right now, so the metric can be compared between variants: `on`/`off` for a boolean flag, the
   * variation index (`"0"`, `"1"`, …) for a flag with variations.
   */
  trackMetric(eventName: string, value = 1, context?: EvaluationContext): void {
    try {
      const compiled = this.host.lookup(this.flagName);
      if (
        compiled === undefined ||
        typeof eventName !== 'string' ||
        typeof value !== 'number' ||
        !Number.isFinite(value)
      )
        return;
      const variant = variantFor(compiled, this.contextOf(context), this.host.hashing);
      this.host.signals.recordMetric(compiled.flag.id, this.host.appId, eventName, variant, value, Date.now());
    } catch {
      // recording must never disturb the caller
    }
  }

  private typed<T extends JsonValue>(
    context: EvaluationContext | undefined,
    defaultValue: T,
    check: Check<T>,
  ): VariationDetail<T> {
    let key = '';
    try {
      const ctx = this.contextOf(context);
      key = contextKey(ctx);
      const compiled = this.host.lookup(this.flagName);
      if (compiled === undefined) {
        this.host.flagNotFound(this.flagName);
        const reason = this.host.isReady() ? 'FLAG_NOT_FOUND' : 'NOT_READY';
        return this.fallback(defaultValue, undefined, reason, key, undefined);
      }
      const d = explain(compiled, ctx, this.host.hashing);
      if (!check.test(d.value)) {
        const message =
          compiled.targeting?.explicitVariations === true
            ? `flag ${JSON.stringify(this.flagName)} serves ${describeValue(d.value)}, not a ${check.name}`
            : `flag ${JSON.stringify(this.flagName)} is a boolean (on or off), not a ${check.name}: use a boolean evaluation`;
        return this.fallback(defaultValue, compiled.flag.id, 'TYPE_MISMATCH', key, message);
      }
      return {
        flagName: this.flagName,
        flagId: compiled.flag.id,
        appId: this.host.appId,
        value: d.value,
        variationIndex: d.variation,
        variant: d.variant,
        reason: d.reason,
        ruleIndex: d.ruleIndex,
        ruleId: d.ruleId,
        splitBucket: d.splitBucket,
        userContext: key,
        errorMessage: undefined,
        source: this.host.rulesetOrigin(),
      };
    } catch (err) {
      return this.fallback(defaultValue, undefined, 'ERROR', key, errorMessage(err));
    }
  }

  /** The caller's default, with why (same shape as a served detail). */
  private fallback<T>(
    value: T,
    flagId: number | undefined,
    reason: VariationDetailReason,
    userContext: string,
    errorMessage: string | undefined,
  ): VariationDetail<T> {
    return {
      flagName: this.flagName,
      flagId,
      appId: this.host.appId,
      value,
      variationIndex: undefined,
      variant: undefined,
      reason,
      ruleIndex: undefined,
      ruleId: undefined,
      splitBucket: undefined,
      userContext,
      errorMessage,
      source: this.host.rulesetOrigin(),
    };
  }

  private emit(status: SignalStatus): void {
    try {
      const compiled = this.host.lookup(this.flagName);
      if (compiled === undefined) return;
      this.host.signals.record(compiled.flag.id, this.host.appId, status, Date.now());
    } catch {
      // recording must never disturb the caller
    }
  }

  /** The context to evaluate for. A string is taken as is: that is the hot path, kept tiny. */
  private contextOf(context: unknown): EvaluationContext {
    return typeof context === 'string' ? context : this.otherContextOf(context);
  }

  /**
   * Anything but a string: none means the default context; an object is a context with attributes;
   * a number, boolean or bigint its text; anything else no context. Never throws (no `String(object)`).
   */
  private otherContextOf(context: unknown): EvaluationContext {
    if (context === undefined || context === null) return this.host.defaultUserContext();
    if (typeof context === 'object' && isPlainContext(context)) return context as EvaluationContext;
    const converted = convertToText(context);
    this.host.nonStringUserContext(converted);
    return converted.text;
  }

  private detail(
    reason: VariationReason,
    flagId: number | undefined,
    userContext: string,
    value = false,
  ): EvaluationDetail {
    return {
      flagName: this.flagName,
      flagId,
      appId: this.host.appId,
      value,
      variant: value ? 'on' : 'off',
      reason,
      userContext,
      source: this.host.rulesetOrigin(),
    };
  }
}

/** An object (not an array) usable as a context; false for a revoked proxy, where even `Array.isArray` throws. */
function isPlainContext(context: object): boolean {
  try {
    return !Array.isArray(context);
  } catch {
    return false;
  }
}
