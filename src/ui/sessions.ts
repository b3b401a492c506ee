/**
 * The dashboard's login sessions, kept in memory: a random id per login, an absolute expiry, revoked
 * by logout. Pure apart from the clock and the id source, both injected, so tests need no waiting.
 */
import { createHash, randomBytes } from 'node:crypto';

/** How long a login lasts unless `sessionTtlMs` says otherwise: a working day. */
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60_000;
/** Shortest session accepted (`sessionTtlMs`): below a second a session expires before it is used. */
export const MIN_SESSION_TTL_MS = 1_000;
/** Most live sessions kept: past it the oldest is dropped, so a login loop cannot grow the heap. */
export const MAX_SESSIONS = 10_000;

export interface SessionStoreOptions {
  readonly ttlMs: number;
  readonly maxSessions?: number;
  readonly now?: () => number;
  /** A new session id (default: 32 random bytes, base64url). */
  readonly newId?: () => string;
}

interface Session {
  readonly expiresAt: number;
  /** Digest of the token the session was opened with: a session never outlives its token. */
  readonly tokenDigest: string;
}

const digest = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64url');

export class SessionStore {
  readonly ttlMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  /**
   * Keyed by the digest of the id, not the id: a Map lookup is not constant-time, and a heap dump then
   * holds no usable cookie. Insertion order is creation order and every session lives `ttlMs`, so
   * the expired ones are always a prefix of the map.
   */
  private readonly sessions = new Map<string, Session>();

  constructor(options: SessionStoreOptions) {
    this.ttlMs = options.ttlMs;
    this.maxSessions = Math.max(1, options.maxSessions ?? MAX_SESSIONS);
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? (() => randomBytes(32).toString('base64url'));
  }

  /** Number of sessions held (expired ones not yet pruned included). */
  get size(): number {
    return this.sessions.size;
  }

  /** Opens a session for `token` and returns its id (the cookie's value). */
  create(token: string): string {
    const now = this.now();
    this.prune(now);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.sessions.delete(oldest.value);
    }
    const id = this.newId();
    this.sessions.set(digest(id), { expiresAt: now + this.ttlMs, tokenDigest: digest(token) });
    return id;
  }

  /** Whether `id` is a live session opened with `token`; an expired or foreign one is dropped. */
  valid(id: string, token: string): boolean {
    const key = digest(id);
    const session = this.sessions.get(key);
    if (session === undefined) return false;
    if (session.expiresAt <= this.now() || session.tokenDigest !== digest(token)) {
      this.sessions.delete(key);
      return false;
    }
    return true;
  }

  /** Ends one session (logout); false when it was not there. */
  revoke(id: string): boolean {
    return this.sessions.delete(digest(id));
  }

  /** Ends every session (the token changed, or the server stops). */
  clear(): void {
    this.sessions.clear();
  }

  private prune(now: number): void {
    for (const [key, session] of this.sessions) {
      if (session.expiresAt > now) return;
      this.sessions.delete(key);
    }
  }
}
