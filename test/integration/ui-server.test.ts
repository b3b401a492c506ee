/**
 * The dashboard's HTTP server against real NATS and Redis: binding rules, the token (401s, the login
 * session: revoked by logout, expired after its TTL; failed attempts limited per address), the CSRF and Host checks, the security headers, body limits, validation that names the
 * field, guarded edits, the history and the live event stream.
 */
import { request } from 'node:http';
import { connect, type NatsConnection } from 'nats';
import { FlagAdmin } from '../../src/admin';
import { InvalidOptionError } from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { FlagManager } from '../../src/manager';
import { resolveDashboardSettings, startDashboard, type Dashboard } from '../../src/ui';
import { waitFor } from '../support/flags';
import { httpRequest, type RawResponse } from '../support/http-client';
import { NatsServer, RedisServer, timeSeriesModulesFor } from '../support/servers';

const TOKEN = 'a-long-test-token-0123456789';
let nats: NatsServer;
let redis: RedisServer;
let nc: NatsConnection;
let admin: FlagAdmin;
let open: Dashboard;
let locked: Dashboard;

beforeAll(async () => {
  [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  nc = await connect({ servers: nats.url });
  admin = new FlagAdmin({ nats: nc, logger: silentLogger });
  await admin.connect();
  await admin.ensureStream();
  await admin.createFlag(1, { title: 'checkout-v2', rollout_percentage: 10 });
  await admin.createFlag(1, { title: 'search' });
  const common = { nats: { servers: nats.url }, signals: { redisUrl: redis.url }, port: 0, logger: silentLogger };
  [open, locked] = await Promise.all([startDashboard(common), startDashboard({ ...common, token: TOKEN })]);
});

afterAll(async () => {
  await Promise.all([open?.close(), locked?.close()]);
  await admin?.close();
  await nc?.close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

const origin = (d: Dashboard): string => d.url.replace(/\/$/, '');
const auth = (extra: Record<string, string> = {}): Record<string, string> => ({
  Authorization: `Bearer ${TOKEN}`,
  ...extra,
});
const json = (d: Dashboard, extra: Record<string, string> = {}): Record<string, string> => ({
  'Content-Type': 'application/json',
  Origin: origin(d),
  ...extra,
});

describe('binding', () => {
  it('binds 127.0.0.1 by default and refuses another address without a token', async () => {
    expect(resolveDashboardSettings({}).host).toBe('127.0.0.1');
    expect(() => resolveDashboardSettings({ host: '0.0.0.0' })).toThrow(InvalidOptionError);
    expect(() => resolveDashboardSettings({ host: '192.168.1.5' })).toThrow(/loopback address.*unless a token is set/);
    expect(() => resolveDashboardSettings({ host: '0.0.0.0', token: 'short' })).toThrow(/at least 16 characters/);
    expect(resolveDashboardSettings({ host: '0.0.0.0', token: TOKEN }).host).toBe('0.0.0.0');
    expect(resolveDashboardSettings({ host: '::1' }).host).toBe('::1');
    expect(resolveDashboardSettings({ host: 'localhost' }).host).toBe('localhost');
    // Refused before anything is opened (the NATS address is not even tried).
    await expect(startDashboard({ nats: { servers: 'nats://127.0.0.1:1' }, host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /host/,
    );
  });

  it('listens on the address it prints', () => {
    expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(open.host).toBe('127.0.0.1');
  });
});

describe('token', () => {
  it('answers 401 without the token, and leaks nothing', async () => {
    for (const path of ['/api/apps', '/api/apps/1', '/api/apps/1/history', '/api/events?app=1']) {
      const res = await httpRequest(`${locked.url}${path.slice(1)}`);
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ error: 'Unauthorized: log in with the dashboard token' });
      expect(res.text).not.toContain('checkout');
    }
    const wrong = await httpRequest(`${locked.url}api/apps`, {
      headers: { Authorization: 'Bearer nope-nope-nope-nope' },
    });
    expect(wrong.status).toBe(401);
    const patch = await httpRequest(`${locked.url}api/apps/1/flags/1`, {
      method: 'PATCH',
      headers: json(locked),
      body: JSON.stringify({ patch: { is_active: true } }),
    });
    expect(patch.status).toBe(401);
    expect((await admin.getFlag(1, 'checkout-v2')).is_active).toBe(false);
  });

  it('accepts the token as a bearer header', async () => {
    const res = await httpRequest(`${locked.url}api/apps`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.json<{ apps: { id: number; flags: number }[] }>().apps).toEqual([
      expect.objectContaining({ id: 1, flags: 2 }),
    ]);
  });

  it('logs in with a form: an HttpOnly SameSite=Strict cookie that is not the token', async () => {
    const bad = await httpRequest(`${locked.url}api/login`, {
      method: 'POST',
      headers: json(locked),
      body: JSON.stringify({ token: 'wrong-wrong-wrong-wrong' }),
    });
    expect(bad.status).toBe(401);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const good = await httpRequest(`${locked.url}api/login`, {
      method: 'POST',
      headers: json(locked),
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(good.status).toBe(200);
    const cookie = good.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/;/);
    expect(cookie).toMatch(/Max-Age=43200$/);
    expect(cookie).toMatch(/^tailslide_ui=[\w-]{43};/);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0] ?? '';
    const res = await httpRequest(`${locked.url}api/apps/1`, { headers: { Cookie: session } });
    expect(res.status).toBe(200);
    const forged = await httpRequest(`${locked.url}api/apps/1`, { headers: { Cookie: `tailslide_ui=${TOKEN}` } });
    expect(forged.status).toBe(401);
    const status = await httpRequest(`${locked.url}api/session`);
    expect(status.json()).toEqual({ tokenRequired: true, authenticated: false });
  });

  it('serves the page without the token (it holds no data)', async () => {
    const page = await httpRequest(locked.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('sessions', () => {
  async function login(d: Dashboard, localAddress?: string): Promise<RawResponse> {
    return httpRequest(`${d.url}api/login`, {
      method: 'POST',
      headers: json(d),
      body: JSON.stringify({ token: TOKEN }),
      ...(localAddress !== undefined ? { localAddress } : {}),
    });
  }
  const cookieIn = (res: RawResponse): string => res.headers['set-cookie']?.[0]?.split(';')[0] ?? '';

  it('gives each login its own session, and logout ends it on the server: a copied cookie fails', async () => {
    const first = cookieIn(await login(locked));
    const second = cookieIn(await login(locked));
    expect(first).not.toBe(second);
    const copy = first;
    expect((await httpRequest(`${locked.url}api/apps`, { headers: { Cookie: copy } })).status).toBe(200);
    const out = await httpRequest(`${locked.url}api/logout`, {
      method: 'POST',
      headers: json(locked, { Cookie: first }),
    });
    expect(out.status).toBe(200);
    expect(out.headers['set-cookie']?.[0]).toMatch(/^tailslide_ui=;.*Max-Age=0/);
    const after = await httpRequest(`${locked.url}api/apps`, { headers: { Cookie: copy } });
    expect(after.status).toBe(401);
    // The browser is told to drop the dead cookie.
    expect(after.headers['set-cookie']?.[0]).toMatch(/Max-Age=0/);
    const status = await httpRequest(`${locked.url}api/session`, { headers: { Cookie: copy } });
    expect(status.json()).toEqual({ tokenRequired: true, authenticated: false });
    // Another login's session is untouched.
    expect((await httpRequest(`${locked.url}api/apps`, { headers: { Cookie: second } })).status).toBe(200);
  });

  it('validates sessionTtlMs', () => {
    expect(resolveDashboardSettings({}).sessionTtlMs).toBe(12 * 60 * 60_000);
    expect(resolveDashboardSettings({ sessionTtlMs: 1000 }).sessionTtlMs).toBe(1000);
    for (const bad of [999, 1500.5, '60000', -1]) {
      expect(() => resolveDashboardSettings({ sessionTtlMs: bad as number })).toThrow(InvalidOptionError);
      expect(() => resolveDashboardSettings({ sessionTtlMs: bad as number })).toThrow(
        /"sessionTtlMs".*\(expected an integer ≥ 1000\)/,
      );
    }
  });

  it('ends a session after sessionTtlMs', async () => {
    const short = await startDashboard({
      nats: nc,
      signals: { redisUrl: redis.url },
      port: 0,
      token: TOKEN,
      sessionTtlMs: 1000,
      logger: silentLogger,
    });
    try {
      const res = await login(short);
      expect(res.headers['set-cookie']?.[0]).toMatch(/Max-Age=1$/);
      const cookie = cookieIn(res);
      const started = Date.now();
      expect((await httpRequest(`${short.url}api/apps`, { headers: { Cookie: cookie } })).status).toBe(200);
      await waitFor(
        async () => (await httpRequest(`${short.url}api/apps`, { headers: { Cookie: cookie } })).status === 401,
        'the session to expire',
        5_000,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      // The token itself still works.
      expect((await httpRequest(`${short.url}api/apps`, { headers: auth() })).status).toBe(200);
    } finally {
      await short.close();
    }
  });

  it('answers 429 with Retry-After after 10 failures from one address; other addresses keep working', async () => {
    // A dashboard of its own, so the addresses blocked here block nothing in the other tests.
    const guarded = await startDashboard({
      nats: nc,
      signals: { redisUrl: redis.url },
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      logger: silentLogger,
    });
    try {
      const burst = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          httpRequest(`${guarded.url}api/apps`, {
            headers: { Authorization: `Bearer wrong-token-${i}-0123456789` },
            localAddress: '127.0.0.3',
          }),
        ),
      );
      const statuses = burst.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.filter((s) => s === 429)).toHaveLength(290);
      for (const res of burst.filter((r) => r.status === 429)) {
        const retryAfter = Number(res.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(res.json()).toMatchObject({ error: expect.stringMatching(/Too many failed logins/) as unknown });
        expect(res.text).not.toContain('checkout');
      }
      // Blocked means blocked: the right token from that address is not even looked at.
      const blocked = await httpRequest(`${guarded.url}api/apps`, { headers: auth(), localAddress: '127.0.0.3' });
      expect(blocked.status).toBe(429);
      expect((await login(guarded, '127.0.0.3')).status).toBe(429);
      // X-Forwarded-For is the client's to choose, so it changes nothing.
      const forwarded = await httpRequest(`${guarded.url}api/apps`, {
        headers: auth({ 'X-Forwarded-For': '10.9.8.7' }),
        localAddress: '127.0.0.3',
      });
      expect(forwarded.status).toBe(429);
      // The right token from another address works, as bearer and as a login.
      const other = await httpRequest(`${guarded.url}api/apps`, { headers: auth(), localAddress: '127.0.0.2' });
      expect(other.status).toBe(200);
      const session = await login(guarded, '127.0.0.2');
      expect(session.status).toBe(200);
      expect(
        (
          await httpRequest(`${guarded.url}api/apps`, {
            headers: { Cookie: cookieIn(session) },
            localAddress: '127.0.0.2',
          })
        ).status,
      ).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('counts wrong logins and wrong cookies too, and not requests that carry nothing', async () => {
    const guarded = await startDashboard({
      nats: nc,
      signals: { redisUrl: redis.url },
      port: 0,
      token: TOKEN,
      logger: silentLogger,
    });
    try {
      for (let i = 0; i < 20; i++) {
        const res = await httpRequest(`${guarded.url}api/apps`, { localAddress: '127.0.0.4' });
        expect(res.status).toBe(401);
      }
      for (let i = 0; i < 5; i++) {
        const res = await httpRequest(`${guarded.url}api/login`, {
          method: 'POST',
          headers: json(guarded),
          body: JSON.stringify({ token: `wrong-${i}-0123456789abc` }),
          localAddress: '127.0.0.4',
        });
        expect(res.status).toBe(401);
      }
      for (let i = 0; i < 5; i++) {
        const res = await httpRequest(`${guarded.url}api/session`, {
          headers: { Cookie: `tailslide_ui=guess-${i}` },
          localAddress: '127.0.0.4',
        });
        expect(res.json()).toEqual({ tokenRequired: true, authenticated: false });
      }
      const refused = await login(guarded, '127.0.0.4');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['set-cookie']).toBeUndefined();
    } finally {
      await guarded.close();
    }
  });
});

describe('CSRF and Host checks', () => {
  async function cookieOf(d: Dashboard): Promise<string> {
    const res = await httpRequest(`${d.url}api/login`, {
      method: 'POST',
      headers: json(d),
      body: JSON.stringify({ token: TOKEN }),
    });
    return res.headers['set-cookie']?.[0]?.split(';')[0] ?? '';
  }

  it('refuses a mutating request from another origin, even with a valid session cookie', async () => {
    const cookie = await cookieOf(locked);
    const body = JSON.stringify({ patch: { is_active: true }, expect: { is_active: false } });
    const attempts: Record<string, string>[] = [
      { 'Content-Type': 'application/json', Cookie: cookie, Origin: 'http://evil.example' },
      { 'Content-Type': 'application/json', Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' },
      { 'Content-Type': 'application/json', Cookie: cookie },
      { 'Content-Type': 'application/json', Cookie: cookie, Origin: 'null' },
    ];
    for (const headers of attempts) {
      const res = await httpRequest(`${locked.url}api/apps/1/flags/1`, { method: 'PATCH', headers, body });
      expect(res.status).toBe(403);
      expect(res.json().error).toMatch(/Cross-origin request refused/);
    }
    expect((await admin.getFlag(1, 'checkout-v2')).is_active).toBe(false);
    const same = await httpRequest(`${locked.url}api/apps/1/flags/1`, {
      method: 'PATCH',
      headers: { ...json(locked), Cookie: cookie },
      body,
    });
    expect(same.status).toBe(200);
    expect((await admin.getFlag(1, 'checkout-v2')).is_active).toBe(true);
    await admin.setActive(1, 'checkout-v2', false);
  });

  it('without a token, answers only to localhost names (DNS rebinding)', async () => {
    const res = await httpRequest(`${open.url}api/apps`, { headers: { Host: `evil.example:${open.port}` } });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('checkout');
    const ok = await httpRequest(`${open.url}api/apps`, { headers: { Host: `localhost:${open.port}` } });
    expect(ok.status).toBe(200);
  });
});

describe('headers, bodies and errors', () => {
  it('sends the security headers on pages, API answers and errors', async () => {
    for (const path of ['', 'app.js', 'api/apps', 'api/nothing']) {
      const res = await httpRequest(`${open.url}${path}`);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    const unauthorized = await httpRequest(`${locked.url}api/apps`);
    expect(unauthorized.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves every asset from the package (no CDN)', async () => {
    const page = await httpRequest(open.url);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1] ?? '')
      .filter((ref) => !ref.startsWith('#'));
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref.startsWith('/')).toBe(true);
      expect((await httpRequest(`${open.url}${ref.slice(1)}`)).status).toBe(200);
    }
    const js = await httpRequest(`${open.url}app.js`);
    expect(js.text).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs|jsdelivr)/);
  });

  it('refuses an oversized body with 413 and a JSON message', async () => {
    const big = JSON.stringify({ title: 'x'.repeat(100 * 1024) });
    const res = await httpRequest(`${open.url}api/apps/1/flags`, { method: 'POST', headers: json(open), body: big });
    expect(res.status).toBe(413);
    expect(res.json().error).toMatch(/larger than 65536 bytes/);
  });

  it('refuses a body that is not JSON, and names the field of a bad value', async () => {
    const form = await httpRequest(`${open.url}api/apps/1/flags`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin(open) },
      body: 'title=x',
    });
    expect(form.status).toBe(415);
    const bad = await httpRequest(`${open.url}api/apps/1/flags/1`, {
      method: 'PATCH',
      headers: json(open),
      body: JSON.stringify({ patch: { rollout_percentage: 250 } }),
    });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'rollout_percentage', code: 'INVALID' });
    expect(bad.json().error).toMatch(/rollout_percentage/);
    const unknown = await httpRequest(`${open.url}api/apps/1/flags/1`, {
      method: 'PATCH',
      headers: json(open),
      body: JSON.stringify({ patch: { colour: 'red' } }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({ field: 'colour' });
    const dup = await httpRequest(`${open.url}api/apps/1/flags`, {
      method: 'POST',
      headers: json(open),
      body: JSON.stringify({ title: 'search' }),
    });
    expect(dup.status).toBe(409);
    expect(dup.json()).toMatchObject({ field: 'title' });
    const path = await httpRequest(`${open.url}api/apps/abc/flags/1`, { method: 'DELETE', headers: json(open) });
    expect(path.status).toBe(400);
    const malformed = await httpRequest(`${open.url}api/apps/%E0%A4%A/flags/1`, {
      method: 'DELETE',
      headers: json(open),
    });
    expect(malformed.status).toBe(400);
    const broken = await httpRequest(`${open.url}api/apps/1/flags`, {
      method: 'POST',
      headers: json(open),
      body: '{"title":',
    });
    expect(broken.status).toBe(400);
    for (const res of [form, bad, unknown, dup, path, broken]) expect(res.text).not.toMatch(/\n\s+at /);
  });
});

describe('edits, history and live events', () => {
  it('refuses an edit made on a stale view, with the current flag, and publishes nothing', async () => {
    await admin.setRollout(1, 'search', 30);
    const before = await admin.readRuleset(1);
    const res = await httpRequest(`${open.url}api/apps/1/flags/2`, {
      method: 'PATCH',
      headers: json(open),
      body: JSON.stringify({ patch: { rollout_percentage: 50 }, expect: { rollout_percentage: 0 } }),
    });
    expect(res.status).toBe(409);
    const body = res.json<{ code: string; error: string; current: { rollout_percentage: number } }>();
    expect(body.code).toBe('CHANGED');
    expect(body.error).toMatch(/changed elsewhere/);
    expect(body.current.rollout_percentage).toBe(30);
    expect((await admin.readRuleset(1))?.sequence).toBe(before?.sequence);
  });

  it('reads the change history with before and after, and says when the stream keeps only the last message', async () => {
    const res = await httpRequest(`${open.url}api/apps/1/history?flag=2`);
    const history = res.json<{
      entries: { changes: { fields: { field: string; before: unknown; after: unknown }[] }[] }[];
      retention?: string;
    }>();
    expect(history.entries[0]?.changes[0]?.fields).toEqual([{ field: 'rollout_percentage', before: 0, after: 30 }]);
    expect(history.retention).toBeUndefined();
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(admin.stream);
    await jsm.streams.update(admin.stream, { ...info.config, max_msgs_per_subject: 1 });
    try {
      const kept = await httpRequest(`${open.url}api/apps/1/history?flag=2`);
      expect(kept.json().retention).toMatch(/only the last message per subject/);
    } finally {
      await jsm.streams.update(admin.stream, { ...info.config, max_msgs_per_subject: -1 });
    }
  });

  it('pushes a change made elsewhere to the event stream within a second', async () => {
    const events: { sequence: number; flags: { title: string; is_active: boolean }[] }[] = [];
    let buffer = '';
    const req = request(`${open.url}api/events?app=1`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (/^event: ruleset$/m.test(block) && data !== undefined)
            events.push(JSON.parse(data) as (typeof events)[number]);
        }
      });
    });
    req.end();
    try {
      await waitFor(() => events.length > 0, 'the first snapshot');
      const started = Date.now();
      await admin.setActive(1, 'search', true);
      await waitFor(
        () => events.some((e) => e.flags.some((f) => f.title === 'search' && f.is_active)),
        'the update',
        5_000,
      );
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      req.destroy();
    }
  });
});

describe('signals chart data on both backends', () => {
  const backends: ['native' | 'timeseries', string[]][] = [['native', []]];
  const module = timeSeriesModulesFor('ui-server.test.ts').at(-1);
  if (module !== undefined) backends.push(['timeseries', ['--loadmodule', module.path]]);

  it.each(backends)('%s: the counts a manager emitted, per bucket and in total', async (backend, args) => {
    const server = await RedisServer.start(args);
    const manager = new FlagManager({
      appId: 1,
      natsServer: nats.url,
      redisUrl: server.url,
      signalBackend: backend,
      logger: silentLogger,
    });
    const dashboard = await startDashboard({
      nats: nc,
      signals: { redisUrl: server.url, backend },
      port: 0,
      logger: silentLogger,
    });
    try {
      await manager.initialize();
      const toggler = manager.newToggler({ flagName: 'search' });
      for (let i = 0; i < 5; i++) toggler.emitSuccess();
      for (let i = 0; i < 2; i++) toggler.emitFailure();
      await manager.flushSignals(5_000);
      expect(manager.signalStats()).toMatchObject({ backend, written: 7 });
      for (const range of ['15m', '1h', '24h']) {
        const res = await httpRequest(`${dashboard.url}api/apps/1/flags/2/signals?range=${range}`);
        const body = res.json<{ buckets: [number, number, number][]; totals: Record<string, number> }>();
        expect(body.totals).toEqual({ success: 5, failure: 2, total: 7, errorRate: 2 / 7 });
        expect(body.buckets.reduce((sum, b) => sum + b[1] + b[2], 0)).toBe(7);
      }
      const bad = await httpRequest(`${dashboard.url}api/apps/1/flags/2/signals?range=2d`);
      expect(bad.status).toBe(400);
      expect(bad.json()).toMatchObject({ field: 'range' });
    } finally {
      await manager.disconnect();
      await dashboard.close();
      await server.dispose();
    }
  });
});

describe('live events before the stream exists', () => {
  it('says why it waits, then follows the app once its first ruleset is published', async () => {
    const bare = await NatsServer.start();
    const dashboard = await startDashboard({ nats: { servers: bare.url }, port: 0, logger: silentLogger });
    const other = new FlagAdmin({ nats: { servers: bare.url }, logger: silentLogger });
    const events: { event: string; data: Record<string, unknown> }[] = [];
    let buffer = '';
    const req = request(`${dashboard.url}api/events?app=5`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined)
            events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      });
    });
    req.end();
    try {
      await waitFor(() => events.some((e) => e.event === 'waiting'), 'a waiting event');
      expect(events.find((e) => e.event === 'waiting')?.data.reason).toMatch(
        /stream "flags_ruleset" does not exist yet/,
      );
      await other.connect();
      await other.ensureStream();
      await other.createFlag(5, { title: 'first' });
      await waitFor(() => events.some((e) => e.event === 'ruleset'), 'the first ruleset', 10_000);
      const ruleset = events.find((e) => e.event === 'ruleset')?.data as { flags: { title: string }[] };
      expect(ruleset.flags.map((f) => f.title)).toEqual(['first']);
    } finally {
      req.destroy();
      await other.close();
      await dashboard.close();
      await bare.dispose();
    }
  });
});
