/**
 * Turns a Tailslide evaluation into an OpenFeature resolution: the reason mapping of the README's
 * OpenFeature section, in one table. Pure: no I/O, never throws.
 */
import {
  ErrorCode,
  StandardResolutionReasons,
  type FlagMetadata,
  type ResolutionDetails,
  type ResolutionReason,
} from '@openfeature/server-sdk';
import type { VariationDetail, VariationDetailReason } from '../toggler';

/** What one Tailslide reason becomes: a value with an OpenFeature reason, or an error resolution. */
type Mapping =
  | { readonly kind: 'value'; readonly reason: ResolutionReason }
  | { readonly kind: 'error'; readonly errorCode: ErrorCode; readonly message: (detail: Detail) => string };

/** What a resolution needs of an evaluation: the toggler's variation detail. */
type Detail = VariationDetail<unknown>;

/**
 * Every Tailslide reason, mapped. `Record<VariationDetailReason, …>` makes a new reason a compile
 * error here until it is mapped. A rule or fallthrough that served through a weighted split is SPLIT
 * (see `valueReason`).
 */
export const REASON_MAPPING: Readonly<Record<VariationDetailReason, Mapping>> = {
  FLAG_OFF: { kind: 'value', reason: StandardResolutionReasons.DISABLED },
  WHITELISTED: { kind: 'value', reason: StandardResolutionReasons.TARGETING_MATCH },
  TARGET_MATCH: { kind: 'value', reason: StandardResolutionReasons.TARGETING_MATCH },
  RULE_MATCH: { kind: 'value', reason: StandardResolutionReasons.TARGETING_MATCH },
  FALLTHROUGH: { kind: 'value', reason: StandardResolutionReasons.DEFAULT },
  ROLLOUT_IN: { kind: 'value', reason: StandardResolutionReasons.SPLIT },
  ROLLOUT_OUT: { kind: 'value', reason: StandardResolutionReasons.SPLIT },
  FULL_ROLLOUT: { kind: 'value', reason: StandardResolutionReasons.STATIC },
  NO_USER_CONTEXT: {
    kind: 'error',
    errorCode: ErrorCode.TARGETING_KEY_MISSING,
    message: (d) =>
      `flag ${JSON.stringify(d.flagName)} is rolled out to part of the users and needs a targetingKey to decide; ` +
      'the evaluation context has none and the FlagManager has no default userContext',
  },
  FLAG_NOT_FOUND: {
    kind: 'error',
    errorCode: ErrorCode.FLAG_NOT_FOUND,
    message: (d) => `flag ${JSON.stringify(d.flagName)} is not in the ruleset of app ${d.appId}`,
  },
  NOT_READY: {
    kind: 'error',
    errorCode: ErrorCode.PROVIDER_NOT_READY,
    message: (d) => `no ruleset of app ${d.appId} has arrived yet`,
  },
  TYPE_MISMATCH: {
    kind: 'error',
    errorCode: ErrorCode.TYPE_MISMATCH,
    message: (d) => d.errorMessage ?? `flag ${JSON.stringify(d.flagName)} serves another type`,
  },
  ERROR: {
    kind: 'error',
    errorCode: ErrorCode.GENERAL,
    message: (d) => `evaluating flag ${JSON.stringify(d.flagName)} failed: ${d.errorMessage ?? 'unknown error'}`,
  },
};

/** `{ flagId, appId, reason }` (plus `ruleId`): the Tailslide side of a resolution (flagId only for a known flag). */
export function flagMetadataOf(detail: Detail): FlagMetadata {
  const metadata: FlagMetadata = { appId: detail.appId, reason: detail.reason };
  if (detail.flagId !== undefined) metadata.flagId = detail.flagId;
  if (detail.ruleId !== undefined) metadata.ruleId = detail.ruleId;
  return metadata;
}

/**
 * An error resolution as the OpenFeature SDK expects it from a provider that does not throw:
 * the caller's default value, reason ERROR, an error code and message. The SDK runs the error
 * hooks and keeps the flag metadata.
 */
export function errorResolution<T>(
  defaultValue: T,
  errorCode: ErrorCode,
  errorMessage: string,
  flagMetadata?: FlagMetadata,
): ResolutionDetails<T> {
  const resolution: ResolutionDetails<T> = {
    value: defaultValue,
    reason: StandardResolutionReasons.ERROR,
    errorCode,
    errorMessage,
  };
  if (flagMetadata !== undefined) resolution.flagMetadata = flagMetadata;
  return resolution;
}

/**
 * The resolution of a typed evaluation: the value served, with the variant (`on`/`off`, or the
 * variation index of a flag with its own variations) and the mapped reason; or the default with an
 * error code. While the manager is `stale` (manager.health()), a served value's reason is STALE:
 * it comes from a ruleset that may be out of date (the Tailslide reason stays in the metadata).
 */
export function resolutionOf<T>(detail: VariationDetail<T>, defaultValue: T, stale = false): ResolutionDetails<T> {
  const mapping = REASON_MAPPING[detail.reason];
  const flagMetadata = flagMetadataOf(detail);
  if (mapping.kind === 'error') {
    return errorResolution(defaultValue, mapping.errorCode, mapping.message(detail), flagMetadata);
  }
  const resolution: ResolutionDetails<T> = {
    value: detail.value,
    reason: stale ? StandardResolutionReasons.STALE : valueReason(detail, mapping.reason),
    flagMetadata,
  };
  if (detail.variant !== undefined) resolution.variant = detail.variant;
  return resolution;
}

/** A rule or the fallthrough that served through a weighted split is a SPLIT. */
function valueReason(detail: Detail, mapped: ResolutionReason): ResolutionReason {
  const split = detail.splitBucket !== undefined && (detail.reason === 'RULE_MATCH' || detail.reason === 'FALLTHROUGH');
  return split ? StandardResolutionReasons.SPLIT : mapped;
}
