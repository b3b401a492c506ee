/**
 * The dashboard's JSON API. Every edit goes through the admin library's guarded read-modify-write
 * with `expect` (the values the browser showed), so an edit never lands on a flag changed elsewhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JetStreamClient, JetStreamManager } from 'nats';
import {
  DuplicateTitleError,
  EditConflictError,
  FlagChangedError,
  InvalidFlagValueError,
  StreamNotFoundError,
  UnknownAppError,
  UnknownFlagError,
  type FlagAdmin,
} from '../admin';
import { ConnectionError, InvalidOptionError, InvalidRulesetError, TailslideError } from '../errors';
import { bucket, BUCKETS } from '../evaluation/bucket';
import type { Logger } from '../logger';
import { compileWireFlag, explain } from '../evaluation/explain';
import { appIdOption } from '../options';
import type { WireFlag } from '../ruleset/types';
import type { SignalReader } from '../signals/reader';
import { loginRoute, logoutRoute, sessionRoute, type AuthContext } from './auth';
import { readHistory } from './history';
import { HttpError, objectBody, readJsonBody, sendJson } from './http';
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
export const RANGES: Readonly<Record<string, { windowMs: number; bucketMs: number }>> = Object.freeze({
  '15m': { windowMs: 15 * 60_000, bucketMs: 10_000 },
  '1h': { windowMs: 60 * 60_000, bucketMs: 30_000 },
  '24h': { windowMs: 24 * 60 * 60_000, bucketMs: 10 * 60_000 },
});

type Handler = (ctx: ApiContext, req: IncomingMessage, res: ServerResponse, params: Params) => Promise<void>;

interface Params {
  readonly app?: number;
  readonly flag?: number;
  readonly query: URLSearchParams;
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
  /** Answered without the token: the auth routes themselves (they check what they need). */
  readonly open?: true;
}

const APP = '(?<app>[^/]+)';
const FLAG = '(?<flag>[^/]+)';

