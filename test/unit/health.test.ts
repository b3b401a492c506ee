import { assessHealth, DELIVERY_GRACE_MS, HealthTracker, type HealthFacts, type ManagerHealth } from '../../src/health';
import {
  AUDIT_CONFIRM_MS,
  AUDIT_INTERVAL_MS,
  isStalled,
  LivenessAudit,
  nextAuditDelay,
  standing,
  type AuditSample,
} from '../../src/sources/jetstream-audit';

const READY: HealthFacts = {
  state: 'ready',
  delivery: 'consumer',
  connectionLost: undefined,
  interrupted: undefined,
  waiting: undefined,
  failure: undefined,
  lastUpdateAt: 1_000,
};

describe('assessHealth', () => {
  test.each<[string, Partial<HealthFacts>, Partial<ManagerHealth>]>([
    ['ready and following', {}, { healthy: true, stale: false, connected: true }],
    [
      'idle',
      { state: 'idle' },
      { healthy: false, stale: false, reason: 'not initialized: initialize() has not been called' },
    ],
    [
      'initializing, waiting for a stream',
      { state: 'initializing', waiting: 'stream "x" does not exist yet' },
      { healthy: false, reason: 'initializing: stream "x" does not exist yet' },
    ],
    [
      'NATS lost',
      { state: 'stale', connectionLost: 'disconnected from nats://a' },
      { healthy: false, stale: true, connected: false, reason: 'NATS connection lost: disconnected from nats://a' },
    ],
    [
      'delivery interrupted past the grace',
      { interrupted: { reason: 'consumer ended', sinceMs: 10_000 - DELIVERY_GRACE_MS } },
      { healthy: false, stale: true, connected: true, reason: 'not following app updates: consumer ended' },
    ],
    [
      'delivery interrupted within the grace',
      { interrupted: { reason: 'consumer ended', sinceMs: 10_000 - DELIVERY_GRACE_MS + 1 } },
      { healthy: true, stale: false },
    ],
    ['failed', { state: 'failed', failure: 'refused' }, { healthy: false, stale: true, reason: 'failed: refused' }],
    ['closed', { state: 'closed' }, { healthy: false, reason: 'disconnected: disconnect() was called' }],
    [
      'offline, no connection at all',
      { delivery: 'offline', connectionLost: undefined },
      { healthy: true, connected: true },
    ],
  ])('%s', (_, facts, expected) => {
    const health = assessHealth({ ...READY, ...facts }, 10_000);
    expect(health).toMatchObject(expected);
    if (health.healthy) expect(health.reason).toBeUndefined();
  });
});

describe('HealthTracker', () => {
  let now = 0;
  const seen: ManagerHealth[] = [];
  const tracker = new HealthTracker(
    'consumer',
    (h) => seen.push(h),
    () => now,
  );
  afterAll(() => tracker.dispose());

  test('reports verdict changes only, and an interruption once its grace is over', async () => {
    tracker.set({ state: 'initializing' });
    tracker.set({ state: 'ready' });
    tracker.set({ lastUpdateAt: 5 }); // same verdict: nothing
    expect(seen.map((h) => h.healthy)).toEqual([false, true]);
    now = 100;
    tracker.interrupted('consumer ended');
    expect(seen).toHaveLength(2); // within the grace
    tracker.interrupted('stream gone'); // keeps the first time
    now = 100 + DELIVERY_GRACE_MS;
    await new Promise((resolve) => setTimeout(resolve, DELIVERY_GRACE_MS + 20)); // the grace timer fires
    expect(seen.at(-1)).toMatchObject({ healthy: false, reason: 'not following app updates: stream gone' });
    tracker.resumed();
    expect(seen.at(-1)).toMatchObject({ healthy: true });
    expect(seen).toHaveLength(4);
  });
});

describe('isStalled', () => {
  const drained = (delivered: number, missing: number | undefined, seen = 3) => ({
    drained: true,
    missing,
    delivered,
    seen,
  });
  const reading = (seen: number) => ({ drained: false, missing: undefined, delivered: 0, seen });
  test.each([
    ['first audit', undefined, drained(10, 12), false],
    ['missing 12, still at 10', drained(10, 12), drained(10, 12), true],
    ['missing 12, trickled to 11 (behind by a second or more)', drained(10, 12), drained(11, 13, 4), true],
    ['missing 12, delivered it (and 13 is in flight)', drained(10, 12), drained(12, 13, 4), false],
    ['nothing missing before', drained(10, undefined), drained(10, 12), false],
    ['caught up', drained(10, 12), drained(12, undefined, 5), false],
    ['first batch, nothing delivered between two audits', reading(0), reading(0), true],
    ['first batch, delivering', reading(0), reading(2), false],
    ['first batch read since', reading(0), drained(5, undefined), false],
  ])('%s', (_, previous, current, stalled) => {
    expect(isStalled(previous, current)).toBe(stalled);
  });
});

describe('nextAuditDelay', () => {
  test('is 2 s ± 20 % after a current sample, 1 s ± 20 % after one behind and for a new consumer', () => {
    for (let i = 0; i < 50; i += 1) {
      const calm = nextAuditDelay({ drained: true, missing: undefined, delivered: 4, seen: 1 });
      const confirm = nextAuditDelay({ drained: true, missing: 5, delivered: 4, seen: 1 });
      expect(calm).toBeGreaterThanOrEqual(AUDIT_INTERVAL_MS * 0.8);
      expect(calm).toBeLessThanOrEqual(AUDIT_INTERVAL_MS * 1.2);
      expect(confirm).toBeGreaterThanOrEqual(AUDIT_CONFIRM_MS * 0.8);
      expect(confirm).toBeLessThanOrEqual(AUDIT_CONFIRM_MS * 1.2);
    }
    expect(nextAuditDelay(undefined)).toBeLessThanOrEqual(AUDIT_CONFIRM_MS * 1.2);
  });
});

describe('LivenessAudit', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** Runs the audit over `samples` (one per audit) and returns what `stalled` was told, if anything. */
  async function audit(samples: AuditSample[]): Promise<string | undefined> {
    let said: string | undefined;
    const queue = [...samples];
    const runner = new LivenessAudit({ sample: () => Promise.resolve(queue.shift()), stalled: (d) => (said = d) });
    runner.start();
    for (let i = 0; i < samples.length && said === undefined; i += 1) await jest.advanceTimersByTimeAsync(2_500);
    runner.stop();
    return said;
  }
  const at = (delivered: number, missing: number | undefined, seen: number): AuditSample => ({
    drained: true,
    missing,
    delivered,
    seen,
  });

  test('a consumer that trickles, behind at three audits in a row, has stalled', async () => {
    expect(await audit([at(10, 11, 1), at(11, 13, 2), at(13, 15, 3)])).toMatch(/behind the stream at 3 audits/);
  });

  test('one that catches up in between has not', async () => {
    expect(await audit([at(10, 11, 1), at(11, undefined, 2), at(12, 13, 3), at(13, undefined, 4)])).toBeUndefined();
  });
});

describe('standing', () => {
  test.each([
    [undefined, 5, 'current'],
    [5, 5, 'current'],
    [7, 5, 'behind'],
    [3, 5, 'rewound'],
  ] as const)('last %s, delivered %s: %s', (last, delivered, expected) => {
    expect(standing(last, delivered)).toBe(expected);
  });
});
