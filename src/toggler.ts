import { describeValue } from './errors';
import { decide, isOnReason, type CompiledFlag, type EvaluationReason } from './evaluation/evaluator';
import { convertToText, type Converted } from './evaluation/user-context';
import type { HashingMode } from './options';
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
  readonly reason: EvaluationReason;
  /** The user context the flag was evaluated for ('' when none). */
  readonly userContext: string;
  /**
   * Where the ruleset consulted came from: `stream`, `bootstrap`, `cache`, `test` or `custom`;
   * undefined while no ruleset is loaded (reason NOT_READY).
   */
  readonly source?: RulesetOrigin;
  /** Set when reason is `ERROR`. */
  readonly errorMessage?: string;
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
  defaultUserContext(): string;
  /** Called when a flag is missing from a loaded ruleset (the host warns once per name). */
  flagNotFound(flagName: string): void;
  /** Called when a user context is not a string and was converted or dropped (the host warns once per kind). */
  nonStringUserContext(converted: Converted): void;
}

/**
 * A handle on one flag. Evaluation is local and synchronous, and never throws. The flag is
 * looked up at every call, so a toggler follows updates and picks up a flag that appears later.
 */
export class Toggler {
  constructor(
    private readonly host: TogglerHost,
    readonly flagName: string,
  ) {}

  /**
   * Whether the flag is on for this user context (default: the manager's current one).
   * False when the flag is unknown, off, or no ruleset has arrived yet.
   */
  isFlagActive(userContext?: string): boolean {
    try {
      const compiled = this.host.lookup(this.flagName);
      if (compiled === undefined) {
        this.host.flagNotFound(this.flagName);
        return false;
      }
      return isOnReason(decide(compiled, this.userOf(userContext), this.host.hashing));
    } catch {
      return false;
    }
  }

  /** Like `isFlagActive`, with the reason, the flag id and the user context used. */
  evaluate(userContext?: string): EvaluationDetail {
    let user = '';
    try {
      user = this.userOf(userContext);
      const compiled = this.host.lookup(this.flagName);
      if (compiled === undefined) {
        this.host.flagNotFound(this.flagName);
        return this.detail(this.host.isReady() ? 'FLAG_NOT_FOUND' : 'NOT_READY', undefined, user);
      }
      return this.detail(decide(compiled, user, this.host.hashing), compiled.flag.id, user);
    } catch (err) {
      return { ...this.detail('ERROR', undefined, user), errorMessage: messageOf(err) };
    }
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
   * Records a custom metric (e.g. `checkout_value`) with the variant this user gets from the flag
   * right now, so the metric can be compared between users with and without the flag.
   */
  trackMetric(eventName: string, value = 1, userContext?: string): void {
    try {
      const compiled = this.host.lookup(this.flagName);
      if (
        compiled === undefined ||
        typeof eventName !== 'string' ||
        typeof value !== 'number' ||
        !Number.isFinite(value)
      )
        return;
      const on = isOnReason(decide(compiled, this.userOf(userContext), this.host.hashing));
      this.host.signals.recordMetric(
        compiled.flag.id,
        this.host.appId,
        eventName,
        on ? 'on' : 'off',
        value,
        Date.now(),
      );
    } catch {
      // recording must never disturb the caller
    }
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

  /** The user context to evaluate for. A string is taken as is: that is the hot path, kept tiny. */
  private userOf(userContext: unknown): string {
    return typeof userContext === 'string' ? userContext : this.otherUserOf(userContext);
  }

  /**
   * Anything but a string, from JavaScript callers: none means the default context; a number,
   * boolean or bigint its text; anything else no context. Never throws (no `String(object)`).
   */
  private otherUserOf(userContext: unknown): string {
    if (userContext === undefined || userContext === null) return this.host.defaultUserContext();
    const converted = convertToText(userContext);
    this.host.nonStringUserContext(converted);
    return converted.text;
  }

  private detail(reason: EvaluationReason, flagId: number | undefined, userContext: string): EvaluationDetail {
    const value = isOnReason(reason);
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

/** The message of anything thrown, without calling into it beyond `Error.message`. */
function messageOf(err: unknown): string {
  try {
    return err instanceof Error ? String(err.message) : describeValue(err);
  } catch {
    return 'unknown error';
  }
}
