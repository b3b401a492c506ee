import type { Targeting } from './targeting';

/** Circuit states as Tower and the breaker write them. */
export type CircuitStatus = 'open' | 'close' | 'recovery';
export type RecoveryProfile = 'linear' | 'exponential';

/** The known fields of a flag on the wire (snake_case). See docs/wire-format.md §1. */
export interface WireFlagFields {
  id: number;
  app_id: number;
  title: string;
  description: string;
  is_active: boolean;
  rollout_percentage: number;
  white_listed_users: string;
  error_threshold_percentage: number;
  circuit_status: CircuitStatus;
  is_recoverable: boolean;
  circuit_recovery_percentage: number;
  circuit_recovery_delay: number;
  circuit_initial_recovery_percentage: number;
  circuit_recovery_rate: number;
  circuit_recovery_increment_percentage: number;
  circuit_recovery_profile: RecoveryProfile;
  webhooks: string;
  created_at: string;
  updated_at: string;
}

/** Every known wire field, in the order Tower writes them. */
export const WIRE_FIELDS = [
  'id',
  'app_id',
  'title',
  'description',
  'is_active',
  'rollout_percentage',
  'white_listed_users',
  'error_threshold_percentage',
  'circuit_status',
  'is_recoverable',
  'circuit_recovery_percentage',
  'circuit_recovery_delay',
  'circuit_initial_recovery_percentage',
  'circuit_recovery_rate',
  'circuit_recovery_increment_percentage',
  'circuit_recovery_profile',
  'webhooks',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof WireFlagFields)[];

/** A flag exactly as it travels in JetStream: the known fields, and unknown extra fields, kept. */
export interface WireFlag extends WireFlagFields {
  [extra: string]: unknown;
}

/** A validated flag, camelCase. What `manager.getFlags()` returns (frozen). */
export interface Flag {
  readonly id: number;
  readonly appId: number;
  readonly title: string;
  readonly description: string;
  readonly isActive: boolean;
  readonly rolloutPercentage: number;
  /** Whitelisted user contexts, split, trimmed, empty entries dropped. */
  readonly whiteListedUsers: readonly string[];
  readonly errorThresholdPercentage: number;
  readonly circuitStatus: CircuitStatus;
  readonly isRecoverable: boolean;
  readonly circuitRecoveryPercentage: number;
  readonly circuitRecoveryDelay: number;
  readonly circuitInitialRecoveryPercentage: number;
  readonly circuitRecoveryRate: number;
  readonly circuitRecoveryIncrementPercentage: number;
  readonly circuitRecoveryProfile: RecoveryProfile;
  readonly webhooks: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The targeting extension (docs/targeting.md); undefined when the flag uses none of its fields. */
  readonly targeting?: Targeting;
  /** Wire fields this SDK does not know, kept verbatim (snake_case keys). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** A validated ruleset of one app, in the order it arrived. */
export type Ruleset = readonly Flag[];
