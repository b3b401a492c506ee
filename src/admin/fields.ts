/** The flag fields an admin may set, their defaults for a new flag, and the typed patches. */
import { WIRE_DEFAULTS } from '../ruleset/parse';
import { TARGETING_FIELDS, type JsonValue } from '../ruleset/targeting';
import { WIRE_FIELDS, type WireFlag, type WireFlagFields } from '../ruleset/types';

/** Every wire field a user may set on a flag (all but `id`, `app_id` and the timestamps). */
export type EditableFlagFields = Omit<WireFlagFields, 'id' | 'app_id' | 'created_at' | 'updated_at'>;

/** A split entry on the wire: a variation index and its weight in thousandths of a percent. */
export interface WireSplitEntry {
  readonly variation: number;
  readonly weight: number;
}

/** What a rule or the fallthrough serves, on the wire (docs/targeting.md). */
export type WireServe =
  { readonly variation: number } | { readonly split: readonly WireSplitEntry[]; readonly bucket_by?: string };

export interface WireTarget {
  readonly variation: number;
  readonly values: readonly string[];
}

/**
 * The targeting fields of a flag on the wire (docs/targeting.md). Rules are taken as arbitrary JSON and
 * validated with the flag, so that errors name the rule and clause (`rules[1].clauses[0].op`).
 */
export interface WireTargetingFields {
  variations: readonly JsonValue[];
  off_variation: number;
  targets: readonly WireTarget[];
  rules: readonly unknown[];
  fallthrough: WireServe;
}

/** Changes to a flag: some of the editable fields, targeting included. */
export type FlagPatch = Partial<EditableFlagFields> & Partial<WireTargetingFields>;

/** A new flag: a title, and any editable fields that should differ from the defaults. */
export type NewFlagInput = Pick<EditableFlagFields, 'title'> &
  Partial<Omit<EditableFlagFields, 'title'>> &
  Partial<WireTargetingFields>;

/** The circuit-breaker fields of a flag. */
export type CircuitPatch = Partial<
  Pick<
    EditableFlagFields,
    | 'error_threshold_percentage'
    | 'circuit_status'
    | 'is_recoverable'
    | 'circuit_recovery_percentage'
    | 'circuit_recovery_delay'
    | 'circuit_initial_recovery_percentage'
    | 'circuit_recovery_rate'
    | 'circuit_recovery_increment_percentage'
    | 'circuit_recovery_profile'
  >
>;

/** Fields the admin library sets itself and a patch may not touch. */
export const MANAGED_FIELDS: readonly string[] = ['id', 'app_id', 'created_at', 'updated_at'];

/** The wire fields a user may set, in wire order: all but the managed ones. */
export const EDITABLE_FIELDS: readonly (keyof EditableFlagFields)[] = WIRE_FIELDS.filter(
  (field): field is keyof EditableFlagFields => !MANAGED_FIELDS.includes(field),
);

/** Fields createFlag and updateFlag take: the editable fields and the targeting fields. */
export const PATCHABLE_FIELDS: readonly string[] = [...EDITABLE_FIELDS, ...TARGETING_FIELDS];

export const CIRCUIT_FIELDS: readonly (keyof CircuitPatch)[] = [
  'error_threshold_percentage',
  'circuit_status',
  'is_recoverable',
  'circuit_recovery_percentage',
  'circuit_recovery_delay',
  'circuit_initial_recovery_percentage',
  'circuit_recovery_rate',
  'circuit_recovery_increment_percentage',
  'circuit_recovery_profile',
];

/** Wire fields in the order of docs/wire-format.md, for stable output (diffs, printing). */
export const WIRE_FIELD_ORDER: readonly string[] = [
  'id',
  'app_id',
  'title',
  ...EDITABLE_FIELDS.slice(1),
  'created_at',
  'updated_at',
];

/**
 * What a new flag gets for every field it is not given, as an admin server would fill it: off,
 * rolled out to nobody, and the wire defaults for the rest (WIRE_DEFAULTS).
 */
export const NEW_FLAG_DEFAULTS: Readonly<Omit<EditableFlagFields, 'title'>> = Object.freeze({
  ...WIRE_DEFAULTS,
  is_active: false,
  rollout_percentage: 0,
});

/** A complete wire flag from defaults, the given fields, an id and timestamps. */
export function newWireFlag(appId: number, id: number, input: NewFlagInput, nowIso: string): WireFlag {
  return {
    id,
    app_id: appId,
    ...NEW_FLAG_DEFAULTS,
    ...input,
    created_at: nowIso,
    updated_at: nowIso,
  };
}
