/**
 * `startDashboard()`: the web dashboard's HTTP server (Node's `http`): the page (from the package's
 * `dist/ui`), the JSON API (api.ts) and server-sent events (live.ts). It binds 127.0.0.1 by
 * default and refuses any other address without a token; see security.ts for the rules.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import type { NatsConnection } from 'nats';
import { FlagAdmin } from '../admin';
import { resolveAdminOptions, type AdminNatsOptions } from '../admin/options';
import { ConnectionError, InvalidOptionError } from '../errors';
import type { Logger } from '../logger';
import { openNats } from '../nats/open';
import { SignalReader, type SignalReaderOptions } from '../signals/reader';
import { optionalInteger, optionalPort, optionalString, resolveLogger } from '../validate';
import { handleApi, toHttpError, type ApiContext } from './api';
import { DashboardAuth } from './auth';
import { HttpError, sendError, setSecurityHeaders } from './http';
import { LiveHub } from './live';
import { MIN_TOKEN_LENGTH, hostAllowed, isLoopbackHost, isMutating, sameOrigin } from './security';
import { DEFAULT_SESSION_TTL_MS, MIN_SESSION_TTL_MS } from './sessions';

export const DEFAULT_UI_HOST = '127.0.0.1';
export const DEFAULT_UI_PORT = 4000;
export const UI_CONNECTION_NAME = 'tailslide-ui';

export interface DashboardOptions {
  /** NATS connection options (as FlagAdmin takes them) or a connection of yours (never closed). */
  readonly nats: AdminNatsOptions | NatsConnection;
  /** The ruleset stream (default `flags_ruleset`). */
  readonly stream?: string;
  /** Where the signals are (Redis), or a SignalReader of yours (never closed). */
  readonly signals?: SignalReaderOptions | SignalReader;
  /** Address to bind. Default 127.0.0.1; anything but a loopback address needs `token`. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 4000. */
  readonly port?: number;
  /** Access token (at least 16 characters): every API request must carry it. */
  readonly token?: string;
  /** How long a login lasts (its cookie's Max-Age), at least 1000 ms. Default 12 h. */
  readonly sessionTtlMs?: number;
  readonly logger?: Logger;
  /** Give up connecting to NATS after this long. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Folder of the built page (default: the package's dist/ui). */
  readonly assetsDir?: string;
}

export interface Dashboard {
  /** `http://host:port/` as a browser would open it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Ends the event streams, stops listening and closes what the dashboard opened. Idempotent. */
  close(): Promise<void>;
}

interface Settings {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly sessionTtlMs: number;
}

/** Validates host, port, token and session lifetime (throws `InvalidOptionError`), before anything is opened. */
export function resolveDashboardSettings(
  options: Pick<DashboardOptions, 'host' | 'port' | 'token' | 'sessionTtlMs'>,
): Settings {
  const host = optionalString('host', options.host) ?? DEFAULT_UI_HOST;
  if (host.trim() === '' || /[\s/]/.test(host)) throw new InvalidOptionError('host', host, 'a host name or IP address');
  const port = options.port === 0 ? 0 : (optionalPort('port', options.port) ?? DEFAULT_UI_PORT);
  const token = optionalString('token', options.token);
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
    throw new InvalidOptionError('token', '(hidden)', `a token of at least ${MIN_TOKEN_LENGTH} characters`);
  if (token === undefined && !isLoopbackHost(host)) {
    throw new InvalidOptionError(
      'host',
      host,
      'a loopback address (127.0.0.1, ::1, localhost) unless a token is set (--token or TAILSLIDE_UI_TOKEN): anyone who can reach the port could change flags',
    );
  }
  const sessionTtlMs =
    optionalInteger('sessionTtlMs', options.sessionTtlMs, MIN_SESSION_TTL_MS) ?? DEFAULT_SESSION_TTL_MS;
  return { host, port, token, sessionTtlMs };
}

