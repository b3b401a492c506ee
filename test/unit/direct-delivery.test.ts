import type { StreamInfo } from 'nats';
import { LIVE_REPUBLISH } from '../../src/nats/subjects';
import { chooseDelivery, republishedSubject } from '../../src/sources/jetstream-direct';

describe('republishedSubject', () => {
  test.each([
    [LIVE_REPUBLISH, 'apps.7.update.manual', 'tailslide.live.apps.7.update.manual'],
    [LIVE_REPUBLISH, 'apps.7.update.*', 'tailslide.live.apps.7.update.*'],
    [LIVE_REPUBLISH, 'apps.7.other', undefined],
    [LIVE_REPUBLISH, 'apps.7.update.manual.x', undefined],
    [{ src: 'apps.>', dest: 'live.apps.>' }, 'apps.7.update.*', 'live.apps.7.update.*'],
    [{ src: '>', dest: 'copy.>' }, 'apps.7.update.circuit', 'copy.apps.7.update.circuit'],
    [{ src: 'apps.1.update.*', dest: 'x.{{wildcard(1)}}' }, 'apps.2.update.manual', undefined],
    [{ src: 'apps.*.update.*', dest: 'x.{{wildcard(3)}}' }, 'apps.2.update.manual', undefined],
  ])('%j maps %s to %s', (republish, subject, expected) => {
    expect(republishedSubject(republish, subject)).toBe(expected);
  });
});

describe('chooseDelivery', () => {
  const info = (config: Partial<StreamInfo['config']>): StreamInfo =>
    ({ config: { name: 'flags_ruleset', subjects: ['apps.7.update.manual'], ...config } }) as unknown as StreamInfo;
  const ready = { republish: { ...LIVE_REPUBLISH }, allow_direct: true };

  test('direct when RePublish covers the app and direct get is allowed', () => {
    expect(chooseDelivery('auto', info(ready), 7)).toEqual({
      kind: 'direct',
      subject: 'tailslide.live.apps.7.update.*',
    });
  });
  test.each([
    [{ allow_direct: true }, /no RePublish/],
    [{ ...ready, allow_direct: false }, /does not allow direct get/],
    [{ ...ready, republish: { ...LIVE_REPUBLISH, headers_only: true } }, /headers only/],
    [{ ...ready, republish: { src: 'apps.8.update.*', dest: 'x.{{wildcard(1)}}' } }, /not the subjects of app 7/],
  ])('a consumer, with why, for %j', (config, why) => {
    const choice = chooseDelivery('auto', info(config), 7);
    expect(choice.kind).toBe('consumer');
    expect(choice.kind === 'consumer' ? choice.why : '').toMatch(why);
  });
  test('consumer mode never looks', () => {
    expect(chooseDelivery('consumer', info(ready), 7)).toEqual({ kind: 'consumer', why: undefined });
  });
});
