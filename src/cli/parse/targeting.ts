/**
 * Command-line values of the targeting commands: variation indexes, splits, targets, JSON values
 * and evaluation contexts. Pure; every error names the option and the value (exit code 1).
 */
import type { WireServe, WireSplitEntry } from '../../admin/fields';
import type { ContextAttributes, EvaluationContext } from '../../evaluation/context';
import { LIMITS, type JsonValue } from '../../ruleset/targeting';
import { badValue } from '../core/exit-codes';

/** A variation index: a non-negative integer (the flag's validation checks it is in range). */
export function parseVariationIndex(value: string, what: string): number {
  const text = value.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw badValue(what, value, 'a variation index (0, 1, 2, …)');
  }
  return Number(text);
}

/**
 * A weighted split: `0:50000,1:50000` (weights in thousandths of a percent, as on the wire) or
 * `0:50%,1:50%` (percentages, up to three decimals). Weights must add up to 100 %.
 */
export function parseSplit(value: string, what = '--fallthrough-split'): WireSplitEntry[] {
  const expected = 'index:weight pairs such as 0:50000,1:50000 or 0:50%,1:50% (weights adding up to 100 %)';
  const entries = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (entries.length === 0) throw badValue(what, value, expected);
  const split = entries.map((entry): WireSplitEntry => {
    const match = /^(\d+)\s*:\s*(\d+(?:\.\d+)?)\s*(%?)$/.exec(entry);
    if (!match) throw badValue(what, value, expected);
    const variation = parseVariationIndex(match[1] ?? '', what);
    const number = Number(match[2]);
    const weight = match[3] === '%' ? Math.round(number * 1000) : number;
    if (!Number.isSafeInteger(weight) || (match[3] === '%' && Math.abs(weight - number * 1000) > 1e-6)) {
      throw badValue(what, value, `${expected}; "${entry}" is not a whole number of thousandths of a percent`);
    }
    return { variation, weight };
  });
  const total = split.reduce((sum, entry) => sum + entry.weight, 0);
  if (total !== LIMITS.totalWeight) {
    throw badValue(what, value, `${expected}; these add up to ${total / 1000} % (${total})`);
  }
  return split;
}

/** The serve the fallthrough options describe, or undefined when none is given. */
export function parseFallthrough(options: {
  fallthrough?: string;
  fallthroughSplit?: string;
  bucketBy?: string;
}): WireServe | undefined {
  if (options.fallthrough !== undefined && options.fallthroughSplit !== undefined) {
    throw badValue('--fallthrough', options.fallthrough, 'either --fallthrough or --fallthrough-split, not both');
  }
  if (options.bucketBy !== undefined && options.fallthroughSplit === undefined) {
    throw badValue('--bucket-by', options.bucketBy, 'to come with --fallthrough-split');
  }
  if (options.fallthrough !== undefined) {
    return { variation: parseVariationIndex(options.fallthrough, '--fallthrough') };
  }
  if (options.fallthroughSplit !== undefined) {
    const split = parseSplit(options.fallthroughSplit);
    const by = options.bucketBy?.trim();
    if (by === '') throw badValue('--bucket-by', options.bucketBy, 'an attribute name');
    return by === undefined || by === 'key' ? { split } : { split, bucket_by: by };
  }
  return undefined;
}

/** `2:qa-1,qa-2`: a variation index and the context keys to pin to it. */
export function parseTargetAssignment(value: string, what = '--add'): { variation: number; keys: string[] } {
  const colon = value.indexOf(':');
  const expected = 'index:key,key… such as 2:qa-1,qa-2';
  if (colon <= 0) throw badValue(what, value, expected);
  const variation = parseVariationIndex(value.slice(0, colon), what);
  const keys = parseKeys(value.slice(colon + 1), what, expected);
  return { variation, keys };
}

/** Comma-separated context keys, trimmed, blanks dropped, at least one. */
export function parseKeys(value: string, what: string, expected = 'comma-separated context keys'): string[] {
  const keys: string[] = [];
  for (const part of value.split(',')) {
    const key = part.trim();
    if (key !== '' && !keys.includes(key)) keys.push(key);
  }
  if (keys.length === 0) throw badValue(what, value, expected);
  return keys;
}

/** A JSON value given on the command line. */
export function parseJsonOption(value: string, what: string, expected = 'JSON'): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw badValue(what, value, `${expected} (${(error as Error).message})`);
  }
}

/** `--set '["a","b","c"]'`: the variations, a JSON array. */
export function parseVariations(value: string, what = '--set'): JsonValue[] {
  const expected = `a JSON array of ${LIMITS.minVariations}–${LIMITS.maxVariations} values, such as '["a","b","c"]'`;
  const parsed = parseJsonOption(value, what, expected);
  if (!Array.isArray(parsed)) throw badValue(what, value, expected);
  return parsed as JsonValue[];
}

/**
 * `--context '{"key":"user-42","country":"NL"}'`: a JSON object whose `key` is a string and whose
 * other properties are strings, finite numbers, booleans, null or arrays of those; or a JSON
 * string (a bare key).
 */
export function parseContext(value: string, what = '--context'): EvaluationContext {
  const expected = 'a JSON object such as {"key":"user-42","country":"NL"}, or a JSON string';
  const parsed = parseJsonOption(value, what, expected);
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badValue(what, value, expected);
  const context = parsed as Record<string, unknown>;
  for (const [name, attribute] of Object.entries(context)) {
    if (name === 'key') {
      if (typeof attribute !== 'string') throw badValue(`${what} attribute "key"`, attribute, 'a string');
      continue;
    }
    const ok = isScalar(attribute) || (Array.isArray(attribute) && attribute.every(isScalar));
    if (!ok) {
      throw badValue(
        `${what} attribute "${name}"`,
        attribute,
        'a string, a finite number, true, false, null, or an array of those',
      );
    }
  }
  return context as ContextAttributes;
}

function isScalar(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}
