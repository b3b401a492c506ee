/** The four-method logger the SDK writes to. Pass your own (pino, winston, console) as `logger`. */
export interface Logger {
  debug(message: string, ...meta: unknown[]): void;
  info(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
  error(message: string, ...meta: unknown[]): void;
}

/**
 * The default logger: warnings and errors to stderr, one line each, prefixed `[tailslide]`.
 * Debug and info stay quiet unless a logger is injected.
 */
export const defaultLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => writeLine('warn', message),
  error: (message) => writeLine('error', message),
};

/** A logger that drops everything (tests, or hosts that only want events). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function writeLine(level: string, message: string): void {
  try {
    process.stderr.write(`[tailslide] ${level}: ${message}\n`);
  } catch {
    // stderr closed: nothing sensible left to do
  }
}

/**
 * Wraps a user logger so that a logger which throws can never break the SDK.
 */
export function safeLogger(logger: Logger): Logger {
  const guard =
    (level: keyof Logger) =>
    (message: string, ...meta: unknown[]): void => {
      try {
        logger[level](message, ...meta);
      } catch {
        // a broken logger must not take the SDK down
      }
    };
  return { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') };
}
