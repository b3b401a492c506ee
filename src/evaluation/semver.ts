/**
 * SemVer 2.0 for the `semver_*` clause operators (docs/targeting.md): a missing minor or patch counts
 * as 0 (`2` = `2.0.0`, `2.3` = `2.3.0`), build metadata is ignored, pre-releases order below their
 * release. Hand-written rather than the `semver` package: that package rejects the short forms the
 * spec accepts, and this is 60 lines with its own table of tests.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers, numeric ones as numbers; empty for a release. */
  readonly pre: readonly (string | number)[];
}

const NUMERIC = '0|[1-9]\\d*';
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const SEMVER = new RegExp(
  `^(${NUMERIC})(?:\\.(${NUMERIC}))?(?:\\.(${NUMERIC}))?` +
    `(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$`,
);

/** Parses a version, or undefined when it is not SemVer 2.0 (with the short forms above). */
export function parseSemver(text: string): SemVer | undefined {
  if (text.length > 256) return undefined;
  const match = SEMVER.exec(text);
  if (match === null) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2] ?? 0);
  const patch = Number(match[3] ?? 0);
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch)) return undefined;
  const pre = match[4] === undefined ? [] : match[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  return { major, minor, patch, pre };
}

/** Negative, zero or positive as `a` orders before, with or after `b` (SemVer 2.0 precedence). */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0)
    return b.pre.length - a.pre.length === 0 ? 0 : a.pre.length === 0 ? 1 : -1;
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const x = a.pre[i] as string | number;
    const y = b.pre[i] as string | number;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}
