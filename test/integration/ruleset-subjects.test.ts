/**
 * Only `apps.<id>.update.manual` and `apps.<id>.update.circuit` carry rulesets: a message on any
 * other `apps.<id>.update.<x>` (which the consumer's `apps.<id>.update.*` filter lets through) is
 * ignored with one debug line, whether it comes in the initial batch or later. Real nats-server.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager } from '../../src/index';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';
import { NatsServer, sleep } from '../support/servers';

let server: NatsServer;
let nc: NatsConnection;
const managers: FlagManager[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'], storage: StorageType.File });
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

afterAll(async () => {
  await nc.close();
  await server.dispose();
});

async function publish(appId: number, kind: string, description: string): Promise<void> {
  const ruleset = JSON.stringify([wireFlag({ id: appId, app_id: appId, title: 'subject-flag', description })]);
  await nc.jetstream().publish(`apps.${appId}.update.${kind}`, new TextEncoder().encode(ruleset));
}

function manager(appId: number, logger: RecordingLogger): FlagManager {
  const m = new FlagManager({ natsServer: server.url, appId, logger, signalBackend: 'off', initTimeoutMs: 3_000 });
  managers.push(m);
  return m;
}

test('a ruleset on another subject, last in the initial batch and later: ignored, logged once, ready on the real one', async () => {
  await publish(1, 'manual', 'manual-1');
  await publish(1, 'other', 'other-1'); // newest in the stream, and last of the initial batch
  const logger = new RecordingLogger();
  const m = manager(1, logger);
  const updates: string[] = [];
  m.on('update', () => updates.push(m.getFlag('subject-flag')?.description ?? '?'));
  await m.initialize();
  expect(m.state).toBe('ready');
  expect(m.getFlag('subject-flag')?.description).toBe('manual-1');

  await publish(1, 'other', 'other-2');
  await publish(1, 'bogus', 'bogus-1');
  await publish(1, 'circuit', 'circuit-1');
  await waitFor(() => updates.length > 0, 'the circuit ruleset');
  await sleep(200);
  expect(updates).toEqual(['circuit-1']);
  expect(logger.matching('debug', /^ignoring messages on apps\.1\.update\.other/)).toHaveLength(1);
  expect(logger.matching('debug', /^ignoring messages on apps\.1\.update\.bogus/)).toHaveLength(1);
  expect(logger.matching('warn', /./)).toEqual([]);
});

test('only messages on other subjects: not ready, and the wait says why', async () => {
  await publish(2, 'other', 'other-1');
  const logger = new RecordingLogger();
  const m = manager(2, logger);
  await m.initialize();
  expect(m.initialized).toBe(false);
  expect(m.getFlag('subject-flag')).toBeUndefined();
  expect(m.waitingFor).toMatch(/no ruleset published yet for app 2 .*not rulesets, such as apps\.2\.update\.other/);

  await publish(2, 'manual', 'manual-1');
  await waitFor(() => m.initialized, 'ready on the manual ruleset');
  expect(m.getFlag('subject-flag')?.description).toBe('manual-1');
});
