/**
 * The contract between the dashboard server and its page: every request and response body of the
 * JSON API, keyed by route, and every server-sent event. Type-only: the server (api.ts, auth.ts,
 * live.ts) types what it sends with it and the page (web/api.ts) imports the same types, so a field
 * renamed on one side fails `npm run typecheck` on the other. The imports vanish from the bundle.
 *
 * The types describe JSON as it travels: a member the server leaves `undefined` is absent, so it
 * is optional here. It imports only src/ruleset/types.ts: the page's tsconfig checks every file
 * an import reaches, and those are free of Node's modules.
 */
import type { WireFlag } from '../ruleset/types';

export type { WireFlag };

/** An app's whole current ruleset (`GET /api/apps/:app`). */
export interface AppState {
  readonly appId: number;
  readonly sequence: number;
  readonly subject: string;
  readonly time: string;
  readonly flags: readonly WireFlag[];
}

/** The `ruleset` event: the whole ruleset and what the message changed. */
export interface RulesetEvent extends AppState {
  /** Ids of the flags the message added, removed or changed (empty for the first snapshot). */
  readonly changedIds: readonly number[];
  readonly initial: boolean;
}

/** One app of the apps page. */
export interface AppSummary {
  readonly id: number;
  readonly flags: number;
  readonly active: number;
  readonly open: readonly string[];
  readonly recovering: readonly string[];
  readonly sequence: number;
  readonly time: string;
  /**
   * The dashboard's own view of the app (the live feed only): `live` while its watch follows the
   * stream, `waiting` with why while it cannot (no stream, a lost consumer, NATS down).
   */
  readonly following?: 'live' | 'waiting';
  readonly waiting?: string;
}

/** An app whose current ruleset does not parse (`GET /api/apps` only). */
export interface UnreadableApp {
  readonly id: number;
  readonly error: string;
}

export interface AppsResponse {
  readonly stream: string;
  readonly apps: readonly (AppSummary | UnreadableApp)[];
}

/** The fields of a new flag; the server validates every one (`createFlag`). */
export interface CreateFlagRequest {
  readonly title: string;
  readonly description?: string;
  readonly [field: string]: unknown;
}

export interface CreateFlagResponse {
  readonly flag: WireFlag;
  readonly sequence?: number;
}

/** A guarded edit: `expect` holds the values the page showed (409 `CHANGED` when they moved). */
export interface UpdateFlagRequest {
  readonly patch: Readonly<Record<string, unknown>>;
  readonly expect?: Readonly<Record<string, unknown>>;
}

export interface UpdateFlagResponse {
  readonly flag: WireFlag;
  readonly sequence?: number;
  /** False when the edit changed nothing (then nothing was published). */
  readonly published: boolean;
}

export interface DeleteFlagResponse {
  /** The id of the flag deleted. */
  readonly deleted?: number;
  readonly sequence?: number;
}

/** The chart ranges (`RANGES` in api.ts). */
export type RangeName = '15m' | '1h' | '24h';

export interface SignalTotals {
  readonly success: number;
  readonly failure: number;
  readonly total: number;
  /** failure / total, 0 when there is no signal. */
  readonly errorRate: number;
}

export interface SignalsResponse {
  readonly range: string;
  readonly bucketMs: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** `[startMs, success, failure]` per bucket, oldest first. */
  readonly buckets: readonly (readonly [number, number, number])[];
  readonly totals: SignalTotals;
}

export type Hashing = 'murmur3' | 'tailslide-md5';

export interface EvaluateResponse {
  readonly flag: string;
  readonly user: string;
  readonly value: boolean;
  /**
   * The evaluator's reason (`VariationReason` of src/evaluation/variation.ts), as a string: that type
   * would pull the evaluator, which uses Node's crypto, into the page's typecheck.
   */
  readonly reason: string;
  /** The user's bucket as a percentage (0–99.999), murmur3 hashing; null otherwise. */
  readonly bucket: number | null;
  readonly effectiveRollout: number;
  readonly sequence: number;
}

