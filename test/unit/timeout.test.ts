/** src/util/timeout.ts: one way to wait at most so long, with the timer's hold on the process named. */
import { settleWithin, within } from '../../src/util/timeout';

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const never = new Promise<never>(() => undefined);

describe('within', () => {
  test('the value when the promise wins, undefined when the time runs out, the rejection when it rejects first', async () => {
    await expect(within(Promise.resolve(7), 1_000, 'holds-process')).resolves.toBe(7);
    await expect(within(never, 10, 'holds-process')).resolves.toBeUndefined();
    await expect(within(Promise.reject(new Error('no')), 1_000, 'lets-process-exit')).rejects.toThrow('no');
    await expect(within(Promise.resolve('x'), undefined, 'holds-process')).resolves.toBe('x');
  });

  test.each([
    ['holds-process', 1],
    ['lets-process-exit', 0],
  ] as const)("'%s': %i timer keeping the process alive while waiting, none after", async (policy, held) => {
    const before = timeouts();
    let release: () => void = () => undefined;
    const waiting = within(new Promise<void>((resolve) => (release = resolve)), 60_000, policy);
    expect(timeouts() - before).toBe(held);
    release();
    await waiting;
    expect(timeouts()).toBe(before);
  });
});

describe('settleWithin', () => {
  test('never rejects; resolves at the timeout', async () => {
    await expect(settleWithin(Promise.reject(new Error('no')), 1_000, 'holds-process')).resolves.toBeUndefined();
    const t = Date.now();
    await settleWithin(never, 30, 'lets-process-exit');
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
  });
});
