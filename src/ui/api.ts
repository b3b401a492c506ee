/**
 * The dashboard's JSON API. Every edit goes through the admin library's guarded read-modify-write
 * with `expect` (the values the browser showed), so an edit never lands on a flag changed elsewhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JetStreamClient, JetStreamManager } from 'nats';
import {
  DuplicateTitleError,
  FlagChangedError,
  InvalidFlagValueError,
  UnknownAppError,
  UnknownFlagError,
  type FlagAdmin,
} from '../admin';
import { InvalidOptionError, InvalidRulesetError, TailslideError, type TailslideErrorCode } from '../errors';
import { bucket, BUCKETS } from '../evaluation/bucket';
import type { Logger } from '../logger';
import { compileWireFlag, explain } from '../evaluation/explain';
import { appIdOption } from '../options';
import type { WireFlag } from '../ruleset/types';
import type { SignalReader } from '../signals/reader';
import { loginRoute, logoutRoute, sessionRoute, type AuthContext } from './auth';
import type { ErrorBody, ErrorCode, PathParamNames, RangeName, RouteKey, SignalTotals } from './contract';
import { readHistory } from './history';
import { HttpError, objectBody, readJsonBody, sendReply, type Reply } from './http';
import { summarize, type LiveHub } from './live';

export interface ApiContext extends AuthContext {
  readonly admin: FlagAdmin;
  readonly reader: SignalReader;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly live: LiveHub;
  readonly logger: Logger;
}

/** Chart ranges: the window and the bucket width (about 100 points each). */
export const RANGES: Readonly<Record<RangeName, { windowMs: number; bucketMs: number }>> = Object.freeze({
  '15m': { windowMs: 15 * 60_000, bucketMs: 10_000 },
  '1h': { windowMs: 60 * 60_000, bucketMs: 30_000 },
  '24h': { windowMs: 24 * 60 * 60_000, bucketMs: 10 * 60_000 },
});

/** A route's path ids (`app`, `flag`: exactly those its key names) and the query. */
type Params<K extends RouteKey> = { readonly [P in PathParamNames<K>]: number } & { readonly query: URLSearchParams };

/** A JSON route: answers with the body the contract gives its key. */
type JsonHandler<K extends RouteKey> = (ctx: ApiContext, req: IncomingMessage, params: Params<K>) => Promise<Reply<K>>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly run: (ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** Answered without the token: the auth routes themselves (they check what they need). */
  readonly open?: true;
}

/**
 * The route of a contract key: `PATCH /api/apps/:app/flags/:flag` matches that method and
 * `/api/apps/<id>/flags/<id>`, and hands the handler both ids checked as integers.
 */
