/** The breaker's pure decision rules, table-driven, on an injected clock (plain numbers). */
import {
  CIRCUIT_CHANGED_AT,
  CIRCUIT_RECOVERY_CHANGED_AT,
  applyDecision,
  decide,
  errorRatePercent,
  isWatched,
  nextRecoveryPercentage,
  sameCircuitState,
  windowStartMs,
  type Counts,
} from '../../src/breaker/decide';
import { parseMrange } from '../../src/breaker/signals-timeseries';
import { SkewGuard } from '../../src/breaker/skew';
import { towerMessage } from '../../src/breaker/tower';
import { newWireFlag } from '../../src/admin/fields';
import type { WireFlag } from '../../src/ruleset/types';

const T0 = Date.parse('2026-05-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const MIN = { minRequests: 20 };

function flag(fields: Partial<WireFlag> = {}): WireFlag {
  return {
    ...newWireFlag(1, 7, { title: 'checkout-v2' }, iso(T0 - 3_600_000)),
    is_active: true,
    rollout_percentage: 100,
    error_threshold_percentage: 50,
    is_recoverable: true,
    circuit_recovery_delay: 10_000,
    circuit_initial_recovery_percentage: 10,
    circuit_recovery_rate: 5_000,
    circuit_recovery_increment_percentage: 20,
    ...fields,
  };
}

const c = (success: number, failure: number): Counts => ({ success, failure });

describe('error rate and trips', () => {
  it.each([
    [c(0, 0), 0],
    [c(10, 10), 50],
    [c(0, 20), 100],
    [c(3, 1), 25],
  ])('errorRatePercent(%j) = %d', (counts, rate) => {
    expect(errorRatePercent(counts)).toBe(rate);
  });

  it.each<[string, Counts, boolean]>([
    ['above the threshold', c(10, 11), true],
    ['at the threshold (strictly greater trips)', c(10, 10), false],
    ['below the threshold', c(11, 9), false],
    ['above, but fewer than minRequests', c(0, 19), false],
    ['above, exactly minRequests', c(0, 20), true],
    ['no data', c(0, 0), false],
  ])('a closed flag %s: trips = %s', (_name, counts, trips) => {
    const decision = decide(flag(), counts, T0, MIN);
    expect(decision?.kind === 'open').toBe(trips);
    if (trips) {
      expect(decision).toMatchObject({ from: 'close', to: 'open', percentage: 0, isActive: false });
      expect(decision?.errorRate).toBeCloseTo(errorRatePercent(counts));
    }
  });

  it('missing counts (Redis down) never trip', () => {
    expect(decide(flag(), undefined, T0, MIN)).toBeUndefined();
  });

  it.each<[string, Partial<WireFlag>, boolean]>([
    ['active with a threshold', {}, true],
    ['inactive', { is_active: false }, false],
    ['threshold 0', { error_threshold_percentage: 0 }, false],
    ['open and recoverable (off because tripped)', { circuit_status: 'open', is_active: false }, true],
    ['open, not recoverable', { circuit_status: 'open', is_active: false, is_recoverable: false }, false],
    ['open, threshold 0', { circuit_status: 'open', is_active: false, error_threshold_percentage: 0 }, false],
  ])('a flag %s is watched: %s', (_name, fields, watched) => {
    expect(isWatched(flag(fields))).toBe(watched);
    if (!watched) expect(decide(flag(fields), c(0, 100), T0 + 3_600_000, MIN)).toBeUndefined();
  });

  it('an active flag whose circuit field says open (Tower closed it) is judged as a closed one', () => {
    const f = flag({ circuit_status: 'open', is_active: true, is_recoverable: false });
    expect(isWatched(f)).toBe(true);
    expect(decide(f, c(100, 0), T0, MIN)).toBeUndefined();
    expect(decide(f, c(5, 20), T0, MIN)).toMatchObject({ kind: 'open', from: 'open', to: 'open', isActive: false });
  });
});

describe('recovery', () => {
  const open = (sinceMs: number): WireFlag =>
    flag({
      circuit_status: 'open',
      is_active: false,
      circuit_recovery_percentage: 0,
      [CIRCUIT_CHANGED_AT]: iso(sinceMs),
    });

  it.each<[number, boolean]>([
    [0, false],
    [9_999, false],
    [10_000, true],
    [3_600_000, true], // a restart that missed it: at once
  ])('an open flag tripped %d ms ago enters recovery: %s', (ago, starts) => {
    const decision = decide(open(T0 - ago), undefined, T0, MIN);
    if (!starts) expect(decision).toBeUndefined();
    else expect(decision).toMatchObject({ kind: 'recovery_start', to: 'recovery', percentage: 10, isActive: true });
  });

  it('an open flag without circuit_changed_at counts from updated_at (as Tailslide does)', () => {
    const f = flag({ circuit_status: 'open', is_active: false, updated_at: iso(T0 - 5_000) });
    expect(decide(f, undefined, T0, MIN)).toBeUndefined();
    expect(decide(f, undefined, T0 + 5_000, MIN)?.kind).toBe('recovery_start');
  });

  it.each<[string, number[]]>([
    ['linear', [10, 30, 50, 70, 90]],
    ['exponential', [10, 12, 14.4, 17.28, 20.74, 24.89, 29.87, 35.84, 43.01, 51.61, 61.93, 74.32, 89.18]],
  ])('a %s ramp goes through exact percentages, then closes', (profile, expected) => {
    let f = applyDecision(
      open(T0 - 10_000),
      decide(open(T0 - 10_000), undefined, T0, MIN) ?? fail('no recovery'),
      iso(T0),
    );
    f = { ...f, circuit_recovery_profile: profile as 'linear' | 'exponential' };
    const seen = [f.circuit_recovery_percentage];
    let now = T0;
    for (;;) {
      expect(decide(f, c(100, 0), now + 4_999, MIN)).toBeUndefined(); // not due yet
      now += 5_000;
      const d = decide(f, c(100, 0), now, MIN);
      if (d === undefined) throw new Error('no step');
      f = applyDecision(f, d, iso(now));
      if (d.kind === 'close') {
        expect(f).toMatchObject({ circuit_status: 'close', circuit_recovery_percentage: 100, is_active: true });
        break;
      }
      expect(d.kind).toBe('recovery_update');
      seen.push(d.percentage);
    }
    expect(seen).toEqual(expected);
  });

  it('a due step is taken once, not once per missed interval', () => {
    const f = flag({
      circuit_status: 'recovery',
      circuit_recovery_percentage: 30,
      [CIRCUIT_CHANGED_AT]: iso(T0 - 60_000),
      [CIRCUIT_RECOVERY_CHANGED_AT]: iso(T0 - 50_000),
    });
    const d = decide(f, c(0, 0), T0, MIN);
    expect(d).toMatchObject({ kind: 'recovery_update', percentage: 50 });
    const after = applyDecision(f, d ?? fail('no step'), iso(T0));
    expect(decide(after, c(0, 0), T0 + 1, MIN)).toBeUndefined();
    expect(after[CIRCUIT_CHANGED_AT]).toBe(iso(T0 - 60_000)); // a step is no status change
  });

  it('a recovering flag that fails re-opens (trip wins over a due step)', () => {
    const f = flag({
      circuit_status: 'recovery',
      circuit_recovery_percentage: 30,
      [CIRCUIT_CHANGED_AT]: iso(T0 - 60_000),
    });
    expect(decide(f, c(5, 20), T0, MIN)).toMatchObject({ kind: 'open', from: 'recovery', to: 'open' });
  });

  it('exponential from 0 starts like linear', () => {
    expect(
      nextRecoveryPercentage(flag({ circuit_recovery_profile: 'exponential', circuit_recovery_percentage: 0 })),
    ).toBe(20);
  });
});

describe('windows start after the last transition', () => {
  it.each<[string, Partial<WireFlag>, number]>([
    ['a closed flag never tripped: the seconds that begin in the window', {}, T0 - 2_000],
    [
      'a closed flag never tripped, edited a second ago: still the plain window',
      { updated_at: iso(T0 - 1_000) },
      T0 - 2_000,
    ],
    [
      'recovery started 1.2 s ago: from the next whole second',
      { circuit_status: 'recovery', [CIRCUIT_CHANGED_AT]: iso(T0 - 1_200) },
      T0 - 1_000,
    ],
    [
      'recovery started 10 s ago: the plain window',
      { circuit_status: 'recovery', [CIRCUIT_CHANGED_AT]: iso(T0 - 10_000) },
      T0 - 2_000,
    ],
    ['closed 0.5 s ago: from the next whole second', { [CIRCUIT_CHANGED_AT]: iso(T0 - 500) }, T0],
    [
      'Tower mode (no circuit_changed_at): updated_at of a recovering flag',
      { circuit_status: 'recovery', updated_at: iso(T0 - 1_500) },
      T0 - 1_000,
    ],
  ])('%s', (_name, fields, from) => {
    expect(windowStartMs(flag(fields), T0, 3_000)).toBe(from);
  });

  it('the plain window starts at the first second that begins within it', () => {
    expect(windowStartMs(flag(), T0 + 500, 3_000)).toBe(T0 - 2_000);
    expect(windowStartMs(flag(), T0 + 999, 3_000)).toBe(T0 - 2_000);
    expect(windowStartMs(flag(), T0 + 1_000, 3_000)).toBe(T0 - 1_000);
  });

  it('sameCircuitState notices another writer', () => {
    const f = flag({ circuit_status: 'recovery', circuit_recovery_percentage: 30 });
    expect(sameCircuitState(f, { ...f, description: 'edited' })).toBe(true);
    expect(sameCircuitState(f, { ...f, circuit_recovery_percentage: 50 })).toBe(false);
    expect(sameCircuitState(f, { ...f, [CIRCUIT_RECOVERY_CHANGED_AT]: iso(T0) })).toBe(false);
  });
});

describe('Tower control messages, byte for byte', () => {
  const f = flag({ id: 42, circuit_initial_recovery_percentage: 15 });
  it.each<[string, string, string]>([
    ['open', 'circuit_open', '42'],
    ['recovery_start', 'circuit_recovery_start', '{"flagId":42,"circuitInitialRecoveryPercentage":15}'],
    ['recovery_update', 'circuit_recovery_update', '{"flagId":42,"circuitRecoveryPercentage":35}'],
    ['close', 'circuit_close', '42'],
  ])('%s', (kind, subject, payload) => {
    const message = towerMessage(
      { kind: kind as 'open', flagId: 42, from: 'close', to: 'open', percentage: 35, isActive: true },
      f,
    );
    expect(message).toEqual({ subject, payload });
  });
});

describe('TS.MRANGE replies', () => {
  it('reads RESP2 arrays, keys and bucket values', () => {
    const reply = [
      [
        '7:success',
        [],
        [
          [1000, '3'],
          [2000, '4'],
        ],
      ],
      ['7:failure', [['appId', '1']], [[2000, '5']]],
    ];
    const parsed = parseMrange(reply);
    expect(parsed.get('7:success')?.samples).toEqual([
      [1000, 3],
      [2000, 4],
    ]);
    expect(parsed.get('7:failure')?.samples).toEqual([[2000, 5]]);
    expect(parsed.get('7:failure')?.labels).toEqual(new Map([['appId', '1']]));
  });

  it('reads RESP3 maps with their labels', () => {
    const parsed = parseMrange({ '6:failure': [{ flagId: '7', appId: 1 }, [[1000, '2']]] });
    expect(parsed.get('6:failure')).toEqual({
      labels: new Map([
        ['flagId', '7'],
        ['appId', '1'],
      ]),
      samples: [[1000, 2]],
    });
  });
});

function fail(message: string): never {
  throw new Error(message);
}

describe('clock skew: a circuit time in the future counts from when the breaker first saw it', () => {
  const HOUR = 3_600_000;
  const tripped = (at: number): WireFlag =>
    flag({ is_active: false, circuit_status: 'open', rollout_percentage: 0, [CIRCUIT_CHANGED_AT]: iso(at) });

  it('a trip stamped an hour ahead recovers after its delay, not after the hour', () => {
    const warnings: string[] = [];
    const skew = new SkewGuard((m) => warnings.push(m));
    const raw = tripped(T0 + HOUR);
    // Unguarded, the delay would run from the future time: still off after the delay.
    expect(decide(raw, undefined, T0 + 11_000, MIN)).toBeUndefined();
    expect(decide(skew.view(1, raw, T0), undefined, T0, MIN)).toBeUndefined();
    expect(decide(skew.view(1, raw, T0 + 5_000), undefined, T0 + 5_000, MIN)).toBeUndefined();
    expect(decide(skew.view(1, raw, T0 + 11_000), undefined, T0 + 11_000, MIN)?.kind).toBe('recovery_start');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/flag #7 "checkout-v2" of app 1 has circuit_changed_at .*3600 s ahead/);
  });

  it('a closed flag with a future transition keeps a window that holds the present', () => {
    const skew = new SkewGuard(() => undefined);
    const raw = flag({ circuit_status: 'close', [CIRCUIT_CHANGED_AT]: iso(T0 + HOUR) });
    expect(windowStartMs(raw, T0, 60_000)).toBeGreaterThan(T0);
    expect(windowStartMs(skew.view(1, raw, T0), T0, 60_000)).toBeLessThanOrEqual(T0);
    expect(decide(skew.view(1, raw, T0), c(10, 90), T0, MIN)?.kind).toBe('open');
  });

  it('leaves present and past times alone, and the same object when nothing is ahead', () => {
    const skew = new SkewGuard(() => {
      throw new Error('no warning expected');
    });
    const f = tripped(T0 - 1_000);
    expect(skew.view(1, f, T0)).toBe(f);
    const slightlyAhead = tripped(T0 + 500);
    expect(skew.view(1, slightlyAhead, T0)).toBe(slightlyAhead);
  });

  it('a new future value counts from its own first sighting; one warning per flag', () => {
    const warnings: string[] = [];
    const skew = new SkewGuard((m) => warnings.push(m));
    skew.view(1, tripped(T0 + HOUR), T0);
    const later = skew.view(1, tripped(T0 + 2 * HOUR), T0 + 30_000);
    expect(later[CIRCUIT_CHANGED_AT]).toBe(iso(T0 + 30_000));
    expect(sameCircuitState(later, skew.view(1, tripped(T0 + 2 * HOUR), T0 + 31_000))).toBe(true);
    expect(warnings).toHaveLength(1);
  });
});
