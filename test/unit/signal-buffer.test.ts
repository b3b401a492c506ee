import { SignalBuffer, type MetricSeries, type SignalSeries } from '../../src/signals/buffer';

const success: SignalSeries = { kind: 'signal', flagId: 1, appId: 7, status: 'success' };
const failure: SignalSeries = { kind: 'signal', flagId: 1, appId: 7, status: 'failure' };
const latency: MetricSeries = { kind: 'metric', flagId: 1, appId: 7, event: 'latency', variant: 'on' };

describe('SignalBuffer folding', () => {
  test('10,000 events of one series in one ms fold into one entry of count 10,000', () => {
    const buffer = new SignalBuffer(100_000);
    for (let i = 0; i < 10_000; i += 1) buffer.add(success, 1_000);
    expect(buffer.size).toBe(1);
    expect(buffer.pending).toBe(10_000);
    const [entry] = buffer.take(10);
    expect(entry).toMatchObject({ series: success, atMs: 1_000, count: 10_000, sum: 10_000 });
    expect(buffer.pending).toBe(0);
    expect(buffer.size).toBe(0);
  });

  test('different series or milliseconds stay apart, in arrival order; interleaved series still fold', () => {
    const buffer = new SignalBuffer(100);
    buffer.add(success, 1);
    buffer.add(failure, 1);
    buffer.add(success, 1);
    buffer.add(success, 2);
    expect(buffer.size).toBe(3);
    expect(buffer.take(10).map((e) => [e.series.kind === 'signal' ? e.series.status : '', e.atMs, e.count])).toEqual([
      ['success', 1, 2],
      ['failure', 1, 1],
      ['success', 2, 1],
    ]);
  });

  test('an event older than the newest of its series makes its own entry (sums stay right)', () => {
    const buffer = new SignalBuffer(100);
    buffer.add(success, 5);
    buffer.add(success, 4);
    buffer.add(success, 5);
    expect(buffer.pending).toBe(3);
    expect(buffer.take(10).map((e) => [e.atMs, e.count])).toEqual([
      [5, 1],
      [4, 1],
      [5, 1],
    ]);
  });

  test('metrics fold count and value sum', () => {
    const buffer = new SignalBuffer(100);
    buffer.add(latency, 5, 1, 10);
    buffer.add(latency, 5, 1, 30);
    buffer.add(latency, 5, 1, 2.5);
    expect(buffer.take(1)).toEqual([expect.objectContaining({ count: 3, sum: 42.5 })]);
  });

  test('take hands out at most the asked number of entries, oldest first', () => {
    const buffer = new SignalBuffer(100);
    for (let ms = 0; ms < 5; ms += 1) buffer.add(success, ms);
    expect(buffer.take(2).map((e) => e.atMs)).toEqual([0, 1]);
    expect(buffer.pending).toBe(3);
    expect(buffer.take(10).map((e) => e.atMs)).toEqual([2, 3, 4]);
  });
});

describe('SignalBuffer bound (in events, oldest dropped, counted exactly)', () => {
  test('past the limit the oldest events go first', () => {
    const buffer = new SignalBuffer(3);
    expect(buffer.add(success, 1)).toBe(0);
    buffer.add(success, 2);
    buffer.add(success, 3);
    expect(buffer.add(success, 4)).toBe(1);
    expect(buffer.pending).toBe(3);
    expect(buffer.dropped).toBe(1);
    expect(buffer.take(10).map((e) => e.atMs)).toEqual([2, 3, 4]);
  });

  test('the bound counts events, not entries: a folded entry is cut down, not thrown away whole', () => {
    const buffer = new SignalBuffer(1_000);
    for (let i = 0; i < 2_500; i += 1) buffer.add(success, 7);
    expect(buffer.pending).toBe(1_000);
    expect(buffer.dropped).toBe(1_500);
    expect(buffer.size).toBe(1);
    expect(buffer.take(1)).toEqual([expect.objectContaining({ count: 1_000, sum: 1_000 })]);
  });

  test('a partly dropped metric entry keeps its mean', () => {
    const buffer = new SignalBuffer(2);
    buffer.add(latency, 1, 1, 10);
    buffer.add(latency, 1, 1, 20);
    buffer.add(latency, 1, 1, 30); // folds to count 3 sum 60, then one event of mean 20 goes
    const [entry] = buffer.take(1);
    expect(entry?.count).toBe(2);
    expect(entry?.sum).toBeCloseTo(40);
    expect(buffer.dropped).toBe(1);
  });

  test('requeued entries go back in front and are the first dropped', () => {
    const buffer = new SignalBuffer(5);
    buffer.add(success, 1);
    buffer.add(success, 2);
    const taken = buffer.take(2);
    buffer.add(success, 3);
    buffer.add(success, 4);
    buffer.add(success, 5);
    buffer.add(success, 6);
    expect(buffer.requeue(taken)).toBe(1);
    expect(buffer.dropped).toBe(1);
    expect(buffer.take(10).map((e) => e.atMs)).toEqual([2, 3, 4, 5, 6]);
  });

  test('a requeued entry and a new one of the same series and ms both survive and both count', () => {
    const buffer = new SignalBuffer(100);
    buffer.add(success, 9);
    const taken = buffer.take(1);
    buffer.add(success, 9);
    buffer.requeue(taken);
    buffer.add(success, 9); // folds into the newest entry
    expect(buffer.pending).toBe(3);
    expect(buffer.take(10).map((e) => e.count)).toEqual([1, 2]);
    expect(buffer.pending).toBe(0);
  });

  test('accepted = pending + taken + dropped at every step of a random run', () => {
    const buffer = new SignalBuffer(50);
    let accepted = 0;
    let written = 0;
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let step = 0; step < 5_000; step += 1) {
      const r = random();
      if (r < 0.7) {
        const n = 1 + Math.floor(random() * 5);
        buffer.add(random() < 0.5 ? success : failure, Math.floor(step / 10), n);
        accepted += n;
      } else {
        const taken = buffer.take(1 + Math.floor(random() * 5));
        const n = taken.reduce((a, e) => a + e.count, 0);
        const fate = random();
        if (fate < 0.5) written += n;
        else if (fate < 0.75) buffer.requeue(taken);
        else buffer.discard(taken);
      }
      expect(buffer.pending).toBeLessThanOrEqual(50);
      expect(written + buffer.pending + buffer.dropped).toBe(accepted);
    }
  });

  test('dropAll and discard count exactly', () => {
    const buffer = new SignalBuffer(100);
    buffer.add(success, 1, 4);
    buffer.add(failure, 1, 6);
    const taken = buffer.take(1);
    expect(buffer.discard(taken)).toBe(4);
    expect(buffer.dropAll()).toBe(6);
    expect(buffer.dropped).toBe(10);
    expect(buffer.pending).toBe(0);
    expect(buffer.size).toBe(0);
  });

  test('the limit must be a positive integer', () => {
    expect(() => new SignalBuffer(0)).toThrow(RangeError);
    expect(() => new SignalBuffer(1.5)).toThrow(RangeError);
  });
});