function json<K extends RouteKey>(key: K, handler: JsonHandler<K>, open?: true): Route {
  const [method = '', path = ''] = key.split(' ');
  const pattern = new RegExp(`^${path.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
  return {
    method,
    pattern,
    ...(open ? { open } : {}),
    run: async (ctx, req, res, url) => {
      const ids: Record<string, number> = {};
      for (const [name, text] of Object.entries(pattern.exec(url.pathname)?.groups ?? {}))
        ids[name] = pathId(text, name);
      // The pattern was built from the key, so its groups are exactly the key's parameters.
      const params = { ...ids, query: url.searchParams } as Params<K>;
      sendReply(res, await handler(ctx, req, params));
    },
  };
}

const ROUTES: readonly Route[] = [
  json('GET /api/session', sessionRoute, true),
  json('POST /api/login', loginRoute, true),
  json('POST /api/logout', logoutRoute, true),
  json('GET /api/apps', listApps),
  json('GET /api/apps/:app', getApp),
  json('POST /api/apps/:app/flags', createFlag),
  json('PATCH /api/apps/:app/flags/:flag', updateFlag),
  json('DELETE /api/apps/:app/flags/:flag', deleteFlag),
  json('GET /api/apps/:app/flags/:flag/signals', signals),
  json('GET /api/apps/:app/flags/:flag/evaluate', evaluate),
  json('GET /api/apps/:app/history', history),
  { method: 'GET', pattern: /^\/api\/events$/, run: events },
];

/**
 * Runs the API route matching the request, after the token check unless the route is open; false
 * when no route matches the path.
 */
export async function handleApi(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const matching = ROUTES.filter((route) => route.pattern.test(url.pathname));
  if (matching.length === 0) return false;
  const route = matching.find((r) => r.method === req.method);
  if (route === undefined) {
    throw new HttpError(405, `Method ${req.method ?? '?'} is not allowed on ${url.pathname}`, {
      allowed: matching.map((r) => r.method),
    });
  }
  if (route.open !== true) ctx.auth.require(req);
  try {
    await route.run(ctx, req, res, url);
  } catch (error) {
    throw toHttpError(error, ctx.logger);
  }
  return true;
}

function pathId(text: string, what: string): number {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    decoded = text;
  }
  if (!/^\d{1,15}$/.test(decoded))
    throw new HttpError(
      400,
      `The ${what} id must be a non-negative integer, got ${JSON.stringify(decoded.slice(0, 40))}`,
      { field: what },
    );
  return Number(decoded);
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new HttpError(500, 'internal error');
  return value;
}

/**
 * The HTTP answer of each error code of the library (src/errors.ts): every code is listed, so a new
 * one has to be placed here. `undefined`: not the request's fault nor a known outage, so a 500
 * whose cause is logged, not shown.
 */
const STATUS_OF_CODE: Readonly<Record<TailslideErrorCode, { status: number; code: ErrorCode } | undefined>> = {
  INVALID_OPTION: { status: 400, code: 'INVALID' },
  INVALID_RULESET: { status: 400, code: 'INVALID' },
  NOT_FOUND: { status: 404, code: 'NOT_FOUND' },
  // Other writers kept changing the app (EditConflictError); the two conflicts below say more.
  CONFLICT: { status: 409, code: 'BUSY' },
  CONNECTION: { status: 503, code: 'UNAVAILABLE' },
  SIGNALS: { status: 502, code: 'SIGNALS' },
  AUTHORIZATION: undefined,
  TIMEOUT: undefined,
  CLOSED: undefined,
  CACHE_FILE: undefined,
};

/** What an error adds to its body beside the table's code: the field at fault, the current flag. */
function errorDetails(error: TailslideError): Omit<ErrorBody, 'error'> {
  if (error instanceof FlagChangedError) return { code: 'CHANGED', fields: error.fields, current: error.current };
  if (error instanceof DuplicateTitleError) return { code: 'DUPLICATE', field: 'title' };
  if (error instanceof InvalidFlagValueError) return { field: error.field };
  if (error instanceof InvalidRulesetError) return { field: error.issues[0]?.field };
  if (error instanceof InvalidOptionError) return { field: error.option };
  return {};
}

/** Library errors as HTTP answers that name the field; anything unexpected is logged and hidden. */
export function toHttpError(error: unknown, logger: Logger): HttpError {
  if (error instanceof HttpError) return error;
  const mapped = error instanceof TailslideError ? STATUS_OF_CODE[error.code] : undefined;
  if (error instanceof TailslideError && mapped !== undefined)
    return new HttpError(mapped.status, error.message, { code: mapped.code, ...errorDetails(error) });
  logger.error(
    `dashboard: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return new HttpError(500, 'Internal error (see the dashboard log)');
}

async function listApps(ctx: ApiContext): Promise<Reply<'GET /api/apps'>> {
  const ids = await ctx.admin.listApps();
  const apps = await Promise.all(
    ids.map(async (id) => {
      try {
        const snapshot = await ctx.admin.readRuleset(id);
        return snapshot === undefined
          ? undefined
          : summarize(id, snapshot.flags, snapshot.sequence, snapshot.time.toISOString());
      } catch (error) {
        if (error instanceof InvalidRulesetError) return { id, error: error.message };
        throw error;
      }
    }),
  );
  return { body: { stream: ctx.admin.stream, apps: apps.filter((a) => a !== undefined) } };
}

async function getApp(
  ctx: ApiContext,
  _req: IncomingMessage,
  p: Params<'GET /api/apps/:app'>,
): Promise<Reply<'GET /api/apps/:app'>> {
  const snapshot = await ctx.admin.readRuleset(p.app);
  if (snapshot === undefined) throw new UnknownAppError(p.app, ctx.admin.stream);
  return {
    body: {
      appId: p.app,
      sequence: snapshot.sequence,
      subject: snapshot.subject,
      time: snapshot.time.toISOString(),
      flags: snapshot.flags,
    },
  };
}

async function createFlag(
  ctx: ApiContext,
  req: IncomingMessage,
  p: Params<'POST /api/apps/:app/flags'>,
): Promise<Reply<'POST /api/apps/:app/flags'>> {
  const body = objectBody(await readJsonBody(req), 'the new flag as a JSON object ({ "title": … })');
  // The admin library validates every field of the new flag, the title's type included.
  const outcome = await ctx.admin.createFlag(p.app, body as { title: string });
  return { status: 201, body: { flag: need(outcome.flag), sequence: outcome.sequence } };
}

async function updateFlag(
  ctx: ApiContext,
  req: IncomingMessage,
  p: Params<'PATCH /api/apps/:app/flags/:flag'>,
): Promise<Reply<'PATCH /api/apps/:app/flags/:flag'>> {
  const body = objectBody(await readJsonBody(req), '{ "patch": { fields }, "expect": { fields as shown } }');
  const patch = objectBody(body.patch ?? null, 'an object with "patch": { the fields to change }');
  let expect: Record<string, unknown> | undefined;
  if (body.expect !== undefined) expect = objectBody(body.expect, 'an object whose "expect" is an object of fields');
  for (const key of Object.keys(body)) {
    if (key !== 'patch' && key !== 'expect')
      throw new HttpError(400, `Unknown member ${JSON.stringify(key)} (expected "patch" and "expect")`, { field: key });
  }
  const outcome = await ctx.admin.updateFlag(p.app, p.flag, patch, expect === undefined ? {} : { expect });
  return { body: { flag: need(outcome.flag), sequence: outcome.sequence, published: outcome.published } };
}

async function deleteFlag(
  ctx: ApiContext,
  _req: IncomingMessage,
  p: Params<'DELETE /api/apps/:app/flags/:flag'>,
): Promise<Reply<'DELETE /api/apps/:app/flags/:flag'>> {
  const outcome = await ctx.admin.deleteFlag(p.app, p.flag);
  return { body: { deleted: outcome.flag?.id, sequence: outcome.sequence } };
}

function isRange(name: string): name is RangeName {
  return Object.hasOwn(RANGES, name);
}

async function signals(
  ctx: ApiContext,
  _req: IncomingMessage,
  p: Params<'GET /api/apps/:app/flags/:flag/signals'>,
): Promise<Reply<'GET /api/apps/:app/flags/:flag/signals'>> {
  const rangeName = p.query.get('range') ?? '15m';
  if (!isRange(rangeName))
    throw new HttpError(
      400,
      `range must be one of ${Object.keys(RANGES).join(', ')}, got ${JSON.stringify(rangeName.slice(0, 20))}`,
      { field: 'range' },
    );
  const range = RANGES[rangeName];
  const toMs = Date.now();
  const window = { fromMs: toMs - range.windowMs, toMs, bucketMs: range.bucketMs };
  const buckets = await ctx.reader.flagSeries(p.flag, window);
  let success = 0;
  let failure = 0;
  for (const b of buckets) {
    success += b.success;
    failure += b.failure;
  }
  const total = success + failure;
  const totals: SignalTotals = { success, failure, total, errorRate: total === 0 ? 0 : failure / total };
  return {
    body: {
      range: rangeName,
      bucketMs: range.bucketMs,
      fromMs: window.fromMs,
      toMs,
      buckets: buckets.map((b) => [b.startMs, b.success, b.failure] as const),
      totals,
    },
  };
}

async function evaluate(
  ctx: ApiContext,
  _req: IncomingMessage,
  p: Params<'GET /api/apps/:app/flags/:flag/evaluate'>,
): Promise<Reply<'GET /api/apps/:app/flags/:flag/evaluate'>> {
  const { app: appId, flag: flagId } = p;
  const user = p.query.get('user') ?? '';
  if (user.length > 1_000) throw new HttpError(400, 'user must be at most 1000 characters', { field: 'user' });
  const hashingText = p.query.get('hashing') ?? 'murmur3';
  if (hashingText !== 'murmur3' && hashingText !== 'tailslide-md5')
    throw new HttpError(400, 'hashing must be murmur3 or tailslide-md5', { field: 'hashing' });
  const snapshot = await ctx.admin.readRuleset(appId);
  if (snapshot === undefined) throw new UnknownAppError(appId, ctx.admin.stream);
  const flag = snapshot.flags.find((f: WireFlag) => f.id === flagId);
  if (flag === undefined)
    throw new UnknownFlagError(
      appId,
      flagId,
      snapshot.flags.map((f) => f.title),
    );
  const compiled = compileWireFlag(flag, appId);
  if (compiled === undefined) throw new UnknownFlagError(appId, flagId, [flag.title]);
  const decision = explain(compiled, user, hashingText);
  return {
    body: {
      flag: flag.title,
      user,
      value: decision.on,
      reason: decision.reason,
      bucket: hashingText === 'murmur3' && user !== '' ? (bucket(flag.title, user) * 100) / BUCKETS : null,
      effectiveRollout: decision.effectiveRollout,
      sequence: snapshot.sequence,
    },
  };
}

async function history(
  ctx: ApiContext,
  _req: IncomingMessage,
  p: Params<'GET /api/apps/:app/history'>,
): Promise<Reply<'GET /api/apps/:app/history'>> {
  const flagText = p.query.get('flag');
  const flagId = flagText === null ? undefined : pathId(flagText, 'flag');
  const body = await readHistory(ctx.js, ctx.jsm, ctx.admin.stream, p.app, flagId === undefined ? {} : { flagId });
  return { body };
}

/** `GET /api/events`: a server-sent event stream (live.ts), not a JSON answer. */
function events(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const app = url.searchParams.get('app');
  ctx.live.subscribe(res, app === null ? undefined : appIdOption(app, 'app'));
  return Promise.resolve();
}
