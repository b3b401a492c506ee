/**
 * Least privilege on NATS: a nats-server started with the users of docs/permissions.md (the
 * configuration block is read from the page itself, so the page cannot drift from what works).
 * A manager user confined to app 1 serves app 1 and is refused app 2 with one clear warning; a
 * missing permission is named once, without random parts, and retried slowly (the server's own
 * counters, from its monitoring endpoint, show no storm); the admin and breaker users do their work.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { FlagAdmin } from '../../src/admin';
import { FlagManager } from '../../src/index';
import { silentLogger } from '../../src/logger';
import { RecordingLogger, waitFor } from '../support/flags';
import { totalConnections } from '../support/nats-monitor';
import { NatsServer, sleep } from '../support/servers';

const STREAM = 'flags_ruleset';
const DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'permissions.md'), 'utf8');

/** The ```conf block of docs/permissions.md. */
function documentedConfig(): string {
  const match = /```conf\n([\s\S]*?)```/.exec(DOC);
  if (!match?.[1]) throw new Error('docs/permissions.md has no ```conf block');
  return match[1];
}

/** The password the documentation gives a user. */
function passwordOf(config: string, user: string): string {
  const match = new RegExp(`user: "${user}", password: "([^"]+)"`).exec(config);
  if (!match?.[1]) throw new Error(`no user ${user} in the documented config`);
  return match[1];
}

/** The publish allow list the documentation gives a user. */
function publishListOf(config: string, user: string): string[] {
  const start = config.indexOf(`user: "${user}"`);
  const block = /publish: \{ allow: \[([\s\S]*?)\] \}/.exec(config.slice(start));
  return [...(block?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '');
}

/** Extra users for the refusal cases, derived from the documented manager of app 1. */
function testUsers(config: string): string {
  const manager = publishListOf(config, 'app1_manager');
  const user = (name: string, publish: string[], subscribe: string[]): string =>
    `{ user: "${name}", password: "pw", permissions: { publish: { allow: ${JSON.stringify(publish)} }, ` +
    `subscribe: { allow: ${JSON.stringify(subscribe)} } } }`;
  return [
    // The looser inbox permission the page mentions.
    user('app1_wide_inbox', manager, ['_INBOX.>']),
    // Without the pull.
    user(
      'app1_no_pull',
      manager.filter((s) => !s.includes('MSG.NEXT')),
      ['_INBOX.tailslide.1.>'],
    ),
  ].join(',\n');
}

let server: NatsServer;
let config: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  config = documentedConfig();
  const withTestUsers = config.replace(/\}\s*\]\s*\}\s*$/, `},\n${testUsers(config)}\n] }\n`);
  server = await NatsServer.start({ extraConfig: withTestUsers, monitorPort: 0 });
  // The admin user makes the stream and a flag in apps 1 and 2.
  const admin = await adminFor('tailslide_admin');
  await admin.ensureStream({ appId: 1 });
  await admin.createFlag(1, { title: 'app1-flag' });
  await admin.createFlag(2, { title: 'app2-flag' });
  await admin.close();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await server.dispose();
});

async function adminFor(user: string): Promise<FlagAdmin> {
  const admin = new FlagAdmin({
    nats: { servers: server.url, stream: STREAM, user, password: passwordOf(config, user) },
    logger: silentLogger,
  });
  await admin.connect();
  return admin;
}

function managerFor(user: string, appId: number, password = passwordOf(config, user)) {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer: server.url,
    natsUser: user,
    natsPassword: password,
    appId,
    logger,
    signalBackend: 'off',
    initTimeoutMs: 3_000,
  });
  const errors: string[] = [];
  manager.on('error', (error) => errors.push(error.message));
  cleanups.push(() => manager.disconnect());
  return { manager, logger, errors };
}

interface ConnInfo {
  readonly authorized_user?: string;
  readonly in_msgs: number;
}

/** Messages the server received from connections of `user` (its requests, publishes and pulls). */
function messagesFrom(user: string): Promise<number> {
  const url = `${server.monitorUrl}/connz?auth=true&limit=1024`;
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const connz = JSON.parse(body) as { connections?: ConnInfo[] };
        const mine = (connz.connections ?? []).filter((c) => c.authorized_user === user);
        resolve(mine.reduce((sum, c) => sum + c.in_msgs, 0));
      });
    }).on('error', reject);
  });
}

/** Waits `ms` and returns how many messages and connections the user sent meanwhile. */
async function traffic(user: string, ms: number): Promise<{ messages: number; connections: number }> {
  const messagesBefore = await messagesFrom(user);
  const connectionsBefore = await totalConnections(server);
  await sleep(ms);
  return {
    messages: (await messagesFrom(user)) - messagesBefore,
    connections: (await totalConnections(server)) - connectionsBefore,
  };
}

const warnings = (logger: RecordingLogger): string[] => logger.matching('warn', /./);

