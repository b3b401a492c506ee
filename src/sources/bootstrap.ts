/** Reads the `bootstrap` option (a wire-format array, or the path of a JSON file holding one). */
import { InvalidOptionError, type TailslideError } from '../errors';
import { parseRulesetPayload } from '../ruleset/parse';
import type { Flag } from '../ruleset/types';
import { describeBytes, readBoundedFile } from './read-bounded';

export type LoadedRuleset =
  | { readonly ok: true; readonly flags: readonly Flag[]; readonly payload: string | readonly unknown[] }
  | { readonly ok: false; readonly error: TailslideError };

/**
 * Loads and validates a bootstrap ruleset; a file larger than `maxBytes` (`cacheFileMaxBytes`: a
 * cache file serves as a bootstrap file, and the same cap keeps start-up short) is refused before
 * it is read. Never rejects: a problem is returned, naming the option.
 */
export async function loadBootstrap(
  bootstrap: readonly unknown[] | string,
  appId: number,
  maxBytes: number,
): Promise<LoadedRuleset> {
  let payload: string | readonly unknown[] = bootstrap;
  if (typeof bootstrap === 'string') {
    const read = await readBoundedFile(bootstrap, maxBytes);
    if (!read.ok) {
      const expected =
        read.kind === 'too-big'
          ? `a JSON file within the size cap cacheFileMaxBytes = ${describeBytes(maxBytes)}; it is ${describeBytes(read.bytes)}`
          : `a readable JSON file (${fsErrorMessage(read.error)})`;
      return { ok: false, error: new InvalidOptionError('bootstrap', bootstrap, expected) };
    }
    payload = read.text;
  }
  const origin = typeof bootstrap === 'string' ? `bootstrap file ${bootstrap}` : 'bootstrap';
  const result = parseRulesetPayload(payload, origin, { appId });
  return result.ok ? { ok: true, flags: result.flags, payload } : result;
}

/**
 * The message of a file-system error. Not `instanceof Error`: errors made by Node's internals fail
 * that test in another realm (a jest or vm context).
 */
export function fsErrorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') {
    return err.message;
  }
  return String(err);
}
