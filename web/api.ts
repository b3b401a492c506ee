/** The dashboard's JSON API as seen from the page. */

export interface WireFlag {
  id: number;
  app_id: number;
  title: string;
  description: string;
  is_active: boolean;
  rollout_percentage: number;
  white_listed_users: string;
  error_threshold_percentage: number;
  circuit_status: 'open' | 'close' | 'recovery';
  is_recoverable: boolean;
  circuit_recovery_percentage: number;
  circuit_recovery_delay: number;
  circuit_initial_recovery_percentage: number;
  circuit_recovery_rate: number;
  circuit_recovery_increment_percentage: number;
  circuit_recovery_profile: 'linear' | 'exponential';
  webhooks: string;
  created_at: string;
  updated_at: string;
  [extra: string]: unknown;
}

export interface AppState {
  appId: number;
  sequence: number;
  subject: string;
  time: string;
  flags: WireFlag[];
}

export interface RulesetEvent extends AppState {
  changedIds: number[];
  initial: boolean;
}

export interface AppSummary {
  id: number;
  flags: number;
  active: number;
  open: string[];
  recovering: string[];
  sequence: number;
  time: string;
  error?: string;
  /** The live feed's view: following the app now, or waiting (with why). */
  following?: 'live' | 'waiting';
  waiting?: string;
}

export interface ErrorBody {
  error: string;
  code?: string;
  field?: string;
  fields?: string[];
  current?: WireFlag;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error);
  }
}

/** Called when the server answers 401 (the login form takes over). */
export let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: 'The dashboard server does not answer' });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = { error: `Unexpected answer (${res.status})` };
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') onUnauthorized();
    const err = parsed as Partial<ErrorBody>;
    throw new ApiError(res.status, { ...err, error: typeof err.error === 'string' ? err.error : `HTTP ${res.status}` });
  }
  return parsed as T;
}
