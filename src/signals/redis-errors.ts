/** Telling Redis errors apart: a refused command (retrying cannot help) from trouble that passes. */
import { errorMessage } from '../util/error-message';
/** Reply prefixes of errors that go away by themselves (loading, failover, memory pressure, …). */
const TRANSIENT_PREFIXES = [
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'READONLY',
  'MASTERDOWN',
  'CLUSTERDOWN',
  // Redis Cluster: the slot moved (a failover, a resharding); the client learns the new owner.
  'MOVED',
  'ASK',
  'OOM',
  'NOREPLICAS',
  'MISCONF',
  // The connection is not (or no longer) authenticated: the client reconnects and authenticates
  // again; the sink reports refused credentials once, at error level, and keeps the events.
  'NOAUTH',
  'WRONGPASS',
];

/** An error reply from the server (as opposed to a connection problem on our side). */
export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** A reply error worth retrying later, including an EXECABORT caused only by such errors. */
export function isTransientReplyError(error: unknown): boolean {
  if (!isReplyError(error)) return false;
  const previous = (error as Error & { previousErrors?: unknown }).previousErrors;
  const messages =
    Array.isArray(previous) && previous.length > 0
      ? previous.map((e) => (e instanceof Error ? e.message : String(e)))
      : [error.message];
  return messages.every((message) => TRANSIENT_PREFIXES.some((prefix) => message.startsWith(prefix)));
}

/** A server refusal that retrying cannot fix (unknown command, wrong type, bad argument, no permission). */
export function isPermanentReplyError(error: unknown): boolean {
  return isReplyError(error) && !isTransientReplyError(error);
}

/** The first useful line of an error, for a log message. */
export function describeError(error: unknown): string {
  return errorMessage(error);
}

/** Redis refused the credentials (wrong password, unknown or disabled user, none given). */
export function isCredentialsError(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /^(WRONGPASS|NOAUTH)\b|invalid (username-)?password/i.test(message);
}

/** An ACL refusal of a command or key (`NOPERM`), directly or as the cause of an EXECABORT. */
export function isPermissionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const previous = (error as Error & { previousErrors?: unknown }).previousErrors;
  const messages = Array.isArray(previous) ? previous.map((e) => (e instanceof Error ? e.message : String(e))) : [];
  return [error.message, ...messages].some((message) => message.startsWith('NOPERM'));
}

/** Nothing listens at the address, or the name does not resolve: waiting for a connect timeout cannot help. */
export function isRefusedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH';
}
