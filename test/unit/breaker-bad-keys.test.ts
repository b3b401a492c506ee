import {
  BadKeyLog,
  notANumberReason,
  parseCount,
  seriesIdentity,
  wrongTypeReason,
  type BadKey,
} from '../../src/breaker/bad-keys';

const labels = (pairs: Record<string, string>): Map<string, string> => new Map(Object.entries(pairs));

describe('parseCount', () => {
  it.each([
    ['12', 12],
    ['0', 0],
    ['-3', -3],
    ['1.5', 1.5],
    ['', undefined],
    [' ', undefined],
    ['abc', undefined],
    ['12abc', undefined],
    ['Infinity', undefined],
    ['NaN', undefined],
  ])('%j → %j', (raw, expected) => {
    expect(parseCount(raw)).toBe(expected);
  });
});

describe('reasons', () => {
  it('name the type, or the field and its value (quoted, cut short)', () => {
    expect(wrongTypeReason('string')).toBe('holds a string, not a hash');
    expect(notANumberReason('12', 'abc')).toBe('field 12 holds "abc", not a number');
    expect(notANumberReason('3', 'x'.repeat(100))).toBe(`field 3 holds "${'x'.repeat(40)}…", not a number`);
  });
});

describe('seriesIdentity: key name against labels', () => {
  it('a key and labels that agree is a signal series', () => {
    expect(seriesIdentity('6:failure', labels({ appId: '1', flagId: '6', status: 'failure' }))).toEqual({
      kind: 'signal',
      flagId: 6,
      status: 'failure',
    });
  });

  it('absent labels are no contradiction', () => {
    expect(seriesIdentity('6:success', labels({ appId: '1' }))).toEqual({
      kind: 'signal',
      flagId: 6,
      status: 'success',
    });
  });

  it('labels naming another flag: bad, for both flags, its own (the name) first', () => {
    const identity = seriesIdentity('6:failure', labels({ appId: '1', flagId: '7', status: 'failure' }));
    expect(identity).toEqual({
      kind: 'bad',
      flagIds: [6, 7],
      reason: 'its name says flag 6 failure but its labels say flagId 7; counted for neither',
    });
  });

  it('labels naming another status: bad, for its own flag', () => {
    expect(seriesIdentity('6:failure', labels({ flagId: '6', status: 'success' }))).toMatchObject({
      kind: 'bad',
      flagIds: [6],
    });
  });

  it('a name that is no signal key: bad when its labels name a flag, else not ours', () => {
    expect(seriesIdentity('checkout', labels({ appId: '1', flagId: '7' }))).toMatchObject({
      kind: 'bad',
      flagIds: [7],
    });
    expect(seriesIdentity('checkout', labels({ appId: '1' }))).toEqual({ kind: 'other' });
    expect(seriesIdentity('6:failure:x', labels({ appId: '1' }))).toEqual({ kind: 'other' });
  });
});

describe('BadKeyLog', () => {
  const key = (flagId: number | undefined, name: string, reason = 'holds a string, not a hash'): BadKey => ({
    flagId,
    key: name,
    reason,
  });

  it('says a bad key once, holds its flag, says when it is fixed, and again when it breaks again', () => {
    const said: string[] = [];
    const log = new BadKeyLog(
      (bad) => said.push(`bad ${bad.key}`),
      (name, flagId, stillHeld) => said.push(`fixed ${name} #${String(flagId)} ${stillHeld ? 'held' : 'judged'}`),
    );
    expect([...log.update([key(6, 'a')])]).toEqual([6]);
    expect([...log.update([key(6, 'a')])]).toEqual([6]);
    expect(said).toEqual(['bad a']);
    expect([...log.update([key(6, 'a', 'field 1 holds "x", not a number')])]).toEqual([6]);
    expect(said).toEqual(['bad a', 'bad a']);
    expect([...log.update([])]).toEqual([]);
    expect(said).toEqual(['bad a', 'bad a', 'fixed a #6 judged']);
    log.update([key(6, 'a')]);
    expect(said).toHaveLength(4);
    expect(log.size).toBe(1);
  });

  it('a flag with two bad keys stays held until both are fixed; a key of no flag holds none', () => {
    const fixed: string[] = [];
    const log = new BadKeyLog(
      () => undefined,
      (name, _flagId, stillHeld) => fixed.push(`${name}:${String(stillHeld)}`),
    );
    expect([...log.update([key(6, 'a'), key(6, 'b'), key(undefined, 'c')])]).toEqual([6]);
    expect([...log.update([key(6, 'b')])]).toEqual([6]);
    expect(fixed).toEqual(['a:true', 'c:false']);
  });
});
