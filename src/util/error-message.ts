/**
 * The one way to put a caught value into a log line or an error message: its `message` (an Error,
 * a NatsError, ioredis' errors, a plain object with one), with ioredis' first `previousErrors`
 * entry when a MULTI failed as a whole, else its text; credentials in URLs redacted. Total: it
 * never throws, whatever was thrown (a getter that throws, an object without a prototype).
 */
import { redactText } from './redact';

export function errorMessage(err: unknown): string {
  try {
    const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
    let text = typeof message === 'string' && message !== '' ? message : String(err);
    const previous =
      typeof err === 'object' && err !== null ? (err as { previousErrors?: unknown }).previousErrors : undefined;
    if (Array.isArray(previous) && previous[0] instanceof Error) text = `${text} (${previous[0].message})`;
    return redactText(text);
  } catch {
    return 'an error that cannot be described';
  }
}
