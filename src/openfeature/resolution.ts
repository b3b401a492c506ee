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
import type { EvaluationReason } from '../evaluation/evaluator';
import type { EvaluationDetail } from '../toggler';

/** What one Tailslide reason becomes: a value with an OpenFeature reason, or an error resolution. */
type Mapping =
  | { readonly kind: 'value'; readonly reason: ResolutionReason }
  | { readonly kind: 'error'; readonly errorCode: ErrorCode; readonly message: (detail: EvaluationDetail) => string };

/**
 * Every Tailslide reason, mapped. `Record<EvaluationReason, …>` makes a new reason a compile error
 * here until it is mapped.
 */
export const REASON_MAPPING: Readonly<Record<EvaluationReason, Mapping>> = {
  FLAG_OFF: { kind: 'value', reason: StandardResolutionReasons.DISABLED },
  // An open circuit switches the flag off for everyone, as an inactive flag: the value false, DISABLED.
  CIRCUIT_OPEN: { kind: 'value', reason: StandardResolutionReasons.DISABLED },
  WHITELISTED: { kind: 'value', reason: StandardResolutionReasons.TARGETING_MATCH },
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
  ERROR: {
    kind: 'error',
    errorCode: ErrorCode.GENERAL,
    message: (d) => `evaluating flag ${JSON.stringify(d.flagName)} failed: ${d.errorMessage ?? 'unknown error'}`,
  },
};

/** `{ flagId, appId, reason }`: the Tailslide side of a resolution (flagId only for a known flag). */
export function flagMetadataOf(detail: EvaluationDetail): FlagMetadata {
  const metadata: FlagMetadata = { appId: detail.appId, reason: detail.reason };
  if (detail.flagId !== undefined) metadata.flagId = detail.flagId;
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

/** The resolution of a boolean evaluation. */
export function booleanResolution(detail: EvaluationDetail, defaultValue: boolean): ResolutionDetails<boolean> {
  const mapping = REASON_MAPPING[detail.reason];
  const flagMetadata = flagMetadataOf(detail);
  if (mapping.kind === 'error')
    return errorResolution(defaultValue, mapping.errorCode, mapping.message(detail), flagMetadata);
  return { value: detail.value, variant: detail.variant, reason: mapping.reason, flagMetadata };
}

/**
 * The resolution of a string, number or object evaluation: Tailslide flags are on/off, so a known
 * flag is a TYPE_MISMATCH; an unknown flag or a manager without a ruleset keeps its own error.
 */
export function typeMismatchResolution<T>(
  detail: EvaluationDetail,
  defaultValue: T,
  requested: string,
): ResolutionDetails<T> {
  const mapping = REASON_MAPPING[detail.reason];
  const flagMetadata = flagMetadataOf(detail);
  if (
    mapping.kind === 'error' &&
    mapping.errorCode !== ErrorCode.TARGETING_KEY_MISSING &&
    mapping.errorCode !== ErrorCode.GENERAL
  ) {
    return errorResolution(defaultValue, mapping.errorCode, mapping.message(detail), flagMetadata);
  }
  return errorResolution(
    defaultValue,
    ErrorCode.TYPE_MISMATCH,
    `flag ${JSON.stringify(detail.flagName)} is a boolean (Tailslide flags are on or off), not a ${requested}: ` +
      'use getBooleanValue / getBooleanDetails',
    flagMetadata,
  );
}
