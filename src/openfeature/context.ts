/**
 * Reading what the provider needs out of OpenFeature's loosely typed inputs (evaluation contexts,
 * tracking details), with a clear message for what does not fit. Pure; never throws.
 */
import type { EvaluationContext, TrackingEventDetails } from '@openfeature/server-sdk';
import { describeValue } from '../errors';

export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/**
 * The Tailslide user context of an evaluation: `context.targetingKey`. Undefined (use the manager's
 * default user context) when it is missing or empty; a finite number is taken as its decimal text.
 */
export function targetingKeyOf(context: EvaluationContext | undefined): Read<string | undefined> {
  const key: unknown = context?.targetingKey;
  if (key === undefined || key === null || key === '') return { ok: true, value: undefined };
  if (typeof key === 'string') return { ok: true, value: key };
  if (typeof key === 'number' && Number.isFinite(key)) return { ok: true, value: String(key) };
  return {
    ok: false,
    message: `targetingKey must be a string (the Tailslide user context), got ${describeValue(key)}`,
  };
}

/**
 * The flags a tracking event is recorded against: `trackingEventDetails.flagKey`, one flag title or
 * an array of them.
 */
export function trackedFlagKeysOf(details: TrackingEventDetails | undefined): Read<readonly string[]> {
  const flagKey: unknown = details?.flagKey;
  if (typeof flagKey === 'string' && flagKey !== '') return { ok: true, value: [flagKey] };
  if (
    Array.isArray(flagKey) &&
    flagKey.length > 0 &&
    flagKey.every((k): k is string => typeof k === 'string' && k !== '')
  ) {
    return { ok: true, value: [...new Set(flagKey)] };
  }
  const got = flagKey === undefined ? 'none' : describeValue(flagKey);
  return {
    ok: false,
    message: `trackingEventDetails.flagKey must name the flag the event belongs to (a flag title or an array of them), got ${got}`,
  };
}

/** The metric value of a tracking event: `trackingEventDetails.value`, 1 when absent. */
export function trackedValueOf(details: TrackingEventDetails | undefined): Read<number> {
  const value: unknown = details?.value;
  if (value === undefined || value === null) return { ok: true, value: 1 };
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
  return { ok: false, message: `trackingEventDetails.value must be a finite number, got ${describeValue(value)}` };
}
