/**
 * The dashboard's authentication: the token as a bearer header or a login session (sessions.ts),
 * failures limited per client address (limiter.ts), and the three auth routes (session, login,
 * logout) that api.ts lists in its route table.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger';
import { HttpError, objectBody, readJsonBody, type Reply } from './http';
import { FailureLimiter } from './limiter';
import { CLEAR_SESSION_COOKIE, SESSION_COOKIE, bearerOf, readCookie, safeEqual, sessionCookie } from './security';
import { SessionStore } from './sessions';

export interface DashboardAuthOptions {
  readonly token: string | undefined;
  readonly sessionTtlMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

type Credentials = 'ok' | 'none' | 'wrong';

export class DashboardAuth {
  private readonly token: string | undefined;
  private readonly sessions: SessionStore;
  private readonly limiter: FailureLimiter;
  private readonly logger: Logger;

  constructor(options: DashboardAuthOptions) {
    this.token = options.token;
    this.logger = options.logger;
    const clock = options.now !== undefined ? { now: options.now } : {};
    this.sessions = new SessionStore({ ttlMs: options.sessionTtlMs, ...clock });
    this.limiter = new FailureLimiter(clock);
  }

  get required(): boolean {
    return this.token !== undefined;
  }

  /** Throws the 429 or 401 answer unless the request carries the token or a live session. */
  require(req: IncomingMessage): void {
    const token = this.token;
    if (token === undefined) return;
    const address = this.refuseBlocked(req);
    const credentials = this.credentials(req, token);
    if (credentials === 'ok') return;
    req.resume();
    if (credentials === 'wrong') this.fail(address);
    throw new HttpError(
      401,
      'Unauthorized: log in with the dashboard token',
      {},
      { 'WWW-Authenticate': 'Bearer', ...this.clearStaleCookie(req) },
    );
  }

  /** `GET /api/session`: whether a token is needed and whether this request has it. */
  session(req: IncomingMessage): Reply<'GET /api/session'> {
    const token = this.token;
    if (token === undefined) return { body: { tokenRequired: false, authenticated: true } };
    const address = this.refuseBlocked(req);
    const credentials = this.credentials(req, token);
    // A wrong credential counts here too, or this answer would be a free oracle for guesses.
    if (credentials === 'wrong') this.fail(address);
    return {
      body: { tokenRequired: true, authenticated: credentials === 'ok' },
      headers: credentials === 'wrong' ? this.clearStaleCookie(req) : {},
    };
  }

  /** `POST /api/login` with `{ token }`: a new session and its cookie. */
  async login(req: IncomingMessage): Promise<Reply<'POST /api/login'>> {
    const token = this.token;
    const address = token === undefined ? '' : this.refuseBlocked(req);
    const body = objectBody(await readJsonBody(req), '{ "token": "…" }');
    if (token === undefined) return { body: { authenticated: true } };
    if (typeof body.token !== 'string' || !safeEqual(body.token, token)) {
      this.fail(address);
      throw new HttpError(401, 'Wrong token', { field: 'token' });
    }
    // A second login from the same browser replaces its session rather than leaving one behind.
    const previous = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (previous !== undefined && previous !== '') this.sessions.revoke(previous);
    const id = this.sessions.create(token);
    return { body: { authenticated: true }, headers: { 'Set-Cookie': sessionCookie(id, this.sessions.ttlMs) } };
  }

  /** `POST /api/logout`: the session ends on the server, so a copy of the cookie is worthless too. */
  logout(req: IncomingMessage): Reply<'POST /api/logout'> {
    req.resume();
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (id !== undefined && id !== '') this.sessions.revoke(id);
    return { body: { authenticated: false }, headers: { 'Set-Cookie': CLEAR_SESSION_COOKIE } };
  }

  /** Ends every session (the dashboard stops). */
  close(): void {
    this.sessions.clear();
  }

  private credentials(req: IncomingMessage, token: string): Credentials {
    const bearer = bearerOf(req.headers.authorization);
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    const session = cookie === '' ? undefined : cookie;
    if (bearer === undefined && session === undefined) return 'none';
    if (bearer !== undefined && safeEqual(bearer, token)) return 'ok';
    if (session !== undefined && this.sessions.valid(session, token)) return 'ok';
    return 'wrong';
  }

  /**
   * The client's address, or the 429 answer when it failed too often. Keyed by the socket's address,
   * never X-Forwarded-For: a header is the client's to choose, so limiting by it limits nothing.
   */
  private refuseBlocked(req: IncomingMessage): string {
    const address = req.socket.remoteAddress ?? 'unknown';
    const waitMs = this.limiter.blockedForMs(address);
    if (waitMs > 0) {
      req.resume();
      const seconds = Math.ceil(waitMs / 1000);
      throw new HttpError(
        429,
        `Too many failed logins from this address: try again in ${seconds} s`,
        { retryAfterSeconds: seconds },
        { 'Retry-After': String(seconds) },
      );
    }
    return address;
  }

  private fail(address: string): void {
    if (this.limiter.fail(address)) {
      this.logger.warn(
        `dashboard: ${this.limiter.maxFailures} failed logins from ${address} within ${this.limiter.windowMs / 1000} s: refusing it for up to ${this.limiter.windowMs / 1000} s`,
      );
    }
  }

  /** Tells the browser to drop a cookie that names no live session, so it stops sending it. */
  private clearStaleCookie(req: IncomingMessage): Record<string, string> {
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    return cookie !== undefined && cookie !== '' ? { 'Set-Cookie': CLEAR_SESSION_COOKIE } : {};
  }
}

/** What the auth routes need of the API context. */
export interface AuthContext {
  readonly auth: DashboardAuth;
}

export const sessionRoute = (ctx: AuthContext, req: IncomingMessage): Promise<Reply<'GET /api/session'>> =>
  Promise.resolve(ctx.auth.session(req));
export const loginRoute = (ctx: AuthContext, req: IncomingMessage): Promise<Reply<'POST /api/login'>> =>
  ctx.auth.login(req);
export const logoutRoute = (ctx: AuthContext, req: IncomingMessage): Promise<Reply<'POST /api/logout'>> =>
  Promise.resolve(ctx.auth.logout(req));
