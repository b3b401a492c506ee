/**
 * Credentials out of everything printed: NATS and Redis URLs carry them in their userinfo
 * (`nats://user:pass@host`, `redis://:pass@host`, a token alone: `nats://token@host`). Pure.
 */

/**
 * `scheme://userinfo@` at the start of a URL (the scheme optional). The userinfo runs to the last
 * `@` before the path, so a password with a raw `@` in it is hidden whole.
 */
const LEADING_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)?([^/\s]+)@/i;
/** `scheme://userinfo@` anywhere in a text. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s"'<>,;]+)@/gi;
/** `user:password@` (no scheme) at the start of a text. */
const LEADING_USER_PASSWORD = /^([^/\s:@]*):([^/\s]*)@/;

function hide(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***';
}

/**
 * A URL with its password hidden (`nats://user:***@host`), or its whole userinfo when it holds
 * no `:` (a token: `nats://***@host`). Also a URL without a scheme (`user:pass@host:4222`).
 * Anything else comes back unchanged.
 */
export function redactUrl(url: string): string {
  return url.replace(LEADING_USERINFO, (_, scheme: string | undefined, userinfo: string) => {
    return `${scheme ?? ''}${hide(userinfo)}@`;
  });
}

/**
 * A text (a message, an option's value) with every `scheme://userinfo@` in it redacted as by
 * redactUrl, and a leading `user:password@` without a scheme.
 */
export function redactText(text: string): string {
  return text
    .replace(URL_USERINFO, (_, scheme: string, userinfo: string) => `${scheme}${hide(userinfo)}@`)
    .replace(LEADING_USER_PASSWORD, '$1:***@');
}

/** Whether a URL carries credentials (a user, a password or a token) in its userinfo. */
export function hasUrlCredentials(url: string): boolean {
  return LEADING_USERINFO.test(url);
}

/**
 * An option's value for an error message, credentials hidden even when the URL is malformed (a
 * scheme typo such as `redis//:pw@host` or `nats:/token@host` defeats the URL patterns above). A
 * value without whitespace that holds an `@` is taken as `…userinfo@host`: the userinfo (after the
 * last `/` before the last `@`) is hidden, its user name kept; each item of a comma-separated list
 * alike. Anything else goes through `redactText`.
 */
export function redactOptionValue(value: string): string {
  // A list (`--redis-url a,b`): each item on its own.
  if (value.includes(',')) return value.split(',').map(redactOptionValue).join(',');
  const at = value.lastIndexOf('@');
  if (at < 0 || /\s/.test(value)) return redactText(value);
  const start = value.lastIndexOf('/', at) + 1;
  return `${value.slice(0, start)}${hide(value.slice(start, at))}${value.slice(at)}`;
}
