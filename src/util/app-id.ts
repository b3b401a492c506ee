/**
 * An app id: a non-negative safe integer, given as a number or a numeric string (`"7"`, `" 7 "`).
 * `undefined` for anything else; callers turn that into an error naming their option or flag.
 */
export function parseAppId(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
