/** Waiting for Ctrl-C (SIGINT), SIGTERM or SIGHUP, for the commands that run until stopped. */

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface Interrupt {
  /** Resolves with the first stop signal (or 'timeout' / 'stopped'). */
  readonly done: Promise<StopSignal | 'timeout' | 'stopped'>;
  /** Ends the wait from the inside (e.g. a fatal error). */
  stop(): void;
  /** Removes the signal handlers (a later Ctrl-C then ends the process the default way). */
  dispose(): void;
}

/**
 * Starts listening for stop signals; after `timeoutMs` (when given) `done` resolves with 'timeout'.
 * `onSecond` runs on a stop signal that arrives after the first (the user insists).
 */
export function waitForInterrupt(
  options: { timeoutMs?: number; onSecond?: (signal: StopSignal) => void } = {},
): Interrupt {
  let settle: (value: StopSignal | 'timeout' | 'stopped') => void = () => undefined;
  let settled = false;
  const done = new Promise<StopSignal | 'timeout' | 'stopped'>((resolve) => {
    settle = (value) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
  });
  const handlers = new Map<StopSignal, () => void>();
  for (const signal of SIGNALS) {
    const handler = (): void => {
      if (settled) options.onSecond?.(signal);
      else settle(signal);
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => settle('timeout'), options.timeoutMs);
  return {
    done,
    stop: () => settle('stopped'),
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      for (const [signal, handler] of handlers) process.off(signal, handler);
      handlers.clear();
    },
  };
}
