/**
 * The dashboard's security rules, pure: loopback binds, reading the token (bearer header, compared in
 * constant time) and the session cookie, the same-origin check on mutating requests, the Host check
 * against DNS rebinding, and the response headers every answer carries. Sessions themselves are in
 * sessions.ts, the failure limit in limiter.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Name of the session cookie the login form sets. */
export const SESSION_COOKIE = 'tailslide_ui';
/** Shortest token accepted (a guessable token on a reachable port is no protection). */
export const MIN_TOKEN_LENGTH = 16;

/** Headers of every response, pages and API alike. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
});

/** Whether `host` names this machine only: `localhost`, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare);
  return false;
}

/** Constant-time comparison of two strings of any length (both are hashed first). */
export function safeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * The Set-Cookie of a new session: the id only (never the token), out of reach of scripts
 * (HttpOnly), never sent by another site's request (SameSite=Strict), and dropped by the browser
 * when the server forgets the session (Max-Age = the session's lifetime).
 */
export function sessionCookie(sessionId: string, ttlMs: number): string {
  const maxAge = Math.max(1, Math.floor(ttlMs / 1000));
  return `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
}

export const CLEAR_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerOf(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
}

/**
 * Whether a Host header names the dashboard as bound on a loopback address: without a token, a
 * page on another site that re-points its DNS name to 127.0.0.1 (DNS rebinding) is refused here.
 */
export function hostAllowed(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || hostHeader === '') return false;
  const host = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader)?.[1];
  return host !== undefined && isLoopbackHost(host);
}

export interface OriginCheck {
  readonly method: string;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly host: string | undefined;
  /** The request carried the token in an Authorization header (not a browser's ambient cookie). */
  readonly bearer: boolean;
}

/**
 * The CSRF check of a mutating request: its Origin must be this server's (`http://<Host>`), or,
 * without an Origin, the browser must say `Sec-Fetch-Site: same-origin`. A request with neither is
 * accepted only with an explicit bearer token (scripts, curl), which a browser never adds by itself.
 */
export function sameOrigin(check: OriginCheck): boolean {
  if (check.origin !== undefined && check.origin !== 'null') {
    return (
      check.host !== undefined && (check.origin === `http://${check.host}` || check.origin === `https://${check.host}`)
    );
  }
  if (check.secFetchSite !== undefined) return check.secFetchSite === 'same-origin';
  return check.bearer;
}

export function isMutating(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}
