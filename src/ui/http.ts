/** Small HTTP helpers of the dashboard server: JSON answers, errors as JSON, bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorBody, RouteKey, Routes } from './contract';
import { SECURITY_HEADERS } from './security';

/** Largest request body accepted (a flag with a long whitelist fits many times over). */
export const MAX_BODY_BYTES = 64 * 1024;

/** An error that becomes an HTTP answer: status, message, optional details (never a stack) and headers. */
export class HttpError extends Error {
  readonly status: number;
  /** The members of the error body beside `error` (the contract's ErrorBody). */
  readonly details: Readonly<Omit<ErrorBody, 'error'>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    message: string,
    details: Omit<ErrorBody, 'error'> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.details = details;
    this.headers = headers;
  }
}

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** What a JSON route answers: its body (typed by the contract), status (200 unless set) and extra headers. */
export interface Reply<K extends RouteKey> {
  readonly status?: number;
  readonly body: Routes[K]['response'];
  readonly headers?: Record<string, string>;
}

export function sendReply<K extends RouteKey>(res: ServerResponse, reply: Reply<K>): void {
  sendJson(res, reply.status ?? 200, reply.body, reply.headers);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: ErrorBody = { error: error.message, ...error.details };
  sendJson(res, error.status, body, { ...error.headers });
}

/** Reads a JSON body of at most `limit` bytes; 413 when larger, 415 when not JSON, 400 when unparsable. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new HttpError(413, `The request body is larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new HttpError(413, `The request body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  if (type !== 'application/json')
    throw new HttpError(415, 'The request body must be JSON (Content-Type: application/json)');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON');
  }
}

/** A JSON object body, or a 400 naming what was expected. */
export function objectBody(value: unknown, what = 'a JSON object'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, `The request body must be ${what}`);
  return value as Record<string, unknown>;
}
