/**
 * The dashboard's JSON API as seen from the page. The bodies are the server's own types
 * (src/ui/contract.ts, type-only: nothing of it reaches the bundle), and `api` is keyed by route,
 * so the answer's type follows from the method and path the call names.
 */
import type { ErrorBody, PathParamNames, RouteKey, Routes } from '../src/ui/contract';

export type {
  AppState,
  AppSummary,
  ErrorBody,
  HistoryEntry,
  RulesetEvent,
  LiveEvents,
  SignalsResponse,
  UnreadableApp,
  WireFlag,
} from '../src/ui/contract';

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

/** What a call of route `K` passes: its path ids, its query and its body, each only when it has one. */
export type CallOptions<K extends RouteKey> = ([PathParamNames<K>] extends [never]
  ? { readonly path?: undefined }
  : { readonly path: { readonly [P in PathParamNames<K>]: number } }) &
  (Routes[K]['query'] extends undefined ? { readonly query?: undefined } : { readonly query: Routes[K]['query'] }) &
  (Routes[K]['body'] extends undefined ? { readonly body?: undefined } : { readonly body: Routes[K]['body'] });

/** `/api/apps/3/flags/7?range=1h` for `GET /api/apps/:app/flags/:flag/signals`, `{ app: 3, flag: 7 }`. */
export function pathOf(route: RouteKey, path: Readonly<Record<string, number>> = {}, query: object = {}): string {
  const template = route.slice(route.indexOf(' ') + 1);
  const filled = template.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(String(path[name])));
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined) search.set(name, String(value as string | number));
  const text = search.toString();
  return text === '' ? filled : `${filled}?${text}`;
}

/**
 * Calls a route of the contract. The answer is checked to be a JSON object (every route answers
 * one) and then taken as the contract's type: the server types the same body with the same module,
 * and page and server are built and shipped together (dist/ui beside dist/cjs), so a deeper check
 * here would test what the compiler already proved.
 */
export async function api<K extends RouteKey>(
  route: K,
  ...args: object extends CallOptions<K> ? [options?: CallOptions<K>] : [options: CallOptions<K>]
): Promise<Routes[K]['response']> {
  const options = args[0];
  const method = route.slice(0, route.indexOf(' '));
  const path = pathOf(route, options?.path, options?.query ?? {});
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (options?.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: 'The dashboard server does not answer' });
  }
  const parsed = parseObject(await res.text());
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') onUnauthorized();
    const error = parsed?.error;
    throw new ApiError(res.status, {
      ...(parsed as Partial<ErrorBody> | undefined),
      error:
        typeof error === 'string'
          ? error
          : parsed === undefined
            ? `Unexpected answer (${res.status})`
            : `HTTP ${res.status}`,
    });
  }
  if (parsed === undefined) throw new ApiError(res.status, { error: `Unexpected answer (${res.status})` });
  // Taken as the route's body (see above): TypeScript accepts an object for the union of bodies.
  return parsed;
}

/** The body as a JSON object (an empty body as `{}`), or undefined when it is none. */
function parseObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