/** The built page: file name → contents, read once. */
function loadAssets(dir: string | undefined): Map<string, Buffer> {
  const candidates = dir !== undefined ? [dir] : [join(__dirname, '../../ui'), join(__dirname, '../../dist/ui')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  const assets = new Map<string, Buffer>();
  if (found === undefined) return assets;
  for (const name of readdirSync(found)) {
    if (/^[\w.-]+$/.test(name)) assets.set(name, readFileSync(join(found, name)));
  }
  return assets;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const settings = resolveDashboardSettings(options);
  const logger = resolveLogger(options.logger);
  const adminOptions = resolveAdminOptions({
    nats: options.nats,
    ...(options.stream !== undefined ? { stream: options.stream } : {}),
    logger,
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  });
  const reader =
    options.signals instanceof SignalReader ? options.signals : new SignalReader({ ...options.signals, logger });
  const ownReader = !(options.signals instanceof SignalReader);
  const assets = loadAssets(options.assetsDir);
  if (!assets.has('index.html')) logger.warn('dashboard: the built page (dist/ui) is missing: run npm run build');

  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse())
      await close().catch((e: unknown) => logger.warn(`dashboard: closing: ${String(e)}`));
  };
  if (ownReader) closers.push(() => reader.close());
  try {
    const nats = adminOptions.nats;
    const opened = await openNats(nats, { name: UI_CONNECTION_NAME, connectTimeoutMs: adminOptions.connectTimeoutMs });
    closers.push(() => opened.close());
    const nc = opened.client;
    const admin = new FlagAdmin({ nats: nc, stream: nats.stream, logger, maxAttempts: adminOptions.maxAttempts });
    closers.push(() => admin.close());
    await admin.connect();
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const live = new LiveHub(admin, logger);
    closers.push(() => live.close());
    // Sessions live in this server only: a restart (the only way to change the token) ends them all.
    const auth = new DashboardAuth({ token: settings.token, sessionTtlMs: settings.sessionTtlMs, logger });
    closers.push(() => Promise.resolve(auth.close()));
    const ctx: ApiContext = { admin, reader, js, jsm, live, logger, auth };

    const handle = requestHandler(ctx, settings, assets);
    const server = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => sendError(res, toHttpError(error, logger)));
    });
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;

    await listen(server, settings.host, settings.port);
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${shownHost}:${address.port}/`;
    logger.info(`dashboard: listening on ${url}`);
    let closing: Promise<void> | undefined;
    return {
      url,
      host: address.address,
      port: address.port,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Answers one request: the Host and Origin checks, then the API or a file of the page. */
function requestHandler(
  ctx: ApiContext,
  settings: Settings,
  assets: ReadonlyMap<string, Buffer>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    setSecurityHeaders(res);
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const method = req.method ?? 'GET';
    if (settings.token === undefined && !hostAllowed(req.headers.host))
      throw new HttpError(403, 'This dashboard answers only to localhost names (the Host header is not one)');
    if (url.pathname.startsWith('/api/')) {
      if (isMutating(method)) {
        const bearer = /^Bearer\s/i.test(req.headers.authorization ?? '');
        const ok = sameOrigin({
          method,
          origin: req.headers.origin,
          secFetchSite: header(req, 'sec-fetch-site'),
          host: req.headers.host,
          bearer,
        });
        if (!ok) throw new HttpError(403, 'Cross-origin request refused (the Origin is not this dashboard)');
      }
      if (!(await handleApi(ctx, req, res, url))) throw new HttpError(404, `No API at ${url.pathname}`);
      return;
    }
    serveAsset(assets, method, url, res);
  };
}

function serveAsset(assets: ReadonlyMap<string, Buffer>, method: string, url: URL, res: ServerResponse): void {
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `Method ${method} is not allowed here`);
  const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
  const body = assets.get(name);
  if (body === undefined) throw new HttpError(404, `Not found: ${url.pathname}`);
  res.writeHead(200, {
    'Content-Type': TYPES[extname(name)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': name === 'index.html' ? 'no-store' : 'no-cache',
  });
  res.end(method === 'HEAD' ? undefined : body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why =
        error.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is in use (choose another with --port, or 0 for any free port)`
          : error.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine`
            : error.message;
      reject(new ConnectionError(`The dashboard cannot listen on ${host}:${port}: ${why}`, { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      server.on('error', () => undefined);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
