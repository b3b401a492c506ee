/** The JetStream source's waits and back-off, under jest's fake timers and a pinned Math.random. */
import {
  boundedWait,
  jittered,
  Pause,
  retryDelay,
  RetryTimer,
  SYNC_RETRY_INITIAL_MS,
  SYNC_RETRY_MAX_MS,
} from '../../src/sources/jetstream-timing';

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('jittered / retryDelay', () => {
  test.each([
    [0, 800],
    [0.5, 1_000],
    [0.999999, 1_200],
  ])('Math.random() = %p: 1000 ms becomes %p ms', (random, expected) => {
    jest.spyOn(Math, 'random').mockReturnValue(random);
    expect(jittered(1_000)).toBe(expected);
  });

  test.each([
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [5, 5_000],
    [50, 5_000],
    [0, 500],
    [-3, 500],
  ])('attempt %p waits %p ms (no jitter)', (attempt, expected) => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(retryDelay(attempt)).toBe(expected);
  });

  test('the jitter stays within ±20 % and the cap holds with it', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const base = Math.min(SYNC_RETRY_MAX_MS, SYNC_RETRY_INITIAL_MS * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const delay = retryDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.2));
      }
    }
  });
});

describe('RetryTimer', () => {
  test('fires once after its delay; re-arming replaces the pending call; clear() cancels', () => {
    jest.useFakeTimers();
    const timer = new RetryTimer();
    const calls: string[] = [];
    timer.set(1_000, () => calls.push('first'));
    jest.advanceTimersByTime(999);
    expect(calls).toEqual([]);
    timer.set(500, () => calls.push('second'));
    jest.advanceTimersByTime(500);
    expect(calls).toEqual(['second']);
    jest.advanceTimersByTime(10_000);
    expect(calls).toEqual(['second']);

    timer.set(100, () => calls.push('third'));
    timer.clear();
    timer.clear();
    jest.advanceTimersByTime(1_000);
    expect(calls).toEqual(['second']);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a callback may re-arm the timer', () => {
    jest.useFakeTimers();
    const timer = new RetryTimer();
    let runs = 0;
    const tick = (): void => {
      runs += 1;
      if (runs < 3) timer.set(100, tick);
    };
    timer.set(100, tick);
    jest.advanceTimersByTime(1_000);
    expect(runs).toBe(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('its timer does not keep the process alive (unref)', () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timer = new RetryTimer();
    timer.set(60_000, () => undefined);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    timer.clear();
    expect(after).toBe(before);
  });
});

describe('Pause', () => {
  test('wait() resolves after its time; cancel() ends it at once; a new wait() ends the previous', async () => {
    jest.useFakeTimers();
    const pause = new Pause();
    const done: string[] = [];
    void pause.wait(1_000).then(() => done.push('a'));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toEqual(['a']);

    void pause.wait(1_000).then(() => done.push('b'));
    void pause.wait(1_000).then(() => done.push('c'));
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toEqual(['a', 'b']);
    pause.cancel();
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toEqual(['a', 'b', 'c']);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('boundedWait', () => {
  test('returns when the promise settles, or at the bound, and leaves no timer', async () => {
    jest.useFakeTimers();
    let settled = false;
    const quick = boundedWait(Promise.resolve(), 1_000).then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(0);
    await quick;
    expect(settled).toBe(true);
    expect(jest.getTimerCount()).toBe(0);

    let bounded = false;
    void boundedWait(new Promise<void>(() => undefined), 1_000).then(() => (bounded = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(bounded).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(bounded).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});
