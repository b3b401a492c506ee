import { bearerOf, hostAllowed, isLoopbackHost, readCookie, sameOrigin, sessionCookie } from '../../src/ui/security';

describe('dashboard security rules', () => {
  it('tells loopback addresses from others', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', 'app.localhost', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', 'localhost.example.com'])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it('accepts Host headers of loopback names only', () => {
    expect(hostAllowed('127.0.0.1:4000')).toBe(true);
    expect(hostAllowed('localhost:4000')).toBe(true);
    expect(hostAllowed('[::1]:4000')).toBe(true);
    expect(hostAllowed('evil.example:4000')).toBe(false);
    expect(hostAllowed(undefined)).toBe(false);
  });

  it('checks the origin of mutating requests', () => {
    const base = { method: 'POST', host: '127.0.0.1:4000', secFetchSite: undefined, bearer: false };
    expect(sameOrigin({ ...base, origin: 'http://127.0.0.1:4000' })).toBe(true);
    expect(sameOrigin({ ...base, origin: 'http://localhost:4000' })).toBe(false);
    expect(sameOrigin({ ...base, origin: 'http://127.0.0.1:4001' })).toBe(false);
    expect(sameOrigin({ ...base, origin: undefined, secFetchSite: 'same-origin' })).toBe(true);
    expect(sameOrigin({ ...base, origin: undefined, secFetchSite: 'same-site' })).toBe(false);
    expect(sameOrigin({ ...base, origin: undefined })).toBe(false);
    expect(sameOrigin({ ...base, origin: undefined, bearer: true })).toBe(true);
    expect(sameOrigin({ ...base, origin: 'http://evil.example', bearer: true })).toBe(false);
  });

  it('reads a bearer token and a cookie', () => {
    expect(bearerOf('Bearer abc ')).toBe('abc');
    expect(bearerOf('bearer abc')).toBe('abc');
    expect(bearerOf('Basic abc')).toBeUndefined();
    expect(bearerOf(undefined)).toBeUndefined();
    expect(readCookie('a=1; b=2', 'b')).toBe('2');
    expect(readCookie('a=1; tailslide_ui=', 'tailslide_ui')).toBe('');
    expect(readCookie(undefined, 'b')).toBeUndefined();
  });

  it('sets the session id in an HttpOnly SameSite=Strict cookie that lives as long as the session', () => {
    expect(sessionCookie('id-1', 12 * 3_600_000)).toBe(
      'tailslide_ui=id-1; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200',
    );
    expect(sessionCookie('id-1', 1_500)).toMatch(/Max-Age=1$/);
  });
});
