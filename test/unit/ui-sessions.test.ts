/** The dashboard's session store and failed-login limiter, on a hand-driven clock. */
import { FailureLimiter } from '../../src/ui/limiter';
import { DEFAULT_SESSION_TTL_MS, SessionStore } from '../../src/ui/sessions';

const TOKEN = 'a-long-test-token-0123456789';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('SessionStore', () => {
  it('makes 32-byte random base64url ids, a different one per login', () => {
    const store = new SessionStore({ ttlMs: DEFAULT_SESSION_TTL_MS });
    const a = store.create(TOKEN);
    const b = store.create(TOKEN);
    expect(a).toMatch(/^[\w-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(a).not.toContain(TOKEN);
    expect(store.valid(a, TOKEN) && store.valid(b, TOKEN)).toBe(true);
  });

  it('expires a session after its TTL, not before', () => {
    const c = clock();
    const store = new SessionStore({ ttlMs: 1_000, now: c.now });
    const id = store.create(TOKEN);
    c.advance(999);
    expect(store.valid(id, TOKEN)).toBe(true);
    c.advance(1);
    expect(store.valid(id, TOKEN)).toBe(false);
    expect(store.size).toBe(0);
  });

  it('revokes one session on logout and leaves the others', () => {
    const store = new SessionStore({ ttlMs: 60_000 });
    const a = store.create(TOKEN);
    const b = store.create(TOKEN);
    expect(store.revoke(a)).toBe(true);
    expect(store.valid(a, TOKEN)).toBe(false);
    expect(store.valid(b, TOKEN)).toBe(true);
    expect(store.revoke(a)).toBe(false);
    store.clear();
    expect(store.valid(b, TOKEN)).toBe(false);
  });

  it('binds a session to the token it was opened with', () => {
    const store = new SessionStore({ ttlMs: 60_000 });
    const id = store.create(TOKEN);
    expect(store.valid(id, `${TOKEN}-rotated`)).toBe(false);
    // Dropped, not just refused: going back to the old token does not revive it.
    expect(store.valid(id, TOKEN)).toBe(false);
  });

  it('refuses unknown ids', () => {
    const store = new SessionStore({ ttlMs: 60_000 });
    store.create(TOKEN);
    expect(store.valid('', TOKEN)).toBe(false);
    expect(store.valid(TOKEN, TOKEN)).toBe(false);
  });

  it('prunes expired sessions on login and keeps at most maxSessions, dropping the oldest', () => {
    const c = clock();
    const store = new SessionStore({ ttlMs: 10_000, maxSessions: 3, now: c.now });
    const ids = [store.create(TOKEN), store.create(TOKEN), store.create(TOKEN)];
    const fourth = store.create(TOKEN);
    expect(store.size).toBe(3);
    expect(store.valid(ids[0] ?? '', TOKEN)).toBe(false);
    expect(store.valid(ids[1] ?? '', TOKEN)).toBe(true);
    c.advance(10_000);
    store.create(TOKEN);
    expect(store.size).toBe(1);
    expect(store.valid(fourth, TOKEN)).toBe(false);
  });
});

describe('FailureLimiter', () => {
  it('blocks an address after 10 failures within 60 s, until the oldest leaves the window', () => {
    const c = clock();
    const limiter = new FailureLimiter({ now: c.now });
    for (let i = 0; i < 9; i++) {
      expect(limiter.fail('10.0.0.1')).toBe(false);
      c.advance(1_000);
    }
    expect(limiter.blockedForMs('10.0.0.1')).toBe(0);
    expect(limiter.fail('10.0.0.1')).toBe(true);
    // The first failure was 9 s ago: it leaves the 60 s window in 51 s.
    expect(limiter.blockedForMs('10.0.0.1')).toBe(51_000);
    expect(limiter.blockedForMs('10.0.0.2')).toBe(0);
    c.advance(50_999);
    expect(limiter.blockedForMs('10.0.0.1')).toBe(1);
    c.advance(1);
    expect(limiter.blockedForMs('10.0.0.1')).toBe(0);
    // Nine failures are still in the window: one more blocks again, until the next one leaves.
    expect(limiter.fail('10.0.0.1')).toBe(true);
    expect(limiter.blockedForMs('10.0.0.1')).toBe(1_000);
  });

  it('forgets failures older than the window', () => {
    const c = clock();
    const limiter = new FailureLimiter({ now: c.now, maxFailures: 3, windowMs: 1_000 });
    limiter.fail('a');
    limiter.fail('a');
    c.advance(1_000);
    expect(limiter.fail('a')).toBe(false);
    expect(limiter.blockedForMs('a')).toBe(0);
    c.advance(1_000);
    expect(limiter.blockedForMs('a')).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('tracks at most maxAddresses, forgetting the least recently failing', () => {
    const c = clock();
    const limiter = new FailureLimiter({ now: c.now, maxFailures: 2, maxAddresses: 3 });
    limiter.fail('a');
    limiter.fail('a');
    for (const address of ['b', 'c', 'd']) limiter.fail(address);
    expect(limiter.size).toBe(3);
    expect(limiter.blockedForMs('a')).toBe(0);
    limiter.fail('b');
    expect(limiter.blockedForMs('b')).toBeGreaterThan(0);
  });

  it('lets idle addresses go as new ones fail', () => {
    const c = clock();
    const limiter = new FailureLimiter({ now: c.now, windowMs: 1_000 });
    for (let i = 0; i < 100; i++) limiter.fail(`10.0.0.${i}`);
    c.advance(1_000);
    limiter.fail('10.0.1.1');
    expect(limiter.size).toBe(1);
  });
});