test('the manager user of app 1 serves app 1', async () => {
  const { manager, logger, errors } = managerFor('app1_manager', 1);
  await manager.initialize();
  expect(manager.state).toBe('ready');
  expect(manager.getFlag('app1-flag')).toBeDefined();
  expect(warnings(logger)).toEqual([]);
  expect(errors).toEqual([]);
});

test('the manager user of app 1 is refused app 2: one clear warning, repeated by the not-ready one, no storm', async () => {
  const { manager, logger } = managerFor('app1_manager', 2);
  await manager.initialize();
  expect(manager.initialized).toBe(false);
  expect(manager.getFlag('app2-flag')).toBeUndefined();
  const refusal = 'the NATS server refuses NATS user "app1_manager" permission to subscribe to "_INBOX.tailslide.2.>"';
  expect(warnings(logger)).toEqual([
    expect.stringContaining(`waiting: ${refusal}`),
    expect.stringMatching(
      /^not ready after 3000 ms \(initTimeoutMs\): the NATS server refuses .*"_INBOX\.tailslide\.2\.>"/,
    ),
  ]);
  expect(manager.waitingFor).toContain(refusal);
  const { messages, connections } = await traffic('app1_manager', 8_000);
  expect(connections).toBe(0);
  expect(messages).toBeLessThanOrEqual(2);
  expect(warnings(logger)).toHaveLength(2);
}, 20_000);

test('with the wider _INBOX.> the consumer of app 2 is refused by its subject, named without its random name', async () => {
  const { manager, logger } = managerFor('app1_wide_inbox', 2, 'pw');
  const wide = managerFor('app1_wide_inbox', 1, 'pw');
  await Promise.all([manager.initialize(), wide.manager.initialize()]);
  expect(wide.manager.state).toBe('ready');
  expect(manager.initialized).toBe(false);
  expect(warnings(logger)).toEqual([
    expect.stringContaining(
      'waiting: the NATS server refuses NATS user "app1_wide_inbox" permission to publish to ' +
        '"$JS.API.CONSUMER.CREATE.flags_ruleset.*.apps.2.update.*", needed to create its consumer',
    ),
    expect.stringMatching(/^not ready after 3000 ms .*CONSUMER\.CREATE\.flags_ruleset\.\*\.apps\.2\.update\.\*/),
  ]);
});

test('a consumer of app 2 cannot be created by lying in the body: the server checks it against the subject', async () => {
  const nc: NatsConnection = await connect({ servers: server.url, user: 'app1_wide_inbox', pass: 'pw' });
  cleanups.push(() => nc.close());
  const request = {
    stream_name: STREAM,
    config: { name: 'sneaky', filter_subject: 'apps.2.update.*', ack_policy: 'none', deliver_policy: 'all' },
  };
  const reply = await nc.request(
    `$JS.API.CONSUMER.CREATE.${STREAM}.sneaky.apps.1.update.*`,
    new TextEncoder().encode(JSON.stringify(request)),
    { timeout: 5_000 },
  );
  const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description: string } };
  expect(answer.error?.description).toMatch(/subject/i);
});

test('without the pull permission: one warning naming $JS.API.CONSUMER.MSG.NEXT, no storm', async () => {
  const { manager, logger } = managerFor('app1_no_pull', 1, 'pw');
  await manager.initialize();
  expect(manager.initialized).toBe(false);
  const refusal =
    'the NATS server refuses NATS user "app1_no_pull" permission to publish to ' +
    '"$JS.API.CONSUMER.MSG.NEXT.flags_ruleset.*", needed to pull';
  expect(warnings(logger)).toEqual([
    expect.stringContaining(`waiting: ${refusal}`),
    expect.stringMatching(/^not ready after 3000 ms .*CONSUMER\.MSG\.NEXT\.flags_ruleset\.\*"/),
  ]);
  const { messages, connections } = await traffic('app1_no_pull', 8_000);
  expect(connections).toBe(0);
  expect(messages).toBeLessThanOrEqual(3);
  expect(warnings(logger)).toHaveLength(2);
}, 20_000);

test('the admin user edits any app and watches it; the breaker user flips a circuit', async () => {
  const admin = await adminFor('tailslide_admin');
  cleanups.push(() => admin.close());
  await admin.createFlag(3, { title: 'app3-flag' });
  const updates: string[] = [];
  const stop = admin.watch(3, (update) => updates.push(update.flags?.map((f) => f.title).join(',') ?? '?'));
  cleanups.push(() => Promise.resolve(stop()));
  await waitFor(() => updates.length >= 1, 'the watch of app 3');
  await admin.setActive(3, 'app3-flag', true);
  await waitFor(() => updates.length >= 2, 'the watch sees the edit');

  const breaker = await adminFor('tailslide_breaker');
  cleanups.push(() => breaker.close());
  const outcome = await breaker.setCircuit(1, 'app1-flag', { circuit_status: 'open' });
  expect(outcome.flag?.circuit_status).toBe('open');
  const { manager } = managerFor('app1_manager', 1);
  await manager.initialize();
  expect(manager.getFlag('app1-flag')?.circuitStatus).toBe('open');
}, 30_000);
