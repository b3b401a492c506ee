/**
 * Option validation shared by FlagManager, FlagAdmin and the OpenFeature provider: each check
 * throws an InvalidOptionError naming the option and the value.
 */
import type { NatsConnection } from 'nats';
import { InvalidOptionError } from './errors';
import { defaultLogger, safeLogger, type Logger } from './logger';

export function optionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidOptionError(option, value, 'a string');
  return value;
}

export function optionalBoolean(option: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'true or false');
  return value;
}

export function optionalInteger(option: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(option, value, `an integer ≥ ${min}`);
  }
  return value;
}

export function optionalPort(option: string, value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (n === undefined) return undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InvalidOptionError(option, value, 'a port number from 1 to 65535');
  }
  return n;
}

export function optionalEnum<T extends string>(option: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, value, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  }
  return value as T;
}

/** A user's logger, checked and wrapped so that it can never throw into the SDK; the default when absent. */
export function resolveLogger(value: unknown, option = 'logger', fallback: Logger = defaultLogger): Logger {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError(option, value, 'an object with debug, info, warn and error methods');
  const l: Partial<Record<keyof Logger, unknown>> = value;
  for (const method of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof l[method] !== 'function') throw new InvalidOptionError(`${option}.${method}`, l[method], 'a function');
  }
  return safeLogger(value as Logger);
}

/** NATS server URLs: one or an array, each `nats://host:port`, `tls://…`, `ws(s)://…` or `host:port`. */
export function natsServers(option: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidOptionError(option, value, 'a NATS URL or a non-empty array of them');
  }
  return list.map((server: unknown, index) => {
    if (typeof server !== 'string' || !isNatsUrl(server)) {
      throw new InvalidOptionError(
        `${option}[${index}]`,
        server,
        'a URL such as "nats://localhost:4222" or "host:port"',
      );
    }
    return server.trim();
  });
}

/** Whether a value is a connection from the `nats` package (duck-typed: it has `jetstream()`). */
export function isNatsConnection(value: unknown): value is NatsConnection {
  return (
    typeof value === 'object' && value !== null && typeof (value as { jetstream?: unknown }).jetstream === 'function'
  );
}

/** A JetStream stream name. */
export function streamName(option: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[^\s.*>/\\]+$/.test(value)) {
    throw new InvalidOptionError(option, value, 'a stream name without spaces, ".", "*", ">", "/" or "\\"');
  }
  return value;
}

function isNatsUrl(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed === '') return false;
  if (/^(nats|tls|ws|wss):\/\//i.test(trimmed)) return true;
  return /^[A-Za-z0-9.\-_[\]:]+(:\d+)?$/.test(trimmed);
}
