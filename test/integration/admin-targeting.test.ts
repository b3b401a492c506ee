/**
 * The admin library keeps a flag's targeting fields as they were written through every edit that
 * does not touch them (on/off, rollout, whitelist, circuit, update), unknown fields inside rules
 * included, and edits them through the guarded read-modify-write. A real nats-server of its own.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagAdmin, InvalidFlagValueError } from '../../src/admin';
import { silentLogger } from '../../src/logger';
import { NatsServer } from '../support/servers';
import { wireFlag } from '../support/flags';

const STREAM = 'flags_ruleset';
let server: NatsServer;
let nc: NatsConnection;
let admin: FlagAdmin;

const TARGETING = {
  variations: ['control', { layout: 'annual', discount: 0.2 }, 'monthly-first'],
  off_variation: 0,
  targets: [{ variation: 2, values: ['qa-1'] }],
  rules: [
    {
      id: 'eu',
      description: 'written by a dashboard: a field this SDK does not know',
      clauses: [{ attribute: 'country', op: 'in', values: ['NL'], negate: false }],
      serve: { split: [{ variation: 1, weight: 100000 }], bucket_by: 'key' },
    },
  ],
  fallthrough: { variation: 0 },
};

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
  await nc
    .jetstream()
    .publish('apps.1.update.manual', JSON.stringify([wireFlag({ id: 1, title: 'pricing-page', ...TARGETING })]));
  admin = new FlagAdmin({ nats: { servers: server.url, stream: STREAM }, logger: silentLogger });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await nc?.close();
  await server?.dispose();
});

function targetingOf(flag: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(TARGETING).map((field) => [field, flag[field]]));
}

describe('targeting fields through the admin library', () => {
  it('are kept as written by edits of other fields', async () => {
    await admin.setActive(1, 'pricing-page', false);
    await admin.setRollout(1, 'pricing-page', 40);
    await admin.addWhitelistedUsers(1, 'pricing-page', ['alice']);
    await admin.setCircuit(1, 'pricing-page', { error_threshold_percentage: 20 });
    await admin.updateFlag(1, 'pricing-page', { description: 'x', title: 'pricing' });
    const flag = await admin.getFlag(1, 1);
    expect(targetingOf(flag)).toEqual(TARGETING);
    expect(flag).toMatchObject({ is_active: false, rollout_percentage: 40, white_listed_users: 'alice' });
  });

  it('are edited one by one, the others kept', async () => {
    await admin.setVariations(1, 1, { fallthrough: { split: [{ variation: 0, weight: 100000 }] } });
    await admin.addTargets(1, 1, 1, ['qa-1', 'qa-2']);
    let flag = await admin.getFlag(1, 1);
    expect(flag.targets).toEqual([{ variation: 1, values: ['qa-1', 'qa-2'] }]);
    expect(flag.rules).toEqual(TARGETING.rules);
    await admin.removeTargets(1, 1, ['qa-1']);
    await admin.setRules(1, 1, []);
    flag = await admin.getFlag(1, 1);
    expect(flag).toMatchObject({ variations: TARGETING.variations, targets: [{ variation: 1, values: ['qa-2'] }] });
    expect(flag).not.toHaveProperty('rules');
  });

  it('are refused naming the rule and clause, nothing published', async () => {
    const before = await admin.readRuleset(1);
    const bad = [{ id: 'x', clauses: [{ attribute: 'a', op: 'matches', values: ['(a'] }], serve: { variation: 0 } }];
    const err = (await admin.setRules(1, 1, bad).catch((e: unknown) => e)) as InvalidFlagValueError;
    expect(err).toBeInstanceOf(InvalidFlagValueError);
    expect(err.field).toBe('rules[0].clauses[0].values[0]');
    expect(err.message).toContain('does not compile');
    expect((await admin.readRuleset(1))?.sequence).toBe(before?.sequence);
  });

  it('are kept as written by publishRuleset', async () => {
    await admin.publishRuleset(2, [
      { id: 50, title: 'from-file', is_active: true, rollout_percentage: 100, ...TARGETING },
    ]);
    expect(targetingOf(await admin.getFlag(2, 50))).toEqual(TARGETING);
  });
});
