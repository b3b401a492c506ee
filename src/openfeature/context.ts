/**
 * Reading what the provider needs out of OpenFeature's loosely typed inputs (evaluation contexts,
 * tracking details), with a clear message for what does not fit. Pure; never throws.
 */
import type { EvaluationContext, TrackingEventDetails } from '@openfeature/server-sdk';
import { describeValue } from '../errors';
import type { AttributeValue, EvaluationContext as TailslideContext } from '../evaluation/context';

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

/**
 * The Tailslide context of an evaluation: `targetingKey` as the key and the context's other
 * attributes (strings, finite numbers, booleans, null, dates as RFC 3339 strings, and arrays of
 * those; anything else is left out) for targeting rules. A context with no attributes is its key
 * alone (a string), or undefined when it has none: then the manager's default context applies.
 * Without a targetingKey, attributes are evaluated with the key of the manager's default context.
 */
export function tailslideContextOf(
  context: EvaluationContext | undefined,
  defaultKey: () => string,
): Read<TailslideContext | undefined> {
  const key = targetingKeyOf(context);
  if (!key.ok) return key;
  const attributes = Object.create(null) as Record<string, AttributeValue>;
  let count = 0;
  if (context !== undefined && context !== null && typeof context === 'object') {
    for (const name of Object.keys(context)) {
      if (name === 'targetingKey' || name === 'key') continue;
      const value = attributeValue(context[name]);
      if (value === undefined) continue;
      attributes[name] = value;
      count++;
    }
  }
  if (count === 0) return { ok: true, value: key.value };
  attributes.key = key.value ?? defaultKey();
  return { ok: true, value: attributes as TailslideContext };
}

function attributeValue(value: unknown): AttributeValue | undefined {
  const scalar = scalarValue(value);
  if (scalar !== undefined) return scalar;
  if (!Array.isArray(value)) return undefined;
  const items: (string | number | boolean | null)[] = [];
  for (const item of value) {
    const converted = scalarValue(item);
    if (converted === undefined) return undefined;
    items.push(converted);
  }
  return items;
}

function scalarValue(value: unknown): string | number | boolean | null | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : undefined;
  return undefined;
}
