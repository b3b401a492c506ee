/**
 * Names of everything the signal pipeline stores in Redis, for both backends, in one place.
 * Design and key layouts: docs/signals.md.
 */
import type { SignalStatus, Variant } from './types';

/** Native backend: one hash per (series, block of BLOCK_MS); field = second within the block. */
export const NATIVE_BLOCK_MS = 60_000;
/** Native backend resolution: events are counted per second. */
export const NATIVE_RESOLUTION_MS = 1_000;

const NATIVE_PREFIX = 'tailslide:sig';
const METRIC_PREFIX = 'tailslide:metric';

/** Longest accepted metric event name, in characters, before encoding. */
export const MAX_EVENT_NAME_LENGTH = 200;

/** Start of the native block holding `atMs`. */
export function blockStart(atMs: number): number {
  return atMs - (atMs % NATIVE_BLOCK_MS);
}

/** Field of `atMs` inside its native block: the second offset, "0".."59". */
export function secondField(atMs: number): number {
  return Math.floor((atMs % NATIVE_BLOCK_MS) / NATIVE_RESOLUTION_MS);
}

/** TimeSeries key of a flag's success or failure series, as Tower and the breaker expect. */
export function timeSeriesSignalKey(flagId: number, status: SignalStatus): string {
  return `${flagId}:${status}`;
}

/** Native hash of a flag's success or failure counts in the block starting at `blockStartMs`. */
export function nativeSignalKey(flagId: number, status: SignalStatus, blockStartMs: number): string {
  return `${NATIVE_PREFIX}:{${flagId}}:${status}:${blockStartMs}`;
}

/** Native sorted set of the flag ids of an app that recorded signals (score: last event ms). */
export function nativeAppIndexKey(appId: number): string {
  return `${NATIVE_PREFIX}:app:{${appId}}:flags`;
}

/** TimeSeries keys of a custom metric: one series of counts, one of value sums. */
export function timeSeriesMetricKey(
  flagId: number,
  eventToken: string,
  variant: Variant,
  kind: 'count' | 'sum',
): string {
  return `${METRIC_PREFIX}:${flagId}:${eventToken}:${variant}:${kind}`;
}

/** Native hash of a custom metric in one block; fields `c:<second>` (count) and `s:<second>` (sum). */
export function nativeMetricKey(flagId: number, eventToken: string, variant: Variant, blockStartMs: number): string {
  return `${METRIC_PREFIX}:{${flagId}}:${eventToken}:${variant}:${blockStartMs}`;
}

export function metricCountField(second: number): string {
  return `c:${second}`;
}
export function metricSumField(second: number): string {
  return `s:${second}`;
}

/**
 * Words the TimeSeries module looks for anywhere in a TS.ADD argument list. A label value equal to
 * one of them could be read as an option, so such event names are escaped.
 */
const TS_KEYWORDS = new Set([
  'RETENTION',
  'ENCODING',
  'COMPRESSED',
  'UNCOMPRESSED',
  'CHUNK_SIZE',
  'DUPLICATE_POLICY',
  'ON_DUPLICATE',
  'IGNORE',
  'LABELS',
  'TIMESTAMP',
]);

/**
 * Turns a metric event name into the token used in keys and labels: letters, digits, `_`, `.` and `-`
 * stay as they are, everything else is percent-encoded (UTF-8), so distinct names stay distinct and
 * no token holds whitespace, `:`, `{`, `}`, `(`, `)` or `,`. Returns undefined for a name that is not
 * a string, is empty or whitespace-only, or is longer than MAX_EVENT_NAME_LENGTH.
 */
export function eventToken(eventName: unknown): string | undefined {
  if (typeof eventName !== 'string') return undefined;
  const name = eventName.trim();
  if (name === '' || name.length > MAX_EVENT_NAME_LENGTH) return undefined;
  let token = name.replace(/[^A-Za-z0-9_.-]/gu, percentEncode);
  if (TS_KEYWORDS.has(token.toUpperCase())) token = percentEncode(token.charAt(0)) + token.slice(1);
  return token;
}

function percentEncode(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
