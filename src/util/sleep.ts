/**
 * Resolves after `ms`. With `unref`, the timer does not keep the host process alive on its own:
 * for loops that live beside the host (the breaker's poll), not for a step a command waits on.
 */
export function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (options.unref === true) timer.unref();
  });
}
