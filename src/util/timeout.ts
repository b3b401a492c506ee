/**
 * Waiting for a promise at most so long, in one place, with the timer's effect on the process named.
 *
 * - `'holds-process'`: the timer keeps Node running while someone awaits the result, as an awaited
 *   timeout should (a caller that awaits `initialize()` must not see the process exit under it).
 * - `'lets-process-exit'`: the timer is unref()'d: a wait in the background (a flush during close,
 *   a QUIT to a server that hangs) never keeps a process alive that has nothing else to do.
 *
 * Either way the timer is cleared as soon as the promise settles.
 */
export type TimerPolicy = 'holds-process' | 'lets-process-exit';

/**
 * Resolves with the promise's value, or with undefined when `ms` passes first; rejects when the
 * promise rejects first. `ms` undefined: no time limit.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number | undefined,
  policy: TimerPolicy,
): Promise<T | undefined> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
    if (policy === 'lets-process-exit') timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when the promise settles (either way) or after `ms`, whichever comes first. Never rejects. */
export async function settleWithin(promise: Promise<unknown>, ms: number, policy: TimerPolicy): Promise<void> {
  await within(
    promise.then(
      () => undefined,
      () => undefined,
    ),
    ms,
    policy,
  );
}
