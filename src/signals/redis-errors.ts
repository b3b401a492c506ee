/** Telling Redis errors apart: a refused command (retrying cannot help) from trouble that passes. */

/** Reply prefixes of errors that go away by themselves (loading, failover, memory pressure, …). */
const TRANSIENT_PREFIXES = [
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'READONLY',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'OOM',
  'NOREPLICAS',
  'MISCONF',
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
  if (error instanceof Error) {
    const previous = (error as Error & { previousErrors?: unknown }).previousErrors;
    if (Array.isArray(previous) && previous[0] instanceof Error) return `${error.message} (${previous[0].message})`;
    return error.message;
  }
  return String(error);
}
