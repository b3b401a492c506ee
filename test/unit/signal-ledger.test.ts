/** The sink's counts (accepted = written + pending + dropped + unknown), the batch kept in doubt, once-per-key lines. */
import { Batch } from '../../src/signals/batch';
import { RESEND_HORIZON_MS } from '../../src/signals/batch-script';
import { SignalBuffer, type SignalSeries } from '../../src/signals/buffer';
import { InDoubt } from '../../src/signals/in-doubt';
import { SignalLedger } from '../../src/signals/ledger';
import { OnceLog } from '../../src/signals/once-log';
import type { Logger } from '../../src/logger';

const series: SignalSeries = { kind: 'signal', flagId: 1, appId: 2, status: 'success' };

function accounted(ledger: SignalLedger): number {
  const s = ledger.stats('native');
  return s.written + s.pending + s.dropped + s.unknown;
}

describe('SignalLedger', () => {
  test('a batch in flight stays pending until it lands, and the sum stays the accepted count', () => {
    const buffer = new SignalBuffer(100);
    const ledger = new SignalLedger(buffer);
    for (let ms = 0; ms < 5; ms++) buffer.add(series, ms, 2);
    const taken = buffer.take(3); // 6 events leave the buffer
    const flight = ledger.launch(6);
    expect(ledger.stats('native')).toMatchObject({ pending: 10, written: 0 });
    expect(accounted(ledger)).toBe(10);
    ledger.land(flight);
    ledger.written += 4;
    buffer.discard(taken.slice(2));
    expect(ledger.stats('native')).toMatchObject({ written: 4, pending: 4, dropped: 2, unknown: 0 });
    expect(accounted(ledger)).toBe(10);
  });

  test('abandonAll moves what is in flight to unknown once; landing an abandoned flight changes nothing', () => {
    const ledger = new SignalLedger(new SignalBuffer(10));
    const a = ledger.launch(3);
    ledger.launch(4);
    expect(ledger.abandonAll()).toBe(7);
    expect(ledger.abandonAll()).toBe(0);
    expect(ledger.stats('native')).toMatchObject({ pending: 0, unknown: 7 });
    ledger.land(a);
    expect(ledger.stats('native')).toMatchObject({ pending: 0, unknown: 7 });
  });
});

describe('InDoubt', () => {
  const entries = [{ series, atMs: 1, count: 1, sum: 1 }];
  const batch = (firstSentMs: number): Batch =>
    new Batch('id', entries, [{ name: 'HINCRBY', args: ['k', '0', 1], owner: 0 }], 1, firstSentMs, false);

  test('keeps one batch; release forgets only that batch; take empties it', () => {
    const doubt = new InDoubt();
    const kept = batch(0);
    doubt.keep(kept, { events: 1, abandoned: false });
    doubt.release(batch(0));
    expect(doubt.current?.batch).toBe(kept);
    doubt.release(kept);
    expect(doubt.current).toBeUndefined();
    doubt.keep(kept, { events: 1, abandoned: false });
    expect(doubt.take()?.batch).toBe(kept);
    expect(doubt.take()).toBeUndefined();
  });

  test('past the resend horizon only when Redis may have applied the batch', () => {
    const doubt = new InDoubt();
    const kept = batch(1_000);
    doubt.keep(kept, { events: 1, abandoned: false });
    const late = 1_000 + RESEND_HORIZON_MS + 1;
    expect(doubt.pastHorizon(late)).toBe(false); // never reached Redis: safe to resend
    const group = kept.groups[0];
    if (group) group.maybeRun = true;
    expect(doubt.pastHorizon(1_000 + RESEND_HORIZON_MS)).toBe(false);
    expect(doubt.pastHorizon(late)).toBe(true);
  });
});

describe('OnceLog', () => {
  test('one line per key up to the limit; a forgotten key is said again', () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (m) => lines.push(`warn ${m}`),
      error: (m) => lines.push(`error ${m}`),
    };
    const once = new OnceLog(logger, 2);
    once.warn('a', 'A');
    once.warn('a', 'A again');
    once.error('b', 'B');
    once.warn('c', 'C'); // past the limit
    once.forget('a');
    once.error('a', 'A later');
    expect(lines).toEqual(['warn A', 'error B', 'error A later']);
  });
});
