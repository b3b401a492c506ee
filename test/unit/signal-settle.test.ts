/** Settling a MULTI/EXEC reply into written / retried / refused entries, and a failed EXEC into an outcome. */
import type { PlannedCommand } from '../../src/signals/backend';
import type { BufferEntry, SignalSeries } from '../../src/signals/buffer';
import { checkEvent } from '../../src/signals/event';
import { settleFailure, settleReplies } from '../../src/signals/settle';

function replyError(message: string, previous?: string[]): Error {
  const error = new Error(message) as Error & { previousErrors?: Error[] };
  error.name = 'ReplyError';
  if (previous) error.previousErrors = previous.map((m) => replyError(m));
  return error;
}

const series: SignalSeries = { kind: 'signal', flagId: 1, appId: 2, status: 'success' };
const entry = (atMs: number, count: number): BufferEntry => ({ series, atMs, count, sum: count });
const cmd = (owner: number): PlannedCommand => ({ name: 'X', args: [], owner });

describe('settleReplies', () => {
  const batch = [entry(1, 10), entry(2, 20), entry(3, 30)];
  const commands = [cmd(0), cmd(1), cmd(1), cmd(2), cmd(-1)];

  test('all replies fine: every entry written', () => {
    const out = settleReplies(
      batch,
      commands,
      commands.map(() => [null, 1]),
    );
    expect(out.written).toEqual(batch);
    expect(out.retry).toEqual([]);
    expect(out.refused).toEqual([]);
    expect(out.housekeeping).toEqual([]);
  });

  test('one failed command of an entry fails the entry; a refusal drops it, a passing error retries it', () => {
    const wrongType = replyError('WRONGTYPE Operation against a key holding the wrong kind of value');
    const oom = replyError('OOM command not allowed when used memory > maxmemory');
    const out = settleReplies(batch, commands, [
      [null, 1],
      [null, 1],
      [wrongType, null],
      [oom, null],
      [null, 1],
    ]);
    expect(out.written).toEqual([batch[0]]);
    expect(out.refused).toEqual([{ entry: batch[1], error: wrongType }]);
    expect(out.retry).toEqual([batch[2]]);
    expect(out.retryError).toBe(oom);
  });

  test('a failed housekeeping command loses no event', () => {
    const error = replyError('ERR something about expiry');
    const out = settleReplies(batch, commands, [
      [null, 1],
      [null, 1],
      [null, 1],
      [null, 1],
      [error, null],
    ]);
    expect(out.written).toEqual(batch);
    expect(out.housekeeping).toEqual([error]);
  });

  test('a missing reply retries the entry, never counts it written', () => {
    const out = settleReplies(batch, commands, [[null, 1]]);
    expect(out.written).toEqual([batch[0]]);
    expect(out.retry).toEqual([batch[1], batch[2]]);
  });
});

describe('settleFailure', () => {
  const noperm = replyError('EXECABORT Transaction discarded because of previous errors.', [
    "NOPERM this user has no permissions to run the 'hincrby' command",
  ]);
  const loading = replyError('EXECABORT Transaction discarded because of previous errors.', [
    'LOADING Redis is loading the dataset in memory',
  ]);
  const closed = new Error('Connection is closed.');
  const unsent = new Error("Stream isn't writeable and enableOfflineQueue options is false");

  const timeout = new Error('Command timed out');

  test.each([
    ['a refusal (NOPERM): nothing ran, nothing will', noperm, 'refused'],
    ['a script refused as a whole (an error in our Lua)', replyError('ERR user_script:1: oops'), 'refused'],
    ['a passing reply error (LOADING): nothing ran', loading, 'not-run'],
    [
      'OOM refusing the script before it ran',
      replyError('OOM command not allowed when used memory > maxmemory'),
      'not-run',
    ],
    ['refused credentials', replyError('NOAUTH Authentication required.'), 'not-run'],
    ['never sent (stream not writable)', unsent, 'not-run'],
    ['a lost connection after sending: maybe run', closed, 'in-doubt'],
    ['a command timeout: maybe run', timeout, 'in-doubt'],
  ])('%s → %s', (_what, error, outcome) => {
    expect(settleFailure(error)).toBe(outcome);
  });
});

describe('checkEvent (the one validation step of record and recordMetric)', () => {
  test('valid signal and metric', () => {
    expect(checkEvent({ kind: 'signal', flagId: 1, appId: 2, status: 'failure' })).toEqual({
      ok: true,
      kind: 'signal',
      flagId: 1,
      appId: 2,
      status: 'failure',
    });
    expect(checkEvent({ kind: 'metric', flagId: 1, appId: 2, eventName: 'a b', variant: 'on', value: 3 })).toEqual({
      ok: true,
      kind: 'metric',
      flagId: 1,
      appId: 2,
      token: 'a%20b',
      variant: 'on',
      value: 3,
    });
  });

  test.each([
    [{ kind: 'signal', flagId: -1, appId: 2, status: 'success' }, /flag id -1/],
    [{ kind: 'signal', flagId: 1, appId: 1.5, status: 'success' }, /app id 1.5/],
    [{ kind: 'signal', flagId: 1, appId: 2, status: 'ok' }, /status ok/],
    [{ kind: 'metric', flagId: 1, appId: 2, eventName: 'x', variant: 'maybe', value: 1 }, /variant maybe/],
    [{ kind: 'metric', flagId: 1, appId: 2, eventName: '  ', variant: 'on', value: 1 }, /invalid event name/],
    [{ kind: 'metric', flagId: 1, appId: 2, eventName: 'x', variant: 'on', value: Number.NaN }, /not a finite/],
  ] as const)('%j is refused with a message naming it', (input, message) => {
    const out = checkEvent(input);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.message).toMatch(message);
  });
});
