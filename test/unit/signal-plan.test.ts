import type { BufferEntry } from '../../src/signals/buffer';
import { eventToken, nativeSignalKey, timeSeriesSignalKey } from '../../src/signals/keys';
import { NativeBackend } from '../../src/signals/native-backend';
import { TimeSeriesBackend } from '../../src/signals/timeseries-backend';

const signal = (atMs: number, count: number, status: 'success' | 'failure' = 'success'): BufferEntry => ({
  series: { kind: 'signal', flagId: 42, appId: 7, status },
  atMs,
  count,
  sum: count,
});
const metric = (atMs: number, count: number, sum: number): BufferEntry => ({
  series: { kind: 'metric', flagId: 42, appId: 7, event: 'checkout', variant: 'on' },
  atMs,
  count,
  sum,
});

describe('event names', () => {
  test.each([
    ['checkout', 'checkout'],
    ['  checkout  ', 'checkout'],
    ['order.total-eur_v2', 'order.total-eur_v2'],
    ['a b', 'a%20b'],
    ['a:b{c}(d),e', 'a%3Ab%7Bc%7D%28d%29%2Ce'],
    ['x%', 'x%25'],
    ['café', 'caf%C3%A9'],
    ['chunk_size', '%63hunk_size'],
    ['LABELS', '%4CABELS'],
  ])('%j → %j', (name, token) => {
    expect(eventToken(name)).toBe(token);
  });

  test.each([[''], ['   '], ['\t\n'], ['x'.repeat(201)], [42], [undefined]])('%j is rejected', (name) => {
    expect(eventToken(name)).toBeUndefined();
  });
});

describe('TimeSeries write plan', () => {
  test('one TS.ADD per folded sample: SUM on duplicates and at creation, retention, LABELS last', () => {
    const plan = new TimeSeriesBackend(86_400_000).plan([signal(1_000, 10_000), signal(1_001, 3, 'failure')]);
    expect(plan).toEqual([
      {
        name: 'TS.ADD',
        args: [
          '42:success',
          1_000,
          10_000,
          'RETENTION',
          86_400_000,
          'DUPLICATE_POLICY',
          'SUM',
          'ON_DUPLICATE',
          'SUM',
          'LABELS',
          'status',
          'success',
          'flagId',
          42,
          'appId',
          7,
        ],
        owner: 0,
      },
      {
        name: 'TS.ADD',
        args: [
          '42:failure',
          1_001,
          3,
          'RETENTION',
          86_400_000,
          'DUPLICATE_POLICY',
          'SUM',
          'ON_DUPLICATE',
          'SUM',
          'LABELS',
          'status',
          'failure',
          'flagId',
          42,
          'appId',
          7,
        ],
        owner: 1,
      },
    ]);
    expect(timeSeriesSignalKey(42, 'success')).toBe('42:success');
  });

  test('a metric writes a count and a sum series whose labels and keys stay clear of flagId/appId', () => {
    const plan = new TimeSeriesBackend(1_000).plan([metric(5, 3, 12.5)]);
    expect(plan).toHaveLength(2);
    for (const command of plan) {
      const labels = command.args.slice(command.args.indexOf('LABELS') + 1);
      const names = labels.filter((_, i) => i % 2 === 0);
      expect(names).toEqual(['metricFlagId', 'metricAppId', 'metric', 'variant', 'kind']);
      expect(names).not.toContain('flagId');
      expect(names).not.toContain('appId');
      expect(String(command.args[0])).not.toMatch(/^42:(success|failure)$/);
    }
    expect(plan.map((c) => [c.args[0], c.args[2]])).toEqual([
      ['tailslide:metric:42:checkout:on:count', 3],
      ['tailslide:metric:42:checkout:on:sum', 12.5],
    ]);
  });
});

describe('native write plan', () => {
  test('one HINCRBY per sample, one relative PEXPIRE per key, the app index updated and trimmed', () => {
    const block = 1_700_000_040_000; // a multiple of 60 s
    const plan = new NativeBackend(3_600_000).plan(
      [signal(block + 1_500, 10), signal(block + 1_900, 2), signal(block + 59_999, 1, 'failure')],
      block + 60_000,
    );
    const key = nativeSignalKey(42, 'success', block);
    expect(key).toBe(`tailslide:sig:{42}:success:${block}`);
    expect(plan).toEqual([
      { name: 'HINCRBY', args: [key, 1, 10], owner: 0 },
      { name: 'HINCRBY', args: [key, 1, 2], owner: 1 },
      { name: 'HINCRBY', args: [nativeSignalKey(42, 'failure', block), 59, 1], owner: 2 },
      // block end + retention − now: the key lives for the retention by any server clock
      { name: 'PEXPIRE', args: [key, 3_600_000], owner: -1 },
      { name: 'PEXPIRE', args: [nativeSignalKey(42, 'failure', block), 3_600_000], owner: -1 },
      { name: 'ZADD', args: ['tailslide:sig:app:{7}:flags', block + 59_999, 42], owner: -1 },
      {
        name: 'ZREMRANGEBYSCORE',
        args: ['tailslide:sig:app:{7}:flags', '-inf', `(${block + 60_000 - 3_600_000 - 60_000}`],
        owner: -1,
      },
      { name: 'PEXPIRE', args: ['tailslide:sig:app:{7}:flags', 3_600_000 + 60_000], owner: -1 },
    ]);
  });

  test('the expiry counts from now: a block written later gets what is left of its retention', () => {
    const block = 1_700_000_040_000;
    const backend = new NativeBackend(3_600_000);
    const plan = backend.plan([signal(block + 1_000, 1)], block + 60_000 + 3_000_000);
    expect(plan.find((c) => c.name === 'PEXPIRE' && String(c.args[0]).startsWith('tailslide:sig:{'))).toEqual({
      name: 'PEXPIRE',
      args: [nativeSignalKey(42, 'success', block), 600_000],
      owner: -1,
    });
    expect(backend.expired(signal(block + 1_000, 1), block + 60_000 + 3_599_999)).toBe(false);
    expect(backend.expired(signal(block + 1_000, 1), block + 60_000 + 3_600_000)).toBe(true);
    expect(new NativeBackend(0).expired(signal(0, 1), Date.now())).toBe(false);
  });

  test('metrics: count and sum fields of the second; retention 0 sets no expiry', () => {
    const plan = new NativeBackend(0).plan([metric(61_234, 3, 0.5)], 70_000);
    expect(plan).toEqual([
      { name: 'HINCRBY', args: ['tailslide:metric:{42}:checkout:on:60000', 'c:1', 3], owner: 0 },
      { name: 'HINCRBYFLOAT', args: ['tailslide:metric:{42}:checkout:on:60000', 's:1', '0.5'], owner: 0 },
    ]);
  });
});
