import {
  describeRefusal,
  isOptionalPermission,
  permissionRefusal,
  refusedSubjectPattern,
} from '../../src/nats/permissions';

describe('refusedSubjectPattern', () => {
  it('replaces the random part of an inbox', () => {
    expect(refusedSubjectPattern('_INBOX.tailslide.2.QRCSXOD3Q1JGPHTU1QQICR.*')).toBe('_INBOX.tailslide.2.>');
    expect(refusedSubjectPattern('_INBOX.QRCSXOD3Q1JGPHTU1QQICR')).toBe('_INBOX.>');
  });

  it("replaces a consumer's name, ours or the server's", () => {
    expect(refusedSubjectPattern('$JS.API.CONSUMER.MSG.NEXT.flags_ruleset.tailslide_1_cad3203fe60c')).toBe(
      '$JS.API.CONSUMER.MSG.NEXT.flags_ruleset.*',
    );
    expect(refusedSubjectPattern('$JS.API.CONSUMER.INFO.flags_ruleset.Xk2mPq7RvT9wZy4Nb8Lc3d')).toBe(
      '$JS.API.CONSUMER.INFO.flags_ruleset.*',
    );
    expect(
      refusedSubjectPattern('$JS.API.CONSUMER.CREATE.flags_ruleset.tailslide_2_0123456789ab.apps.2.update.*'),
    ).toBe('$JS.API.CONSUMER.CREATE.flags_ruleset.*.apps.2.update.*');
  });

  it('leaves subjects without random parts alone', () => {
    expect(refusedSubjectPattern('$JS.API.STREAM.INFO.flags_ruleset')).toBe('$JS.API.STREAM.INFO.flags_ruleset');
    expect(refusedSubjectPattern('$JS.API.CONSUMER.CREATE.flags_ruleset')).toBe(
      '$JS.API.CONSUMER.CREATE.flags_ruleset',
    );
    expect(refusedSubjectPattern('apps.1.update.manual')).toBe('apps.1.update.manual');
  });
});

describe('permissionRefusal', () => {
  it('reads the permission context of a nats error or status', () => {
    expect(
      permissionRefusal({
        permissionContext: { operation: 'publish', subject: '$JS.API.CONSUMER.MSG.NEXT.s.tailslide_1_cad3203fe60c' },
      }),
    ).toEqual({ operation: 'publish', subject: '$JS.API.CONSUMER.MSG.NEXT.s.*' });
  });

  it('falls back on the message of a PERMISSIONS_VIOLATION', () => {
    const err = Object.assign(new Error(`'Permissions Violation for Subscription to "_INBOX.tailslide.1.ABC.*"'`), {
      code: 'PERMISSIONS_VIOLATION',
    });
    expect(permissionRefusal(err)).toEqual({ operation: 'subscribe', subject: '_INBOX.tailslide.1.>' });
  });

  it('is undefined for anything else', () => {
    expect(permissionRefusal(new Error('TIMEOUT'))).toBeUndefined();
    expect(permissionRefusal(Object.assign(new Error('x'), { code: 'PERMISSIONS_VIOLATION' }))).toBeUndefined();
    expect(permissionRefusal(undefined)).toBeUndefined();
  });
});

describe('describeRefusal', () => {
  it('names the user, the operation, the subject and what it is for', () => {
    expect(describeRefusal({ operation: 'publish', subject: '$JS.API.CONSUMER.MSG.NEXT.s.*' }, 'app1')).toBe(
      'the NATS server refuses NATS user "app1" permission to publish to "$JS.API.CONSUMER.MSG.NEXT.s.*", ' +
        "needed to pull the app's rulesets from its consumer: allow it in the user's publish permissions (docs/permissions.md)",
    );
    expect(describeRefusal({ operation: 'subscribe', subject: '_INBOX.>' }, undefined)).toMatch(
      /^the NATS server refuses this connection permission to subscribe to "_INBOX.>"/,
    );
  });

  it('treats the consumer deletion as optional', () => {
    expect(isOptionalPermission({ operation: 'publish', subject: '$JS.API.CONSUMER.DELETE.s.*' })).toBe(true);
    expect(isOptionalPermission({ operation: 'publish', subject: '$JS.API.CONSUMER.INFO.s.*' })).toBe(false);
  });
});
