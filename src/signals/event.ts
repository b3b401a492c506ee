/**
 * One validation step for everything `record` and `recordMetric` accept: pure, never throws.
 * A valid event becomes the series it is counted in; an invalid one becomes a warning, keyed so
 * that each distinct bad input is reported once.
 */
import { eventToken } from './keys';
import type { SignalStatus, Variant } from './types';

export type EventInput =
  | {
      readonly kind: 'signal';
      readonly flagId: unknown;
      readonly appId: unknown;
      readonly status: unknown;
    }
  | {
      readonly kind: 'metric';
      readonly flagId: unknown;
      readonly appId: unknown;
      readonly eventName: unknown;
      readonly variant: unknown;
      readonly value: unknown;
    };

export type CheckedEvent =
  | {
      readonly ok: true;
      readonly kind: 'signal';
      readonly flagId: number;
      readonly appId: number;
      readonly status: SignalStatus;
    }
  | {
      readonly ok: true;
      readonly kind: 'metric';
      readonly flagId: number;
      readonly appId: number;
      /** The event name as encoded by `eventToken()`. */
      readonly token: string;
      readonly variant: Variant;
      readonly value: number;
    }
  | { readonly ok: false; readonly key: string; readonly message: string };

/** @param tokenOf turns an event name into its key token (a cached `eventToken` on the hot path). */
export function checkEvent(
  input: EventInput,
  tokenOf: (eventName: unknown) => string | undefined = eventToken,
): CheckedEvent {
  const { flagId, appId } = input;
  if (input.kind === 'signal') {
    const { status } = input;
    if (!isId(flagId) || !isId(appId) || (status !== 'success' && status !== 'failure'))
      return {
        ok: false,
        key: `signal:${String(flagId)}:${String(appId)}:${String(status)}`,
        message: `Signals: ignored an event with flag id ${String(flagId)}, app id ${String(appId)}, status ${String(status)}`,
      };
    return { ok: true, kind: 'signal', flagId, appId, status };
  }
  const { eventName, variant, value } = input;
  if (!isId(flagId) || !isId(appId) || (variant !== 'on' && variant !== 'off'))
    return {
      ok: false,
      key: `metric:${String(flagId)}:${String(appId)}:${String(variant)}`,
      message: `Signals: ignored a metric with flag id ${String(flagId)}, app id ${String(appId)}, variant ${String(variant)}`,
    };
  const token = tokenOf(eventName);
  if (token === undefined)
    return {
      ok: false,
      key: `event:${String(eventName)}`,
      message: `Signals: ignored a metric with an invalid event name ${JSON.stringify(String(eventName)).slice(0, 100)} (expected a non-blank string of at most 200 characters)`,
    };
  if (typeof value !== 'number' || !Number.isFinite(value))
    return {
      ok: false,
      key: `value:${token}`,
      message: `Signals: ignored a metric "${token}" with a value that is not a finite number (${String(value)})`,
    };
  return { ok: true, kind: 'metric', flagId, appId, token, variant, value };
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
