/**
 * The admin library on an app whose ruleset holds a flag it cannot validate, as Tower publishes
 * one (Tower accepts an empty title): it reads the app, edits other flags keeping the bad flag byte
 * for byte in its position, fixes the bad flag by id when the edit makes it valid, and refuses an
 * edit that leaves it invalid, naming the field. A real nats-server of the test's own.
 */
import { connect, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { FlagAdmin, InvalidFlagValueError, type RulesetUpdate } from '../../src/admin';
import { arrayElementTexts } from '../../src/admin/raw-json';
import { InvalidRulesetError } from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { NatsServer } from '../support/servers';
import { waitFor, wireFlag } from '../support/flags';

const STREAM = 'flags_ruleset';

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let admin: FlagAdmin;
let nextApp = 300;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
  admin = new FlagAdmin({ nats: { servers: server.url, stream: STREAM }, logger: silentLogger });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await nc?.close();
  await server?.dispose();
});

/** Tower's ruleset text for an app: the untitled flag second, written with Tower's spacing and a float. */
function towerText(appId: number): { text: string; untitled: string } {
  const first = JSON.stringify(wireFlag({ id: 1, app_id: appId, title: 'checkout-v2', rollout_percentage: 30 }));
  // Not what JSON.stringify would write back: key order, spacing, 0.0 and an escaped character.
  const untitled = `{ "title": "", "id": 2, "app_id": ${appId}, "is_active": true, "rollout_percentage": 0.0, "description": "caf\\u00e9" }`;
  const third = JSON.stringify(wireFlag({ id: 3, app_id: appId, title: 'search', rollout_percentage: 100 }));
  return { text: `[${first}, ${untitled},${third}]`, untitled };
}

async function publishTower(appId: number): Promise<string> {
  const { text, untitled } = towerText(appId);
  await nc.jetstream().publish(`apps.${appId}.update.manual`, new TextEncoder().encode(text));
  return untitled;
}

async function lastText(appId: number): Promise<string> {
  const msg = await jsm.streams.getMessage(STREAM, { last_by_subj: `apps.${appId}.update.manual` });
  return new TextDecoder().decode(msg.data);
}

describe('an app with a flag that fails validation', () => {
  it('is read flag by flag: the bad flag is listed with why, in its position', async () => {
    const appId = nextApp++;
    const untitled = await publishTower(appId);
    const snapshot = await admin.readRuleset(appId);
    expect(snapshot?.flags.map((f) => f.title)).toEqual(['checkout-v2', 'search']);
    expect(snapshot?.invalid).toEqual([
      expect.objectContaining({
        index: 1,
        id: 2,
        title: '',
        json: untitled,
        issues: [expect.objectContaining({ field: 'title', message: 'must be a non-empty string, got ""' })],
      }),
    ]);
    expect(snapshot?.all.map((f) => (f as { id: number }).id)).toEqual([1, 2, 3]);
  });

  it('keeps the bad flag byte for byte when another flag is edited, created or deleted', async () => {
    const appId = nextApp++;
    const untitled = await publishTower(appId);
    await admin.setRollout(appId, 'checkout-v2', 50);
    let elements = arrayElementTexts(await lastText(appId));
    expect(elements?.[1]).toBe(untitled);
    expect(JSON.parse(elements?.[0] ?? 'null')).toMatchObject({ title: 'checkout-v2', rollout_percentage: 50 });

    await admin.createFlag(appId, { title: 'dark-mode' });
    await admin.deleteFlag(appId, 'search');
    await admin.setActive(appId, 'dark-mode', true);
    elements = arrayElementTexts(await lastText(appId));
    expect(elements?.map((e) => (JSON.parse(e) as { title: string }).title)).toEqual(['checkout-v2', '', 'dark-mode']);
    expect(elements?.[1]).toBe(untitled);
  });

  it('fixes the bad flag by id when the edit makes it valid, in its position', async () => {
    const appId = nextApp++;
    await publishTower(appId);
    const outcome = await admin.updateFlag(appId, 2, { title: 'named-at-last' });
    expect(outcome.published).toBe(true);
    const snapshot = await admin.readRuleset(appId);
    expect(snapshot?.invalid).toEqual([]);
    expect(snapshot?.flags.map((f) => f.title)).toEqual(['checkout-v2', 'named-at-last', 'search']);
    // Its other fields are as they were, its unknown ones too.
    expect(snapshot?.flags[1]).toMatchObject({ id: 2, is_active: true, rollout_percentage: 0, description: 'café' });
  });

  it('refuses an edit of the bad flag that leaves it invalid, naming the field', async () => {
    const appId = nextApp++;
    await publishTower(appId);
    const before = await lastText(appId);
    const refused = admin.setRollout(appId, 2, 40);
    const err = (await refused.catch((e: unknown) => e)) as InvalidFlagValueError;
    expect(err).toBeInstanceOf(InvalidFlagValueError);
    expect(err.field).toBe('title');
    expect(err.message).toContain('field "title" is still invalid after this edit: must be a non-empty string');
    expect(await lastText(appId)).toBe(before);
  });

  it('deletes the bad flag by id', async () => {
    const appId = nextApp++;
    await publishTower(appId);
    await admin.deleteFlag(appId, 2);
    const snapshot = await admin.readRuleset(appId);
    expect(snapshot?.invalid).toEqual([]);
    expect(snapshot?.flags.map((f) => f.id)).toEqual([1, 3]);
  });

  it('keeps publishRuleset strict: a file with an empty title is refused', async () => {
    const appId = nextApp++;
    await publishTower(appId);
    const refused = admin.publishRuleset(appId, [wireFlag({ id: 9, app_id: appId, title: '' })]);
    await expect(refused).rejects.toBeInstanceOf(InvalidRulesetError);
  });

  it('is watched as SDKs apply it: the valid flags, and the bad one reported once', async () => {
    const appId = nextApp++;
    await publishTower(appId);
    const updates: RulesetUpdate[] = [];
    const stop = admin.watch(appId, (u) => updates.push(u));
    await waitFor(() => updates.length >= 1, 'the initial ruleset');
    expect(updates[0]?.flags?.map((f) => f.title)).toEqual(['checkout-v2', 'search']);
    expect(updates[0]?.invalidFlags).toEqual([expect.objectContaining({ index: 1, id: 2, field: 'title' })]);
    await admin.setRollout(appId, 'search', 10);
    await waitFor(() => updates.length >= 2, 'the rollout change');
    expect(updates[1]?.invalidFlags).toEqual([]);
    expect(updates[1]?.diff.changed.map((c) => c.title)).toEqual(['search']);
    await stop();
  });
});