export interface HistoryChange {
  readonly flagId: number;
  readonly title: string;
  readonly kind: 'added' | 'removed' | 'changed';
  /** For 'changed': the fields that differ (not `updated_at`). */
  readonly fields: readonly { readonly field: string; readonly before: unknown; readonly after: unknown }[];
}

export interface HistoryEntry {
  readonly sequence: number;
  readonly subject: string;
  /** 'manual' (an admin's edit) or 'circuit' (the breaker's). */
  readonly kind: string;
  readonly time: string;
  /** True for the oldest message read: nothing before it to compare with. */
  readonly baseline: boolean;
  readonly error?: string;
  readonly changes: readonly HistoryChange[];
}

export interface HistoryResponse {
  readonly entries: readonly HistoryEntry[];
  /** What the stream keeps, in words, when it does not keep every message. */
  readonly retention?: string;
  /** The stream's max_msgs_per_subject (-1: unlimited). */
  readonly maxMessagesPerSubject: number;
  /** Whether older messages exist that were not scanned. */
  readonly truncated: boolean;
}

export interface SessionResponse {
  readonly tokenRequired: boolean;
  readonly authenticated: boolean;
}

export interface LoginRequest {
  readonly token: string;
}

export interface AuthResponse {
  readonly authenticated: boolean;
}

/** What `code` an error body carries (from `TailslideError.code` through api.ts's table). */
export type ErrorCode = 'INVALID' | 'NOT_FOUND' | 'CHANGED' | 'DUPLICATE' | 'BUSY' | 'UNAVAILABLE' | 'SIGNALS';

/** Every non-2xx answer. */
export interface ErrorBody {
  readonly error: string;
  readonly code?: ErrorCode;
  /** The field at fault, when one is. */
  readonly field?: string;
  /** `CHANGED`: the expected fields whose values moved, and the flag as it is now. */
  readonly fields?: readonly string[];
  readonly current?: WireFlag;
  /** 405: the methods the path takes. */
  readonly allowed?: readonly string[];
  /** 429: when to try again. */
  readonly retryAfterSeconds?: number;
}

/**
 * Every JSON route: `"<METHOD> <path>"`, `:app` and `:flag` standing for ids. `body` is what the
 * request sends (undefined: nothing), `query` its search parameters, `response` the 2xx body.
 */
export interface Routes {
  'GET /api/session': { body: undefined; query: undefined; response: SessionResponse };
  'POST /api/login': { body: LoginRequest; query: undefined; response: AuthResponse };
  'POST /api/logout': { body: undefined; query: undefined; response: AuthResponse };
  'GET /api/apps': { body: undefined; query: undefined; response: AppsResponse };
  'GET /api/apps/:app': { body: undefined; query: undefined; response: AppState };
  'POST /api/apps/:app/flags': { body: CreateFlagRequest; query: undefined; response: CreateFlagResponse };
  'PATCH /api/apps/:app/flags/:flag': { body: UpdateFlagRequest; query: undefined; response: UpdateFlagResponse };
  'DELETE /api/apps/:app/flags/:flag': { body: undefined; query: undefined; response: DeleteFlagResponse };
  'GET /api/apps/:app/flags/:flag/signals': {
    body: undefined;
    query: { readonly range?: RangeName };
    response: SignalsResponse;
  };
  'GET /api/apps/:app/flags/:flag/evaluate': {
    body: undefined;
    query: { readonly user?: string; readonly hashing?: Hashing };
    response: EvaluateResponse;
  };
  'GET /api/apps/:app/history': { body: undefined; query: { readonly flag?: number }; response: HistoryResponse };
}

export type RouteKey = keyof Routes;

/** The names of a route's path parameters: `'app' | 'flag'` for `PATCH /api/apps/:app/flags/:flag`. */
export type PathParamNames<K extends string> = K extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<Rest>
  : K extends `${string}:${infer Name}`
    ? Name
    : never;

/** The events of `GET /api/events` (`?app=<id>`: ruleset, waiting, invalid; without: apps). */
export interface LiveEvents {
  readonly ruleset: RulesetEvent;
  readonly apps: readonly AppSummary[];
  readonly waiting: { readonly appId: number; readonly reason: string };
  readonly invalid: { readonly appId: number; readonly sequence: number; readonly message: string };
}