const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/api\/session$/, handler: sessionRoute, open: true },
  { method: 'POST', pattern: /^\/api\/login$/, handler: loginRoute, open: true },
  { method: 'POST', pattern: /^\/api\/logout$/, handler: logoutRoute, open: true },
  { method: 'GET', pattern: /^\/api\/apps$/, handler: listApps },
  { method: 'GET', pattern: new RegExp(`^/api/apps/${APP}$`), handler: getApp },
  { method: 'POST', pattern: new RegExp(`^/api/apps/${APP}/flags$`), handler: createFlag },
  { method: 'PATCH', pattern: new RegExp(`^/api/apps/${APP}/flags/${FLAG}$`), handler: updateFlag },
  { method: 'DELETE', pattern: new RegExp(`^/api/apps/${APP}/flags/${FLAG}$`), handler: deleteFlag },
  { method: 'GET', pattern: new RegExp(`^/api/apps/${APP}/flags/${FLAG}/signals$`), handler: signals },
  { method: 'GET', pattern: new RegExp(`^/api/apps/${APP}/flags/${FLAG}/evaluate$`), handler: evaluate },
  { method: 'GET', pattern: new RegExp(`^/api/apps/${APP}/history$`), handler: history },
  { method: 'GET', pattern: /^\/api\/events$/, handler: events },
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
  const groups = route.pattern.exec(url.pathname)?.groups ?? {};
  const params: Params = {
    query: url.searchParams,
    ...(groups.app !== undefined ? { app: pathId(groups.app, 'app') } : {}),
    ...(groups.flag !== undefined ? { flag: pathId(groups.flag, 'flag') } : {}),
  };
  try {
    await route.handler(ctx, req, res, params);
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

/** Library errors as HTTP answers that name the field; anything unexpected is logged and hidden. */
export function toHttpError(error: unknown, logger: Logger): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof FlagChangedError)
    return new HttpError(409, error.message, { code: 'CHANGED', fields: error.fields, current: error.current });
  if (error instanceof InvalidFlagValueError)
    return new HttpError(400, error.message, { code: 'INVALID', field: error.field });
  if (error instanceof DuplicateTitleError)
    return new HttpError(409, error.message, { code: 'DUPLICATE', field: 'title' });
  if (error instanceof InvalidRulesetError)
    return new HttpError(400, error.message, { code: 'INVALID', field: error.issues[0]?.field });
  if (error instanceof InvalidOptionError)
    return new HttpError(400, error.message, { code: 'INVALID', field: error.option });
  if (error instanceof UnknownAppError || error instanceof UnknownFlagError || error instanceof StreamNotFoundError)
    return new HttpError(404, error.message, { code: 'NOT_FOUND' });
  if (error instanceof EditConflictError) return new HttpError(409, error.message, { code: 'BUSY' });
  if (error instanceof ConnectionError || (error instanceof TailslideError && error.code === 'CONNECTION'))
    return new HttpError(503, error.message, { code: 'UNAVAILABLE' });
  if (error instanceof TailslideError && error.code === 'SIGNALS')
    return new HttpError(502, error.message, { code: 'SIGNALS' });
  logger.error(
    `dashboard: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return new HttpError(500, 'Internal error (see the dashboard log)');
}

async function listApps(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  sendJson(res, 200, { stream: ctx.admin.stream, apps: apps.filter((a) => a !== undefined) });
}

async function getApp(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const appId = need(p.app);
  const snapshot = await ctx.admin.readRuleset(appId);
  if (snapshot === undefined) throw new UnknownAppError(appId, ctx.admin.stream);
  sendJson(res, 200, {
    appId,
    sequence: snapshot.sequence,
    subject: snapshot.subject,
    time: snapshot.time.toISOString(),
    flags: snapshot.flags,
  });
}

async function createFlag(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const body = objectBody(await readJsonBody(req), 'the new flag as a JSON object ({ "title": … })');
  const outcome = await ctx.admin.createFlag(need(p.app), body as { title: string });
  sendJson(res, 201, { flag: outcome.flag, sequence: outcome.sequence });
}

async function updateFlag(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const body = objectBody(await readJsonBody(req), '{ "patch": { fields }, "expect": { fields as shown } }');
  const patch = objectBody(body.patch ?? null, 'an object with "patch": { the fields to change }');
  let expect: Record<string, unknown> | undefined;
  if (body.expect !== undefined) expect = objectBody(body.expect, 'an object whose "expect" is an object of fields');
  for (const key of Object.keys(body)) {
    if (key !== 'patch' && key !== 'expect')
      throw new HttpError(400, `Unknown member ${JSON.stringify(key)} (expected "patch" and "expect")`, { field: key });
  }
  const outcome = await ctx.admin.updateFlag(need(p.app), need(p.flag), patch, expect === undefined ? {} : { expect });
  sendJson(res, 200, { flag: outcome.flag, sequence: outcome.sequence, published: outcome.published });
}

async function deleteFlag(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const outcome = await ctx.admin.deleteFlag(need(p.app), need(p.flag));
  sendJson(res, 200, { deleted: outcome.flag?.id, sequence: outcome.sequence });
}

async function signals(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const rangeName = p.query.get('range') ?? '15m';
  const range = RANGES[rangeName];
  if (range === undefined)
    throw new HttpError(
      400,
      `range must be one of ${Object.keys(RANGES).join(', ')}, got ${JSON.stringify(rangeName.slice(0, 20))}`,
      { field: 'range' },
    );
  const toMs = Date.now();
  const window = { fromMs: toMs - range.windowMs, toMs, bucketMs: range.bucketMs };
  const buckets = await ctx.reader.flagSeries(need(p.flag), window);
  let success = 0;
  let failure = 0;
  for (const b of buckets) {
    success += b.success;
    failure += b.failure;
  }
  const total = success + failure;
  sendJson(res, 200, {
    range: rangeName,
    bucketMs: range.bucketMs,
    fromMs: window.fromMs,
    toMs,
    buckets: buckets.map((b) => [b.startMs, b.success, b.failure]),
    totals: { success, failure, total, errorRate: total === 0 ? 0 : failure / total },
  });
}

async function evaluate(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const appId = need(p.app);
  const flagId = need(p.flag);
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
  sendJson(res, 200, {
    flag: flag.title,
    user,
    value: decision.on,
    reason: decision.reason,
    /** The user's bucket as a percentage (0–99.999), murmur3 hashing. */
    bucket: hashingText === 'murmur3' && user !== '' ? (bucket(flag.title, user) * 100) / BUCKETS : null,
    effectiveRollout: decision.effectiveRollout,
    sequence: snapshot.sequence,
  });
}

async function history(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const flagText = p.query.get('flag');
  const flagId = flagText === null ? undefined : pathId(flagText, 'flag');
  const result = await readHistory(
    ctx.js,
    ctx.jsm,
    ctx.admin.stream,
    need(p.app),
    flagId === undefined ? {} : { flagId },
  );
  sendJson(res, 200, result);
}

async function events(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse, p: Params): Promise<void> {
  const app = p.query.get('app');
  ctx.live.subscribe(res, app === null ? undefined : appIdOption(app, 'app'));
  return Promise.resolve();
}
