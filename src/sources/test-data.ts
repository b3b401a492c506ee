/**
 * Flags for your own tests: a real source that a FlagManager receives through its `source`
 * option, whose flags you set from the test. Every change reaches each manager using it at once
 * (synchronously) as a new ruleset, with the same `update` event a JetStream update gives.
 *
 *     const td = new TestData();
 *     const manager = new FlagManager({ appId: 1, source: td.factory(), signalBackend: 'off' });
 *     await manager.initialize();          // ready at once, with td's flags (none yet)
 *     td.set('new-checkout', true);        // on for everyone
 *     td.set('beta', { rolloutPercentage: 10, whiteListedUsers: ['alice'] });
 */
import { InvalidOptionError } from '../errors';
import { parseRuleset } from '../ruleset/parse';
import type { CircuitStatus, RecoveryProfile } from '../ruleset/types';
import type { FlagSource, FlagSourceFactory, SourceSink } from './types';

/** The fields of a test flag, camelCase; every one optional (a flag that is on for everyone). */
export interface TestFlag {
  /** Default: a number TestData gives the title the first time it is set, kept after. */
  readonly id?: number;
  readonly description?: string;
  /** Default true. */
  readonly isActive?: boolean;
  /** Default 100. */
  readonly rolloutPercentage?: number;
  readonly whiteListedUsers?: readonly string[];
  readonly errorThresholdPercentage?: number;
  readonly circuitStatus?: CircuitStatus;
  readonly isRecoverable?: boolean;
  readonly circuitRecoveryPercentage?: number;
  readonly circuitRecoveryDelay?: number;
  readonly circuitInitialRecoveryPercentage?: number;
  readonly circuitRecoveryRate?: number;
  readonly circuitRecoveryIncrementPercentage?: number;
  readonly circuitRecoveryProfile?: RecoveryProfile;
}

const WIRE_NAMES: Readonly<Record<Exclude<keyof TestFlag, 'whiteListedUsers'>, string>> = {
  id: 'id',
  description: 'description',
  isActive: 'is_active',
  rolloutPercentage: 'rollout_percentage',
  errorThresholdPercentage: 'error_threshold_percentage',
  circuitStatus: 'circuit_status',
  isRecoverable: 'is_recoverable',
  circuitRecoveryPercentage: 'circuit_recovery_percentage',
  circuitRecoveryDelay: 'circuit_recovery_delay',
  circuitInitialRecoveryPercentage: 'circuit_initial_recovery_percentage',
  circuitRecoveryRate: 'circuit_recovery_rate',
  circuitRecoveryIncrementPercentage: 'circuit_recovery_increment_percentage',
  circuitRecoveryProfile: 'circuit_recovery_profile',
};

/** Subject of the `update` events TestData causes. */
export const TEST_DATA_SUBJECT = 'test-data';

export class TestData {
  /** The ruleset in the wire format, in the order flags were first set. */
  private ruleset: readonly Readonly<Record<string, unknown>>[] = [];
  private readonly ids = new Map<string, number>();
  private nextId = 1;
  /** Bumped on every change: the sequence of the next delivery. */
  private version = 1;
  private outage: string | undefined;
  /** The sinks of the managers using this TestData now. */
  private readonly sinks = new Set<SourceSink>();

  /** The factory to pass as the manager's `source` option. Several managers may share one TestData. */
  factory(): FlagSourceFactory {
    return () => {
      let sink: SourceSink | undefined;
      let closed = false;
      const source: FlagSource = {
        start: (given) => {
          if (!closed && sink === undefined) {
            sink = given;
            this.attach(given);
          }
          return Promise.resolve();
        },
        close: () => {
          closed = true;
          if (sink !== undefined) this.sinks.delete(sink);
          sink = undefined;
          return Promise.resolve();
        },
      };
      return source;
    };
  }

