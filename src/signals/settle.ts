/**
 * What became of a batch sent as one script or MULTI/EXEC: pure functions, unit-tested without a server.
 *
 * - `settleReplies`: the batch answered (EXEC's replies, or the script's mapped to that shape); each
 *   reply is mapped back to the entry whose command it is.
 *   An entry is written when all its commands succeeded, retried when one failed for a reason that
 *   passes (LOADING, OOM, …), refused (dropped) when one failed for good (wrong type, NOPERM, …).
 *   Housekeeping commands (expiry, app index) lose no event when they fail: only reported.
 * - `settleFailure`: the send failed as a whole. Whether Redis may have run the batch decides the
 *   outcome: a refusal (EXECABORT, NOPERM) ran nothing and never will; a reply error that passes
 *   (LOADING, OOM) or a command never sent (stream not writable) ran nothing; a connection lost after
 *   sending, or a timeout, may have run it: the batch is in doubt, resent verbatim with its id (the
 *   marker makes the resend a no-op if it had run), `unknown` once closing.
 */
import type { PlannedCommand } from './backend';
import type { BufferEntry } from './buffer';
import type { RedisExecReply } from './client';
import { isPermanentReplyError, isReplyError, isTransientReplyError } from './redis-errors';

export interface ReplySettlement {
  readonly written: BufferEntry[];
  readonly retry: BufferEntry[];
  readonly refused: Array<{ readonly entry: BufferEntry; readonly error: Error }>;
  /** Failed housekeeping commands (their events were written). */
  readonly housekeeping: Error[];
  /** The error that made the first retried entry fail. */
  readonly retryError: Error | undefined;
}

/** Maps EXEC's per-command replies back to the batch's entries. `replies` has one item per command. */
export function settleReplies(
  batch: readonly BufferEntry[],
  commands: readonly PlannedCommand[],
  replies: NonNullable<RedisExecReply>,
): ReplySettlement {
  const failures = new Map<number, Error>();
  const housekeeping: Error[] = [];
  commands.forEach((command, index) => {
    const reply = replies[index];
    // A reply missing for a command is as good as a failure that may pass.
    const error = reply === undefined ? new Error('no reply for this command') : reply[0];
    if (!error) return;
    if (command.owner < 0) housekeeping.push(error);
    else if (!failures.has(command.owner)) failures.set(command.owner, error);
  });
  const written: BufferEntry[] = [];
  const retry: BufferEntry[] = [];
  const refused: Array<{ entry: BufferEntry; error: Error }> = [];
  let retryError: Error | undefined;
  batch.forEach((entry, index) => {
    const error = failures.get(index);
    if (!error) written.push(entry);
    else if (isPermanentReplyError(error) && !isTransientReplyError(error)) refused.push({ entry, error });
    else {
      retry.push(entry);
      retryError ??= error;
    }
  });
  return { written, retry, refused, housekeeping, retryError };
}

/** What a send that failed as a whole (no per-command replies) means for the batch. */
export type FailureOutcome =
  /** Redis refused it (nothing ran, and nothing will): its entries are dropped and reported. */
  | 'refused'
  /** Nothing ran (a reply error that passes, or never sent): resending it is safe even without a marker. */
  | 'not-run'
  /** Sent, and no answer (connection lost, timeout): Redis may have applied it. Resent with its id. */
  | 'in-doubt';

export function settleFailure(error: unknown): FailureOutcome {
  if (isPermanentReplyError(error)) return 'refused';
  if (isReplyError(error) || wasNeverSent(error)) return 'not-run';
  return 'in-doubt';
}

/** ioredis refuses a command without sending it when the socket is not writable (no offline queue). */
export function wasNeverSent(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const previous = (error as Error & { previousErrors?: unknown }).previousErrors;
  const messages: unknown[] = Array.isArray(previous) && previous.length > 0 ? previous : [error];
  return messages.every((e) => e instanceof Error && /Stream isn't writeable/.test(e.message));
}