  /**
   * Adds or replaces one flag. `true`: on for everyone; `false`: off; an object: those fields
   * (camelCase) over a flag that is on for everyone. Throws InvalidRulesetError for a bad field.
   */
  set(title: string, flag: boolean | TestFlag): this {
    if (typeof title !== 'string' || title.trim() === '') {
      throw new InvalidOptionError('title', title, 'a non-empty flag title');
    }
    const fields: TestFlag = typeof flag === 'boolean' ? { isActive: flag } : flag;
    if (typeof fields !== 'object' || fields === null) {
      throw new InvalidOptionError('flag', flag, 'true, false or an object of flag fields');
    }
    const wire: Record<string, unknown> = { id: this.idFor(title, fields.id), title, is_active: true };
    wire.rollout_percentage = 100;
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'whiteListedUsers') {
        if (Array.isArray(value)) wire.white_listed_users = value.join(',');
        else wire.white_listed_users = value;
        continue;
      }
      const name = WIRE_NAMES[key as keyof typeof WIRE_NAMES] as string | undefined;
      if (name === undefined) {
        throw new InvalidOptionError(key, value, `a field of TestFlag (${Object.keys(WIRE_NAMES).join(', ')})`);
      }
      if (value !== undefined) wire[name] = value;
    }
    const index = this.ruleset.findIndex((existing) => existing.title === title);
    const next = [...this.ruleset];
    if (index >= 0) next[index] = wire;
    else next.push(wire);
    return this.replace(next, `TestData.set(${JSON.stringify(title)})`);
  }

  /** Removes one flag (it then evaluates as FLAG_NOT_FOUND). Unknown titles are ignored. */
  remove(title: string): this {
    const next = this.ruleset.filter((flag) => flag.title !== title);
    if (next.length === this.ruleset.length) return this;
    return this.replace(next, 'TestData.remove');
  }

  /**
   * Replaces the whole ruleset with one in the wire format (what Tower publishes, or a cache
   * file's content). Throws InvalidRulesetError naming the flag and field if it is invalid.
   */
  setRuleset(ruleset: readonly unknown[]): this {
    if (!Array.isArray(ruleset)) throw new InvalidOptionError('ruleset', ruleset, 'an array of flags (wire format)');
    const copy = ruleset.map((flag: unknown) =>
      typeof flag === 'object' && flag !== null ? { ...(flag as Record<string, unknown>) } : flag,
    ) as Record<string, unknown>[];
    return this.replace(copy, 'TestData.setRuleset');
  }

  /** Removes every flag. */
  clear(): this {
    return this.replace([], 'TestData.clear');
  }

  /** The current ruleset in the wire format (copies). */
  flags(): Record<string, unknown>[] {
    return this.ruleset.map((flag) => ({ ...flag }));
  }

  /** Makes every manager using this TestData go `stale`, as a lost NATS connection does. */
  simulateOutage(reason = 'TestData outage'): this {
    if (this.outage !== undefined) return this;
    this.outage = reason;
    for (const sink of this.sinks) sink.connection('stale', { reason });
    return this;
  }

  /** Ends the outage: the managers emit `reconnected`. */
  endOutage(): this {
    if (this.outage === undefined) return this;
    this.outage = undefined;
    for (const sink of this.sinks) sink.connection('connected');
    return this;
  }

  /** A manager's source started: it gets the current state. */
  private attach(sink: SourceSink): void {
    this.sinks.add(sink);
    if (this.outage === undefined) sink.connection('connected');
    else sink.connection('stale', { reason: this.outage });
    this.deliver(sink);
  }

  private replace(next: readonly Record<string, unknown>[], origin: string): this {
    const result = parseRuleset(next, origin);
    if (!result.ok) throw result.error;
    this.ruleset = next.map((flag) => Object.freeze({ ...flag }));
    for (const flag of result.flags) this.ids.set(flag.title, flag.id);
    this.version += 1;
    for (const sink of this.sinks) this.deliver(sink);
    return this;
  }

  private deliver(sink: SourceSink): void {
    sink.ruleset(this.ruleset, {
      sequence: this.version,
      subject: TEST_DATA_SUBJECT,
      pending: 0,
      origin: 'test',
    });
  }

  private idFor(title: string, id: number | undefined): number {
    if (id !== undefined) {
      this.ids.set(title, id);
      return id;
    }
    const known = this.ids.get(title);
    if (known !== undefined) return known;
    while ([...this.ids.values()].includes(this.nextId)) this.nextId += 1;
    const fresh = this.nextId;
    this.nextId += 1;
    this.ids.set(title, fresh);
    return fresh;
  }
}
